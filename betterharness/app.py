"""One experiment from a validated config: load cases and harness, run, score, aggregate, report."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

from betterharness.config.schema import ExperimentConfig
from betterharness.errors import BHError, CaseError
from betterharness.evals.load import CaseSet, load_cases
from betterharness.experiment import Experiment
from betterharness.harness.templates import Harness, load_harness
from betterharness.latency import LatencyBook
from betterharness.report.run import render_run_report
from betterharness.runner import run_rollouts
from betterharness.scoring.aggregate import aggregate
from betterharness.store import RunStore, write_json, write_text
from betterharness.tracing import TraceSink


def warn_invalid(errors: list[CaseError]) -> None:
    """Print each invalid case file on stderr; the run goes on without them."""
    for error in errors:
        print(error.render().replace("error:", "warning: skipped case file:", 1), file=sys.stderr)


def run_experiment(experiment: Experiment) -> Path:
    """Run the experiment in its folder; return the report path. Resumes what an earlier run finished."""
    config = experiment.config
    logging.getLogger("betterharness").setLevel(config.runtime.log_level)
    cases = load_cases(config.evals)
    harness = load_harness(config.harness)
    warn_invalid(cases.errors)
    if config.optimizer.name != "none":
        from betterharness.optimize.loop import optimize

        return optimize(experiment, cases, harness)
    experiment.start({"cases": [c.id for c in cases.cases], "harness_hash": harness.hash,
                      "invalid_cases": [e.render() for e in cases.errors]})
    return asyncio.run(_plain_run(experiment, cases, harness))


async def _plain_run(experiment: Experiment, cases: CaseSet, harness: Harness) -> Path:
    config = experiment.config
    store = RunStore(experiment.folder)
    sink = TraceSink(f"betterharness-{experiment.hash}", {"model": config.model.id, "hash": experiment.hash},
                     enabled=config.runtime.langsmith)
    try:
        scores, stats = await run_rollouts(cases.cases, harness, config, store, epochs=config.epochs, sink=sink,
                                           label=config.model.id)
    except BHError as error:
        experiment.finish(status="failed", error=error.problem)
        raise
    except BaseException:
        experiment.finish(status="interrupted")
        raise
    book = LatencyBook(Path(config.runtime.outputs))
    scores = book.apply(book.update(scores))
    metrics = aggregate(scores)
    write_json(experiment.folder / "metrics.json", metrics)
    experiment.finish(ran=stats.ran, reused=stats.reused, cached=stats.cached)
    report = experiment.folder / "report.md"
    write_text(report, render_run_report(experiment.record, metrics, scores, cases.errors))
    return report


def summarize(config: ExperimentConfig, report: Path) -> str:
    """The one-paragraph summary printed when a run ends."""
    metrics_path = report.parent / "metrics.json"
    line = f"report: {report}"
    if metrics_path.exists():
        import json

        overall = json.loads(metrics_path.read_text(encoding="utf-8"))["overall"]
        line = (f"{config.model.id}: correctness {overall['correctness']:.2f} over {overall['cases']} cases "
                f"({overall['rollouts']} rollouts)\n{line}")
    return line
