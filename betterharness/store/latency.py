"""The ideal latency of a case when it declares none: the fastest correct rollout recorded for it.

The book lives in ``<outputs>/_latency.json``, per model and case. A rollout is rated when it is
scored, before its score is written: a correct rollout first improves the book, then its latency
ratio is its wall time over the best time known at that moment. So the ideal sharpens as runs
accumulate, and a written score never changes afterwards.
"""

from __future__ import annotations

from pathlib import Path

from betterharness.scoring.score import Score
from betterharness.store.format import StoreError, load_json, save_json

LATENCY_FILE = "_latency.json"


class LatencyBook:
    """Fastest correct wall time per (model, case) under one outputs root."""

    def __init__(self, outputs: Path) -> None:
        self.path = outputs / LATENCY_FILE
        self.best: dict[str, dict[str, float]] = self._read()
        self._changed = False

    def _read(self) -> dict[str, dict[str, float]]:
        try:
            data = load_json(self.path) or {}
        except StoreError:
            return {}  # a damaged book only loses the fallback ideal; it is rebuilt as runs go
        book = data.get("best", data)
        return {str(m): {str(c): float(t) for c, t in cases.items()} for m, cases in book.items()
                if isinstance(cases, dict)}

    def fastest(self, model: str, case_id: str) -> float | None:
        """The fastest correct wall time known for ``case_id`` on ``model``."""
        return self.best.get(model, {}).get(case_id)

    def rate(self, score: Score) -> Score:
        """Record a correct rollout's time, then fill its latency ratio when the case declares no ideal."""
        if score.ideal_latency_s is not None or score.wall_s <= 0:
            return score
        known = self.fastest(score.model, score.case_id)
        if score.passed and (known is None or score.wall_s < known):
            self.best.setdefault(score.model, {})[score.case_id] = known = score.wall_s
            self._changed = True
        if known is None:
            return score
        return score.model_copy(update={"ideal_latency_s": known, "latency_ratio": score.wall_s / known})

    def save(self) -> None:
        """Write the book, merged with what other runs wrote meanwhile (the fastest time wins)."""
        if not self._changed:
            return
        merged = self._read()
        for model, cases in self.best.items():
            for case_id, wall in cases.items():
                book = merged.setdefault(model, {})
                book[case_id] = min(wall, book.get(case_id, wall))
        save_json(self.path, {"best": merged})
        self.best, self._changed = merged, False
