"""What an optimize run ends with, as plain values: metrics per phase and split, versions, diffs, spend."""

from __future__ import annotations

from dataclasses import dataclass, field

from betterharness.evals.split import SPLITS, Split
from betterharness.harness.diff import diff
from betterharness.optimize.export import Exported
from betterharness.optimize.state import OptimizeState
from betterharness.scoring.aggregate import Metrics, aggregate
from betterharness.store.folder import RunFolder


@dataclass
class OptimizeOutcome:
    """Everything the optimize report shows, computed from the run folder."""

    hash: str
    model: str
    proposer: str
    epochs: int
    split: Split
    state: OptimizeState
    metrics: dict[str, dict[str, Metrics]]
    """Phase (baseline, final) -> split -> metrics."""
    diffs: dict[int, str] = field(default_factory=dict)
    """Iteration index -> the diff of its candidate against its incumbent."""
    exported: Exported | None = None
    rollouts: int = 0
    cost_usd: float = 0.0
    error_control: str = "holm"
    """How the gate's alpha was shared among candidates (optimizer.gate.error_control)."""


def phase_metrics(folder: RunFolder, split: Split, state: OptimizeState, model: str) -> dict[str, dict[str, Metrics]]:
    """Metrics of the baseline and the final harness on every split, from the written scores."""
    out: dict[str, dict[str, Metrics]] = {}
    for phase, version in (("baseline", state.baseline), ("final", state.incumbent)):
        out[phase] = {}
        for name in SPLITS:
            scores = folder.rollouts.scores(harness=version, model=model, case_ids=split.ids(name))
            if scores:
                out[phase][name] = aggregate(scores)
    return out


def outcome(folder: RunFolder, hash: str, split: Split, state: OptimizeState, model: str, proposer: str,
            epochs: int, exported: Exported | None, error_control: str = "holm") -> OptimizeOutcome:
    """The outcome of a finished optimize run."""
    diffs = {it.index: diff(folder.versions.load(it.incumbent), folder.versions.load(it.candidate))
             for it in state.iterations if it.candidate}
    return OptimizeOutcome(hash=hash, model=model, proposer=proposer, epochs=epochs, split=split, state=state,
                           metrics=phase_metrics(folder, split, state, model), diffs=diffs, exported=exported,
                           rollouts=len(folder.rollouts),
                           cost_usd=folder.rollouts.cost_usd() + state.proposer_cost_usd,
                           error_control=error_control)


def metrics_document(result: OptimizeOutcome) -> dict[str, object]:
    """``metrics.json`` of an optimize run: the final harness's holdout (else optimization) summary, and
    every phase × split."""
    final = result.metrics.get("final", {})
    headline = final.get("holdout") or final.get("optimization")
    return {"overall": headline.overall.model_dump() if headline else {},
            "phases": {p: {s: m.model_dump() for s, m in split.items()} for p, split in result.metrics.items()}}
