"""A content-addressed rollout cache shared by every run under one outputs root.

A rollout's key covers everything that shapes it: the case's full content, the harness version, the
agent/judge/user model configs, the per-case limits, the judge and user prompt templates and the epoch.
Any run, sweep job or optimizer iteration that needs the same rollout reuses it instead of paying again.
Rollouts that ended in an error are never cached, so transient failures are retried.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from betterharness.config.identity import canonical_json, digest_tree
from betterharness.config.schema import ExperimentConfig
from betterharness.evals.case import EvalCase
from betterharness.paths import prompts_dir
from betterharness.scoring.score import Score
from betterharness.trace import Trace

CACHE_VERSION = 1
ROLLOUT_PROMPTS = ("judge.md.j2", "user.md.j2")
"""The prompt templates that shape a rollout (the proposer's does not)."""


class RolloutCache:
    """Trace + score per rollout key under ``<outputs>/_cache/rollouts/``."""

    def __init__(self, outputs: Path, config: ExperimentConfig) -> None:
        self.folder = outputs / "_cache" / "rollouts"
        self.context = canonical_json({
            "v": CACHE_VERSION,
            "models": {role: config.role(role).model_dump(mode="json") for role in ("agent", "judge", "user")},
            "limits": config.limits.model_dump(mode="json"),
            "prompts": [digest_tree(prompts_dir(), name) for name in ROLLOUT_PROMPTS],
        })
        self.hits = 0
        self._made: set[Path] = set()

    def key(self, case: EvalCase, harness_hash: str, epoch: int) -> str:
        """The rollout's content address."""
        payload = f"{self.context}|{harness_hash}|{epoch}|{canonical_json(case.model_dump(mode='json'))}"
        return hashlib.sha256(payload.encode()).hexdigest()[:32]

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> tuple[Trace, Score] | None:
        """The cached rollout, or None (a corrupt entry counts as a miss)."""
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
            found = Trace.model_validate(data["trace"]), Score.model_validate(data["score"])
        except (OSError, ValueError, KeyError):
            return None
        self.hits += 1
        return found

    def put(self, key: str, trace: Trace, score: Score) -> None:
        """Store a finished rollout, unless it ended in an error (compact JSON, written atomically)."""
        if score.error is not None or trace.error is not None:
            return
        path = self._path(key)
        if path.parent not in self._made:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._made.add(path.parent)
        temp = path.with_suffix(f".{os.getpid()}.tmp")
        temp.write_text(f'{{"trace":{trace.model_dump_json()},"score":{score.model_dump_json()}}}', encoding="utf-8")
        os.replace(temp, path)
