"""Hydra callbacks: a sweep summary that compares the jobs of one multirun."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from betterharness.experiment import SWEEP_ENV


class SweepSummary(Callback):
    """Tags every job of a multirun with one sweep id, then writes ``_sweeps/<id>.md`` comparing them."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Create the sweep id the jobs record in their experiment.json."""
        os.environ[SWEEP_ENV] = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}"

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """Collect the jobs' metrics from disk and write the comparison."""
        from betterharness.report.sweep import write_sweep_summary

        sweep_id = os.environ.get(SWEEP_ENV)
        if sweep_id:
            path = write_sweep_summary(Path(str(config.hydra.sweep.dir)), sweep_id)
            if path is not None:
                print(f"sweep summary: {path}")


