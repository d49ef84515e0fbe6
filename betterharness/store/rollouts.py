"""The rollouts of one run folder: ``traces.jsonl`` and ``scores.jsonl``, appended a line at a time.

Scores are read once when the store opens and indexed by rollout key. Traces are large, so only their
byte offsets are indexed (on the first lookup, by one pass over the file); reading a trace back is one
seek. A score is final when written: every ratio it carries is computed before it reaches the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO, NamedTuple

from pydantic import ValidationError

from betterharness.agent.trace import Trace
from betterharness.scoring.score import Score
from betterharness.store.format import read_jsonl

TRACES = "traces.jsonl"
SCORES = "scores.jsonl"
ORPHANS = "traces.orphans.jsonl"
"""Where a trace goes whose score a kill never let be written."""
_TAIL = 1 << 20


def _last_line(path: Path) -> tuple[int, bytes] | None:
    """(offset, bytes) of the last line of ``path`` (within its last MiB), or None for an empty file."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    if size == 0:
        return None
    with path.open("rb") as f:
        start = max(0, size - _TAIL)
        f.seek(start)
        data = f.read()
    cut = data.rstrip(b"\n").rfind(b"\n")
    offset = start + cut + 1 if cut >= 0 else start
    return offset, data[offset - start:]


def _set_aside(path: Path, offset: int, aside: Path) -> None:
    """Move the bytes of ``path`` from ``offset`` on to the end of ``aside``, then cut ``path`` there."""
    with path.open("r+b") as f:
        f.seek(offset)
        moved = f.read()
        with aside.open("ab") as out:
            out.write(moved if moved.endswith(b"\n") else moved + b"\n")
        f.truncate(offset)


class RolloutKey(NamedTuple):
    """What identifies a rollout: harness version, model, case and epoch."""

    harness: str
    model: str
    case_id: str
    epoch: int

    @classmethod
    def of(cls, item: Score | Trace) -> RolloutKey:
        """The key of a score or a trace."""
        return cls(item.harness_hash, item.model, item.case_id, item.epoch)


class RolloutStore:
    """The finished rollouts of one folder, with typed queries over them."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.traces_path = folder / TRACES
        self.scores_path = folder / SCORES
        self._scores: dict[RolloutKey, Score] = {RolloutKey.of(s): s for s in read_jsonl(self.scores_path, Score)}
        self._offsets: dict[RolloutKey, int] | None = None
        self._files: tuple[BinaryIO, BinaryIO] | None = None

    def __len__(self) -> int:
        return len(self._scores)

    def score(self, key: RolloutKey) -> Score | None:
        """The stored score of a finished rollout, if any."""
        return self._scores.get(key)

    def scores(self, *, harness: str | None = None, model: str | None = None,
               case_ids: Iterable[str] | None = None) -> list[Score]:
        """The stored scores, filtered by harness version, model and case ids (each optional)."""
        wanted = set(case_ids) if case_ids is not None else None
        return [s for key, s in self._scores.items()
                if (harness is None or key.harness == harness) and (model is None or key.model == model)
                and (wanted is None or key.case_id in wanted)]

    def cost_usd(self) -> float:
        """What every stored rollout cost (agent, judge and simulated user; unknown costs count as 0)."""
        return sum(s.total_cost_usd for s in self._scores.values())

    def add(self, trace: Trace, score: Score) -> None:
        """Append one finished rollout (trace first, so a score never lacks its trace), flushed at once."""
        if self._files is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._repair()
            self._files = (self.traces_path.open("ab"), self.scores_path.open("ab"))
        traces, scores = self._files
        offset = traces.tell()
        traces.write(trace.model_dump_json().encode() + b"\n")
        traces.flush()
        scores.write(score.model_dump_json().encode() + b"\n")
        scores.flush()
        key = RolloutKey.of(score)
        self._scores[key] = score
        if self._offsets is not None:
            self._offsets[key] = offset

    def _repair(self) -> None:
        """Before the first append: set aside what a kill left at the tails, so nothing is glued or doubled.

        A last line without its newline is torn: it moves to ``<file>.torn``. A last trace whose score
        was never written (killed between the two) moves to ``traces.orphans.jsonl``; the rollout runs
        again, so keeping it would leave two rows for one rollout.
        """
        for path in (self.traces_path, self.scores_path):
            tail = _last_line(path)
            if tail is not None and not tail[1].endswith(b"\n"):
                _set_aside(path, tail[0], path.with_name(path.name + ".torn"))
        tail = _last_line(self.traces_path)
        if tail is not None:
            try:
                head = json.loads(tail[1])
                key = RolloutKey(head["harness_hash"], head["model"], head["case_id"], int(head.get("epoch", 0)))
            except (ValueError, KeyError, TypeError):
                return
            if key not in self._scores:
                _set_aside(self.traces_path, tail[0], self.folder / ORPHANS)
                self._offsets = None

    def close(self) -> None:
        """Close the append handles (they are reopened on the next add)."""
        if self._files is not None:
            for handle in self._files:
                handle.close()
            self._files = None

    def _index(self) -> dict[RolloutKey, int]:
        if self._offsets is None:
            offsets: dict[RolloutKey, int] = {}
            if self.traces_path.exists():
                with self.traces_path.open("rb") as f:
                    offset = 0
                    for line in f:
                        if line.strip():
                            try:
                                head = json.loads(line)
                                offsets[RolloutKey(head["harness_hash"], head["model"], head["case_id"],
                                                   int(head.get("epoch", 0)))] = offset
                            except (ValueError, KeyError, TypeError):
                                pass  # a torn last line
                        offset += len(line)
            self._offsets = offsets
        return self._offsets

    def trace(self, key: RolloutKey) -> Trace | None:
        """Read back one rollout's trace (the last one written for that key)."""
        offset = self._index().get(key)
        if offset is None:
            return None
        if self._files is not None:
            self._files[0].flush()
        with self.traces_path.open("rb") as f:
            f.seek(offset)
            line = f.readline()
        try:
            return Trace.model_validate_json(line)
        except ValidationError:
            return None
