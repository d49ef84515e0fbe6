"""Review of a gated proposal: a recorded policy (``review=auto``) or a person (``review=interactive``)."""

from __future__ import annotations

import datetime as dt
import getpass
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable

from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table

from betterharness.config.schema import ReviewConfig
from betterharness.optimize.gate import TRANSITIONS, GateResult
from betterharness.optimize.state import Decision, Iteration
from betterharness.store import RunStore


def now() -> str:
    """UTC timestamp for decisions."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def auto_decide(gate: GateResult, config: ReviewConfig) -> Decision:
    """The recorded policy's decision on a proposal that passed the gate."""
    if config.policy == "reject_all":
        return Decision(verdict="reject", reason="policy reject_all: record-only run", by="policy:reject_all",
                        at=now())
    return Decision(verdict="approve", reason="policy accept_gated: " + "; ".join(gate.reasons),
                    by="policy:accept_gated", at=now())


def evidence(store: RunStore, by_tag: dict[str, dict[str, list[str]]], iteration: Iteration,
             limit: int = 2) -> tuple[dict[str, tuple[float, float]], list[str]]:
    """Per-tag correctness before/after on the optimization set, and excerpts of fixed/broken cases."""
    delta: dict[str, tuple[float, float]] = {}
    for tag, parts in sorted(by_tag.items()):
        ids = set(parts["optimization"])
        values = []
        for version in (iteration.incumbent, iteration.candidate):
            scores = [s for (h, _, cid, _), s in store.scores.items() if h == version and cid in ids]
            values.append(sum(s.correctness for s in scores) / len(scores) if scores else 0.0)
        delta[tag] = (values[0], values[1])
    samples = []
    moves = iteration.gate.transitions if iteration.gate else None
    for case_id in ((moves.fixed + moves.broken) if moves else [])[:limit]:
        key = next((k for k in store.scores if k[0] == iteration.candidate and k[2] == case_id), None)
        trace = store.trace(key) if key else None
        if trace is not None:
            calls = ", ".join(c.name for c in trace.tool_calls) or "no tool calls"
            samples.append(f"{case_id}: {calls}; final: {trace.final_text[:160]!r}")
    return delta, samples


def show(iteration: Iteration, diff_text: str, per_tag: dict[str, tuple[float, float]], samples: list[str],
         console: Console | None = None) -> None:
    """Print what a reviewer needs: the diff, per-tag before/after, transitions and sample traces."""
    console = console or Console(stderr=True)
    gate = iteration.gate
    assert gate is not None and iteration.proposal is not None
    console.rule(f"Proposal of iteration {iteration.index}")
    console.print(f"[bold]Rationale:[/bold] {iteration.proposal.rationale}")
    console.print(f"[bold]Targets:[/bold] {', '.join(iteration.proposal.targets) or '—'}")
    console.print(Syntax(diff_text or "(no textual change)", "diff", word_wrap=True))
    table = Table(title="Correctness on the optimization set, per tag")
    for column in ("tag", "before", "after", "delta"):
        table.add_column(column)
    for tag, (before, after) in sorted(per_tag.items()):
        table.add_row(tag, f"{before:.2f}", f"{after:.2f}", f"{after - before:+.2f}")
    console.print(table)
    moves = gate.transitions
    console.print("Transitions: " + ", ".join(f"{name} {len(getattr(moves, name))}" for name in TRANSITIONS))
    for name in ("fixed", "broken"):
        if getattr(moves, name):
            console.print(f"  {name}: {', '.join(getattr(moves, name))}")
    if gate.holdout_before is not None:
        console.print(f"Holdout (gate only): {gate.holdout_before:.2f} -> {gate.holdout_after:.2f}")
    console.print("Gate: " + "; ".join(gate.reasons))
    for sample in samples:
        console.print(f"[dim]{sample}[/dim]")


def _edit_text(text: str) -> str:
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        print("No $EDITOR set: type the new text, end with a line holding only '.'", file=sys.stderr)
        lines = []
        for line in sys.stdin:
            if line.rstrip("\n") == ".":
                break
            lines.append(line)
        return "".join(lines)
    with tempfile.NamedTemporaryFile("w+", suffix=".md.j2", delete=False, encoding="utf-8") as f:
        f.write(text)
    subprocess.run([*editor.split(), f.name], check=False)
    with open(f.name, encoding="utf-8") as handle:
        edited = handle.read()
    os.unlink(f.name)
    return edited


def ask_human(iteration: Iteration, sources: dict[str, str], read: Callable[[str], str] = input) -> Decision:
    """Ask approve / reject / edit with a reason; ``edit`` lets the reviewer rewrite the changed surface(s)."""
    while True:
        answer = read("approve / reject / edit? [a/r/e] ").strip().lower()[:1]
        if answer in ("a", "r", "e"):
            break
    reason = read("reason: ").strip() or "(no reason given)"
    edited = None
    if answer == "e":
        edited = {surface: _edit_text(text) for surface, text in sources.items()}
    verdict = {"a": "approve", "r": "reject", "e": "edit"}[answer]
    return Decision(verdict=verdict, reason=reason, by=f"human:{getpass.getuser()}", at=now(),  # type: ignore[arg-type]
                    edited_sources=edited)
