"""A content-addressed rollout cache shared by every run under one outputs root.

A rollout's key covers everything that shapes it: the case's full content, the harness version, the
agent/judge/user model configs, the per-case limits, the judge and user prompt templates and the epoch.
Any run, sweep job or optimizer iteration that needs the same rollout reuses it instead of paying again.
Rollouts that ended in an error are never cached, so transient failures are retried.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from betterharness.agent.trace import Trace
from betterharness.config.schema import ExperimentConfig
from betterharness.digest import canonical_json, digest_files, sha256_hex
from betterharness.evals.case import EvalCase
from betterharness.formats import FORMAT_KEY, FORMAT_VERSION
from betterharness.paths import JUDGE_PROMPT, USER_PROMPT, prompts_dir
from betterharness.scoring.score import Score

CACHE_VERSION = 2
ROLLOUT_PROMPTS = (JUDGE_PROMPT, USER_PROMPT)
"""The prompt templates that shape a rollout (the proposer's does not)."""


class RolloutCache:
    """Trace + score per rollout key under ``<outputs>/_cache/rollouts/``."""

    def __init__(self, outputs: Path, config: ExperimentConfig) -> None:
        self.folder = outputs / "_cache" / "rollouts"
        self.context = canonical_json({
            "v": CACHE_VERSION,
            "models": {role: config.role(role).model_dump(mode="json") for role in ("agent", "judge", "user")},
            "limits": config.limits.model_dump(mode="json"),
            "prompts": digest_files(prompts_dir(), ROLLOUT_PROMPTS),
        })
        self._made: set[Path] = set()

    def key(self, case: EvalCase, harness_hash: str, epoch: int) -> str:
        """The rollout's content address."""
        payload = f"{self.context}|{harness_hash}|{epoch}|{canonical_json(case.model_dump(mode='json'))}"
        return sha256_hex(payload)[:32]

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> tuple[Trace, Score] | None:
        """The cached rollout, or None (a corrupt entry counts as a miss)."""
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
            if data.get(FORMAT_KEY) != FORMAT_VERSION:
                return None  # another release's entry: a miss, rewritten when this rollout runs
            found = Trace.model_validate(data["trace"]), Score.model_validate(data["score"])
        except (OSError, ValueError, KeyError):
            return None
        return found

    def put(self, key: str, trace: Trace, score: Score) -> None:
        """Store a finished rollout, unless it ended in an error (compact JSON, written atomically)."""
        if score.error is not None or trace.error is not None:
            return
        path = self._path(key)
        if path.parent not in self._made:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._made.add(path.parent)
        temp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        temp.write_text(f'{{"{FORMAT_KEY}":{FORMAT_VERSION},"trace":{trace.model_dump_json()},'
                        f'"score":{score.model_dump_json()}}}', encoding="utf-8")
        os.replace(temp, path)
