"""Spring cleaning of the suite from recorded scores: saturated, flaky and never-passing cases.

Every ``outputs/*/scores.jsonl`` is read, with its ``experiment.json`` naming the harness. Rollouts
are grouped per case and per (model, harness):

- **saturated**: every rollout passed, under every model and harness, with at least N rollouts in all;
- **flaky**: under some (model, harness) the case both passed and failed (pass@k = 1, pass^k = 0);
- **never passed**: no rollout passed, with at least N rollouts in all.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from betterharness.errors import BHError
from betterharness.report.tables import table
from betterharness.scoring.score import Score
from betterharness.store.folder import RunFolder
from betterharness.store.format import StoreError, read_jsonl
from betterharness.store.rollouts import SCORES, RolloutKey

ACTIONS = {"saturated": "retire or move to regression tier", "flaky": "investigate nondeterminism",
           "never_passed": "check the case's assertions / quarantine"}
"""The suggested action per class."""


@dataclass
class CaseHistory:
    """Every recorded rollout outcome of one case, per (model, harness)."""

    case_id: str
    tier: str = ""
    tags: list[str] = field(default_factory=list)
    outcomes: dict[tuple[str, str], list[bool]] = field(default_factory=lambda: defaultdict(list))
    failed_assertions: Counter[str] = field(default_factory=Counter)

    @property
    def rollouts(self) -> int:
        """How many rollouts were recorded."""
        return sum(len(v) for v in self.outcomes.values())

    @property
    def passes(self) -> int:
        """How many rollouts passed."""
        return sum(sum(v) for v in self.outcomes.values())

    def per_model(self) -> dict[str, tuple[int, int]]:
        """Model -> (passes, rollouts), over all harnesses."""
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for (model, _), results in self.outcomes.items():
            counts[model][0] += sum(results)
            counts[model][1] += len(results)
        return {model: (p, n) for model, (p, n) in sorted(counts.items())}

    def flaky_under(self) -> list[tuple[str, str]]:
        """The (model, harness) pairs under which the case both passed and failed."""
        return sorted(key for key, results in self.outcomes.items() if any(results) and not all(results))


def _harness_name(run: RunFolder) -> str | None:
    try:
        record = run.read_record() or {}
        return str(record["config"]["harness"]["name"])
    except (StoreError, KeyError, TypeError):
        return None


def collect(outputs: Path) -> tuple[dict[str, CaseHistory], list[Path]]:
    """Case histories from the scores of every run folder under ``outputs``, and the score files read."""
    if not outputs.is_dir():
        raise BHError(f"no outputs folder at {outputs}", file=outputs,
                      fix="run an eval first (python -m betterharness ...) or pass --outputs DIR")
    runs = [RunFolder(path.parent) for path in sorted(outputs.glob(f"*/{SCORES}"))]
    if not runs:
        raise BHError(f"no */{SCORES} under {outputs}", file=outputs,
                      fix="run an eval first, or point --outputs at the folder holding the run folders")
    histories: dict[str, CaseHistory] = {}
    for run in runs:
        path = run.rollouts.scores_path
        name = _harness_name(run)
        unique = {RolloutKey.of(s): s for s in read_jsonl(path, Score, strict=True,
                                                            fix="delete or repair that line; each line is one Score")}
        for score in unique.values():
            history = histories.setdefault(score.case_id, CaseHistory(score.case_id))
            history.tier, history.tags = score.tier, list(score.tags)
            label = f"{name}@{score.harness_hash[:8]}" if name else score.harness_hash[:8]
            history.outcomes[(score.model, label)].append(score.passed)
            history.failed_assertions.update(v.assertion for v in score.verdicts if not v.passed)
    return histories, [run.rollouts.scores_path for run in runs]


def classify(histories: dict[str, CaseHistory], min_epochs: int) -> dict[str, list[CaseHistory]]:
    """The cases of each class (saturated, flaky, never_passed), sorted by id; other cases are left out."""
    classes: dict[str, list[CaseHistory]] = {"saturated": [], "flaky": [], "never_passed": []}
    for case_id in sorted(histories):
        history = histories[case_id]
        if history.flaky_under():
            classes["flaky"].append(history)
        elif history.rollouts >= min_epochs and history.passes == history.rollouts:
            classes["saturated"].append(history)
        elif history.rollouts >= min_epochs and history.passes == 0:
            classes["never_passed"].append(history)
    return classes


def _rates(history: CaseHistory) -> str:
    return ", ".join(f"`{m}` {p}/{n} ({p / n:.0%})" for m, (p, n) in history.per_model().items())


def render(classes: dict[str, list[CaseHistory]], sources: list[Path], min_epochs: int) -> str:
    """The maintenance report as markdown: a table per class with the suggested action."""
    cases = {h.case_id for found in classes.values() for h in found}
    lines = ["# Case maintenance report", "",
             f"From {len(sources)} score file(s): {', '.join(f'`{p}`' for p in sources)}. "
             f"Saturated and never-passed cases need at least {min_epochs} rollout(s).", "",
             f"{len(classes['saturated'])} saturated, {len(classes['flaky'])} flaky, "
             f"{len(classes['never_passed'])} never passed ({len(cases)} cases to look at).", ""]
    sections = [
        ("saturated", "Saturated", "Passed every rollout under every model and harness recorded.",
         ["case", "tier", "tags", "rollouts", "models", "action"],
         lambda h: [f"`{h.case_id}`", h.tier, ", ".join(h.tags), h.rollouts, len(h.per_model()),
                    "retire" if h.tier == "regression" else ACTIONS["saturated"]]),
        ("flaky", "Flaky", "Both passed and failed under one model and harness (pass@k well above pass^k).",
         ["case", "tier", "pass rate per model", "flaky under", "action"],
         lambda h: [f"`{h.case_id}`", h.tier, _rates(h),
                    "; ".join(f"`{m}` × {x}" for m, x in h.flaky_under()), ACTIONS["flaky"]]),
        ("never_passed", "Never passed", "No model ever passed: a hard target, or a broken case.",
         ["case", "tier", "rollouts", "models", "most failed assertion", "action"],
         lambda h: [f"`{h.case_id}`", h.tier, h.rollouts, len(h.per_model()),
                    ", ".join(a for a, _ in h.failed_assertions.most_common(2)) or "—",
                    ACTIONS["never_passed"]]),
    ]
    for key, title, blurb, header, row in sections:
        lines += [f"## {title} ({len(classes[key])})", "", blurb, ""]
        lines += [table(header, [row(h) for h in classes[key]]), ""] if classes[key] else ["None.", ""]
    return "\n".join(lines)
