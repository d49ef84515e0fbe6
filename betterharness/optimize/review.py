"""Review of a gated proposal: a recorded policy (``review=auto``) or a person (``review=interactive``).

Decisions are plain values; ``apply_decision`` is the one way a decision changes a run's state, used
by the loop and by ``python -m betterharness review`` alike.
"""

from __future__ import annotations

import getpass
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

from betterharness.config.schema import ReviewConfig
from betterharness.harness.diff import changed_surfaces, diff
from betterharness.harness.templates import Harness
from betterharness.optimize.gate import GateResult
from betterharness.optimize.state import STATE_FILE, Decision, Iteration, OptimizeState
from betterharness.scoring.aggregate import aggregate, mean_correctness
from betterharness.store.folder import RunFolder, now
from betterharness.store.rollouts import RolloutKey


def auto_decide(gate: GateResult, config: ReviewConfig) -> Decision:
    """The recorded policy's decision on a proposal that passed the gate."""
    if config.policy == "reject_all":
        return Decision(verdict="reject", reason="policy reject_all: record-only run", by="policy:reject_all",
                        at=now())
    return Decision(verdict="approve", reason="policy accept_gated: " + "; ".join(gate.reasons),
                    by="policy:accept_gated", at=now())


@dataclass
class Evidence:
    """What a reviewer sees about a gated proposal."""

    iteration: Iteration
    diff: str
    per_tag: dict[str, tuple[float, float]]
    """Tag -> (incumbent, candidate) correctness on the optimization set."""
    intervals: dict[str, tuple[tuple[float, float], tuple[float, float]]]
    """Tag -> (incumbent, candidate) 95% Wilson intervals of that correctness (over cases)."""
    samples: list[str]
    """Short excerpts of fixed and broken cases under the candidate."""
    sources: dict[str, str]
    """The candidate's source of every surface it changed (what ``edit`` lets a person rewrite)."""


def evidence(folder: RunFolder, by_tag: dict[str, dict[str, list[str]]], iteration: Iteration,
             limit: int = 2) -> Evidence:
    """Per-tag correctness before/after on the optimization set, the diff, and excerpts of fixed/broken cases."""
    delta: dict[str, tuple[float, float]] = {}
    intervals: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {}
    for tag, parts in sorted(by_tag.items()):
        values, cis = [], []
        for version in (iteration.incumbent, iteration.candidate):
            scores = folder.rollouts.scores(harness=version, case_ids=parts["optimization"])
            values.append(mean_correctness(scores))
            cis.append(aggregate(scores).overall.correctness_ci)
        delta[tag] = (values[0], values[1])
        intervals[tag] = (cis[0], cis[1])
    samples = []
    moves = iteration.gate.transitions if iteration.gate else None
    for case_id in ((moves.fixed + moves.broken) if moves else [])[:limit]:
        found = folder.rollouts.scores(harness=iteration.candidate, case_ids=[case_id])
        trace = folder.rollouts.trace(RolloutKey.of(found[0])) if found else None
        if trace is not None:
            calls = ", ".join(c.name for c in trace.tool_calls) or "no tool calls"
            samples.append(f"{case_id}: {calls}; final: {trace.final_text[:160]!r}")
    incumbent = folder.versions.load(iteration.incumbent)
    candidate = folder.versions.load(iteration.candidate or "")
    sources = {s: candidate.sources[s] for s in changed_surfaces(incumbent, candidate) if s in candidate.sources}
    return Evidence(iteration, diff(incumbent, candidate), delta, intervals, samples, sources)


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


def ask_human(iteration: Iteration, sources: dict[str, str], read: Callable[[str], str] | None = None) -> Decision:
    """Ask approve / reject / edit with a reason; ``edit`` lets the reviewer rewrite the changed surface(s)."""
    read = read or input
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


def edited_candidate(candidate: Harness, iteration: Iteration, decision: Decision) -> Harness | None:
    """The version a reviewer's ``edit`` makes of the candidate (checked to render), or None for no edit."""
    if decision.verdict != "edit" or not decision.edited_sources:
        return None
    for surface, source in decision.edited_sources.items():
        candidate = candidate.with_source(surface, source)
    edited = candidate.model_copy(update={"parent": iteration.incumbent})
    edited.check()
    return edited


def apply_decision(state: OptimizeState, iteration: Iteration, decision: Decision, edited: str | None = None) -> None:
    """Apply a review decision to the state: an approved candidate (or the ``edited`` version of it)
    becomes the incumbent, a rejected one does not; either way the run goes on."""
    iteration.decision = decision
    if decision.verdict == "reject":
        iteration.outcome = "rejected"
    else:
        iteration.candidate = edited or iteration.candidate
        iteration.outcome = "accepted"
        state.incumbent = iteration.candidate or state.incumbent
    state.status = "running"


def record_decision(state: OptimizeState, folder: RunFolder, iteration: Iteration, decision: Decision) -> None:
    """Apply a decision and store what it made: the edited version, the iteration and the state.

    The loop and ``python -m betterharness review`` both decide through this function.
    """
    edited = None
    if decision.verdict == "edit":
        version = edited_candidate(folder.versions.load(iteration.candidate or ""), iteration, decision)
        if version is not None:
            folder.versions.save(version)
            edited = version.hash
    apply_decision(state, iteration, decision, edited)
    folder.save_step(iteration.index, "iteration.json", iteration)
    folder.save(STATE_FILE, state)
