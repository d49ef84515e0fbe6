"""Run results on disk: traces and scores appended a line at a time, so an interrupted run keeps them."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, TextIO, TypeVar

from pydantic import BaseModel

from betterharness.scoring.score import Score
from betterharness.trace import Trace

M = TypeVar("M", bound=BaseModel)


def write_json(path: Path, value: Any) -> None:
    """Write JSON atomically (temp file + rename): readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = value.model_dump_json(indent=2) if isinstance(value, BaseModel) else json.dumps(value, indent=2,
                                                                                          default=str)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp", encoding="utf-8") as f:
        f.write(text + "\n")
    os.replace(f.name, path)


def write_text(path: Path, text: str) -> None:
    """Write text atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp", encoding="utf-8") as f:
        f.write(text)
    os.replace(f.name, path)


def read_jsonl(path: Path, model: type[M]) -> list[M]:
    """Read JSON lines into models; a torn last line (from a crash) is skipped."""
    if not path.exists():
        return []
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            try:
                items.append(model.model_validate_json(line))
            except ValueError:
                continue
    return items


RolloutKey = tuple[str, str, str, int]
"""(harness hash, model id, case id, epoch): what identifies a rollout, and what the cache is keyed on."""


def key_of(item: Score | Trace) -> RolloutKey:
    """The rollout key of a score or trace."""
    return (item.harness_hash, item.model, item.case_id, item.epoch)


class RunStore:
    """The JSON-lines files of one output folder, with the rollouts already finished there."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.traces_path = folder / "traces.jsonl"
        self.scores_path = folder / "scores.jsonl"
        self.scores: dict[RolloutKey, Score] = {key_of(s): s for s in read_jsonl(self.scores_path, Score)}
        self._files: tuple[TextIO, TextIO] | None = None

    def done(self, key: RolloutKey) -> Score | None:
        """The stored score of a finished rollout, if any."""
        return self.scores.get(key)

    def add(self, trace: Trace, score: Score) -> None:
        """Append one finished rollout (trace first, so a score never lacks its trace), flushed at once."""
        if self._files is None:
            self._files = (self.traces_path.open("a", encoding="utf-8"), self.scores_path.open("a", encoding="utf-8"))
        traces, scores = self._files
        traces.write(trace.model_dump_json() + "\n")
        traces.flush()
        scores.write(score.model_dump_json() + "\n")
        scores.flush()
        self.scores[key_of(score)] = score

    def close(self) -> None:
        """Close the append handles (they are reopened on the next add)."""
        if self._files is not None:
            for handle in self._files:
                handle.close()
            self._files = None

    def trace(self, key: RolloutKey) -> Trace | None:
        """Read back one rollout's trace (the last one written for that key)."""
        found = None
        if self.traces_path.exists():
            with self.traces_path.open(encoding="utf-8") as f:
                for line in f:
                    if key[2] in line:
                        try:
                            trace = Trace.model_validate_json(line)
                        except ValueError:
                            continue
                        if key_of(trace) == key:
                            found = trace
        return found
