"""One run folder, ``<outputs>/<hash>/``, and every file in it.

| file | written by |
|---|---|
| ``config.yaml``, ``experiment.json`` | ``start`` / ``finish``: the resolved config, provenance, status, times |
| ``traces.jsonl``, ``scores.jsonl`` | ``rollouts`` (see ``store/rollouts.py``) |
| ``metrics.json`` | ``save_metrics``: aggregated from the written scores |
| ``split.json``, ``optimize_state.json`` | ``save`` / ``load`` (typed by the caller's model) |
| ``versions/<hash>.json`` | ``versions`` |
| ``iterations/<NNN>/…`` | ``save_step`` / ``load_step_text`` |
| ``report.md``, ``harness/<name>/``, ``betterharness.log`` | ``write_report``, ``export_harness``, ``log_to`` |

Every JSON document carries the format version (``store/format.py``).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel

from betterharness.atomic import write_text
from betterharness.errors import BHError
from betterharness.harness.templates import Harness, write_harness
from betterharness.store.format import StoreError, load_json, load_model, save_json
from betterharness.store.rollouts import RolloutStore
from betterharness.store.versions import VersionStore

EXPERIMENT = "experiment.json"
METRICS = "metrics.json"
REPORT = "report.md"
LOG = "betterharness.log"
LOCK = ".lock"
SWEEP_ENV = "BH_SWEEP_ID"
"""Set by the sweep callback: every job of one multirun records the same sweep id."""
M = TypeVar("M", bound=BaseModel)


def now() -> str:
    """UTC time, to the second, as ISO text."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class RunFolder:
    """The files of one experiment's output folder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.record: dict[str, Any] = {}

    @cached_property
    def rollouts(self) -> RolloutStore:
        """Traces and scores of every finished rollout."""
        return RolloutStore(self.path)

    @cached_property
    def versions(self) -> VersionStore:
        """The harness versions of this run."""
        return VersionStore(self.path / "versions")

    # -- experiment.json ------------------------------------------------------------------------
    def read_record(self) -> dict[str, Any] | None:
        """``experiment.json`` as written, or None before the run started."""
        return load_json(self.path / EXPERIMENT)

    def start(self, provenance: dict[str, Any], **extra: Any) -> None:
        """Write the resolved config and ``experiment.json`` (status running; start time kept on resume)."""
        self.path.mkdir(parents=True, exist_ok=True)
        previous = self.read_record() or {}
        write_text(self.path / "config.yaml", yaml.safe_dump(provenance.get("config", {}), sort_keys=False))
        self.record = {**provenance, "status": "running", "sweep_id": os.environ.get(SWEEP_ENV),
                       "started_at": previous.get("started_at", now()), "resumed_at": now() if previous else None,
                       "ended_at": None, **extra}
        save_json(self.path / EXPERIMENT, self.record)

    def finish(self, status: str = "complete", **extra: Any) -> None:
        """Mark the experiment ended with ``status``."""
        self.record.update(status=status, ended_at=now(), **extra)
        save_json(self.path / EXPERIMENT, self.record)

    @contextmanager
    def recording_failure(self) -> Iterator[None]:
        """Record in ``experiment.json`` a failure (``failed`` with its problem) or an interruption, then re-raise."""
        try:
            yield
        except BHError as error:
            self.finish(status="failed", error=error.problem)
            raise
        except BaseException:
            self.finish(status="interrupted")
            raise

    # -- documents ------------------------------------------------------------------------------
    def save_metrics(self, metrics: BaseModel | dict[str, Any]) -> None:
        """Write ``metrics.json``."""
        save_json(self.path / METRICS, metrics)

    def read_metrics(self) -> dict[str, Any] | None:
        """``metrics.json``, or None when the run wrote none."""
        return load_json(self.path / METRICS)

    def save(self, name: str, value: BaseModel | dict[str, Any]) -> None:
        """Write the JSON document ``name`` (``split.json``, ``optimize_state.json``)."""
        save_json(self.path / name, value)

    def load(self, name: str, model: type[M]) -> M | None:
        """The JSON document ``name`` as ``model``; None when it does not exist."""
        return load_model(self.path / name, model)

    def write_report(self, text: str, name: str = REPORT) -> Path:
        """Write a report file; return its path."""
        path = self.path / name
        write_text(path, text)
        return path

    def export_harness(self, harness: Harness, name: str) -> Path:
        """Write ``harness`` as the template set ``<run>/harness/<name>/``; return its folder."""
        folder = self.path / "harness" / name
        write_harness(harness, folder)
        return folder

    def ensure(self) -> None:
        """Create the folder; a path that cannot be one is a StoreError naming ``runtime.outputs``."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._unwritable(exc) from None

    def _unwritable(self, exc: OSError) -> StoreError:
        return StoreError(f"cannot write the run folder {self.path}: {exc.strerror}", key="runtime.outputs",
                          value=str(self.path.parent),
                          fix="point runtime.outputs at a folder you can write (it is created if missing)")

    @contextmanager
    def lock(self, wait: bool = False) -> Iterator[None]:
        """Hold the folder's writer lock: one process at a time runs an experiment in it.

        Without ``wait``, a folder locked by another process is a StoreError naming that process.
        """
        self.ensure()
        try:
            handle = open(self.path / LOCK, "a+", encoding="utf-8")  # noqa: SIM115 - closed by the with below
        except OSError as exc:
            raise self._unwritable(exc) from None
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                raise StoreError(f"this experiment is already running in {holder}", file=self.path / LOCK,
                                 fix="wait for it to finish (or set runtime.wait_for_lock=true to queue behind "
                                     "it); every rollout it finishes is reused") from None
            handle.seek(0)
            handle.truncate()
            handle.write(f"PID {os.getpid()}")
            handle.flush()
            try:
                yield
            finally:
                handle.seek(0)
                handle.truncate()
                fcntl.flock(handle, fcntl.LOCK_UN)

    @contextmanager
    def log_to(self) -> Iterator[None]:
        """Copy the package's log into ``betterharness.log`` here while the block runs (one job of a sweep)."""
        self.ensure()
        handler = logging.FileHandler(self.path / LOG, encoding="utf-8")
        handler.setFormatter(logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        try:
            yield
        finally:
            root.removeHandler(handler)
            handler.close()

    # -- iterations/<NNN>/ ----------------------------------------------------------------------
    def step_dir(self, index: int) -> Path:
        """The folder of optimizer iteration ``index``."""
        return self.path / "iterations" / f"{index:03d}"

    def save_step(self, index: int, name: str, value: BaseModel | dict[str, Any] | str) -> None:
        """Write one file of iteration ``index``: text as it is, anything else as a JSON document."""
        path = self.step_dir(index) / name
        if isinstance(value, str):
            write_text(path, value)
        else:
            save_json(path, value)

    def load_step_text(self, index: int, name: str) -> str | None:
        """A text file of iteration ``index``, or None."""
        path = self.step_dir(index) / name
        return path.read_text(encoding="utf-8") if path.is_file() else None


def runs_under(outputs: Path) -> list[RunFolder]:
    """The run folders under an outputs root (those with an ``experiment.json``)."""
    return [RunFolder(p.parent) for p in sorted(outputs.glob(f"*/{EXPERIMENT}"))]
