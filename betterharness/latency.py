"""The ideal latency of a case when it declares none: the fastest correct rollout recorded for it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from betterharness.scoring.score import Score
from betterharness.store import write_json


class LatencyBook:
    """Fastest correct wall time per (model, case), kept across runs in ``<outputs>/_latency.json``.

    It sharpens as runs accumulate: every run updates it, then every score's latency ratio is
    computed against the best time known at the end of the run.
    """

    def __init__(self, outputs: Path) -> None:
        self.path = outputs / "_latency.json"
        try:
            self.best: dict[str, dict[str, float]] = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.best = {}

    def update(self, scores: Sequence[Score]) -> list[Score]:
        """Record the correct rollouts' times; returns ``scores`` unchanged for chaining."""
        changed = False
        for score in scores:
            if score.passed and score.wall_s > 0:
                book = self.best.setdefault(score.model, {})
                if score.wall_s < book.get(score.case_id, float("inf")):
                    book[score.case_id] = score.wall_s
                    changed = True
        if changed:
            write_json(self.path, self.best)
        return list(scores)

    def apply(self, scores: Sequence[Score]) -> list[Score]:
        """Scores with ``latency_ratio`` filled from the book where the case declared no ideal latency."""
        out = []
        for score in scores:
            if score.ideal_latency_s is None:
                best = self.best.get(score.model, {}).get(score.case_id)
                if best is not None and score.wall_s > 0:
                    score = score.model_copy(update={"ideal_latency_s": best, "latency_ratio": score.wall_s / best})
            out.append(score)
        return out
