"""What a reviewer sees of a gated proposal, on the terminal: diff, per-tag before/after, transitions."""

from __future__ import annotations

from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table

from betterharness.optimize.gate import TRANSITIONS
from betterharness.optimize.review import Evidence


def show(evidence: Evidence, console: Console | None = None) -> None:
    """Print the diff, per-tag before/after, the transitions and sample traces of a gated proposal."""
    console = console or Console(stderr=True)
    iteration = evidence.iteration
    gate = iteration.gate
    assert gate is not None and iteration.proposal is not None
    console.rule(f"Proposal of iteration {iteration.index}")
    console.print(f"[bold]Rationale:[/bold] {iteration.proposal.rationale}")
    console.print(f"[bold]Targets:[/bold] {', '.join(iteration.proposal.targets) or '—'}")
    console.print(Syntax(evidence.diff or "(no textual change)", "diff", word_wrap=True))
    table = Table(title="Correctness on the optimization set, per tag (95% interval over cases)")
    for column in ("tag", "before", "after", "delta"):
        table.add_column(column)
    for tag, (before, after) in sorted(evidence.per_tag.items()):
        (b_low, b_high), (a_low, a_high) = evidence.intervals.get(tag, ((0.0, 1.0), (0.0, 1.0)))
        table.add_row(tag, f"{before:.2f} [{b_low:.2f}, {b_high:.2f}]", f"{after:.2f} [{a_low:.2f}, {a_high:.2f}]",
                      f"{after - before:+.2f}")
    console.print(table)
    if iteration.tokens_added is not None:
        console.print(f"Prompt cost: the change adds about {iteration.tokens_added:+d} tokens to every prompt that "
                      "holds the surfaces it changed (every rollout pays them)")
    moves = gate.transitions
    console.print("Transitions: " + ", ".join(f"{name} {len(getattr(moves, name))}" for name in TRANSITIONS))
    for name in ("fixed", "broken"):
        if getattr(moves, name):
            console.print(f"  {name}: {', '.join(getattr(moves, name))}")
    if gate.holdout_before is not None:
        console.print(f"Holdout (gate only): {gate.holdout_before:.2f} -> {gate.holdout_after:.2f}")
    console.print("Gate: " + "; ".join(gate.reasons))
    for sample in evidence.samples:
        console.print(f"[dim]{sample}[/dim]")
