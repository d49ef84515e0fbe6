"""``python -m betterharness [overrides]``: compose the config, then run the experiment it describes.

A plain eval run scores the harness on the selected cases; ``optimizer=hillclimb`` runs the loop. Either
way the experiment is prepared once (cases loaded, identity computed), lands in ``<outputs>/<hash>/``,
and resumes there when run again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from betterharness.errors import BHError, InfrastructureError, exit_with
from betterharness.paths import conf_dir

if TYPE_CHECKING:  # the orchestration is imported when a job runs, so `--help` stays light
    from betterharness.config.schema import ExperimentConfig
    from betterharness.errors import CaseError
    from betterharness.experiment import Experiment
    from betterharness.models.completion import ModelClient
    from betterharness.optimize.loop import HillClimb, Reviewer
    from betterharness.runner import Sink
    from betterharness.store.folder import RunFolder

PROPOSER_MIN_TOKENS = 1024


def warn_invalid(errors: list[CaseError]) -> None:
    """Print each invalid case file on stderr; the run goes on without them."""
    for error in errors:
        print(error.render().replace("error:", "warning: skipped case file:", 1), file=sys.stderr)


def sinks_for(experiment: Experiment) -> list[Sink]:
    """Where each finished rollout goes besides the run folder: LangSmith, when a key is set."""
    config = experiment.config
    if not (config.runtime.langsmith and os.environ.get("LANGSMITH_API_KEY")):
        return []
    from betterharness.integrations.langsmith import TraceSink

    sink = TraceSink(f"betterharness-{experiment.hash}", {"model": config.model.id, "hash": experiment.hash})
    return [sink.send]


def proposer_client(config: ExperimentConfig) -> ModelClient:
    """The proposer's client; when it falls back to the agent's model, it gets room for a whole proposal."""
    from betterharness.models.providers import connect

    model = config.role("proposer")
    if config.roles.proposer is None and int(model.params.get("max_tokens") or 0) < PROPOSER_MIN_TOKENS:
        model = model.model_copy(update={"params": {**model.params, "max_tokens": PROPOSER_MIN_TOKENS}})
    return connect(model, config.runtime, "proposer")


async def plain_run(experiment: Experiment, folder: RunFolder) -> Path:
    """Score the harness on every selected case × epoch; write metrics.json and report.md."""
    from betterharness.report.run import render_run_report
    from betterharness.runner import run_rollouts
    from betterharness.scoring.aggregate import aggregate

    config = experiment.config
    folder.start(experiment.provenance())
    with folder.recording_failure():
        scores, stats = await run_rollouts(experiment.cases.cases, experiment.harness, config, folder.rollouts,
                                           epochs=config.epochs, sinks=sinks_for(experiment),
                                           label=config.model.id)
    metrics = aggregate(scores)
    folder.save_metrics(metrics)
    folder.finish(ran=stats.ran, reused=stats.reused, cached=stats.cached)
    return folder.write_report(render_run_report(folder.record, metrics, scores, experiment.cases.errors))


async def optimize_run(experiment: Experiment, folder: RunFolder, reviewer: Reviewer | None) -> Path:
    """Run or resume the hill-climbing loop; write metrics.json, the exported harness and report.md."""
    from betterharness.evals.split import split_cases
    from betterharness.optimize.evaluator import RunEvaluator
    from betterharness.optimize.export import export
    from betterharness.optimize.loop import HillClimb
    from betterharness.optimize.outcome import metrics_document, outcome
    from betterharness.report.optimize import render_optimize_report
    from betterharness.runner import Budget, Clients

    config = experiment.config
    split = split_cases(experiment.cases.cases, config.split, config.evals.include_tags)
    folder.save("split.json", split)
    clients = Clients.from_config(config)
    budget = Budget(config.optimizer.budget, used=len(folder.rollouts), spent_usd=folder.rollouts.cost_usd())
    evaluator = RunEvaluator(config, folder.rollouts, clients, budget, sinks_for(experiment))
    hill = HillClimb(config, experiment.cases.cases, split, folder, evaluator, budget, proposer_client(config),
                     reviewer)
    budget.add_cost(hill.state.proposer_cost_usd)
    plan = plan_text(hill)
    print(f"plan: {plan}", file=sys.stderr)
    folder.start(experiment.provenance(), plan=plan, mode="optimize")
    with folder.recording_failure():
        state = await hill.run(experiment.harness)
    if state.status == "waiting_for_review":
        folder.finish(status="waiting_for_review")
        print(f"a proposal is waiting for review: python -m betterharness review {folder.path}", file=sys.stderr)
        return folder.path / "optimize_state.json"
    exported = None
    if state.incumbent != state.baseline:
        destination = config.runtime.export_harness or config.harness.dir  # the user's folder, never the package's
        exported = export(folder.versions.load(state.incumbent), config.harness.name, folder, destination)
    result = outcome(folder, experiment.hash, split, state, clients.agent.model.id, hill.proposer.model.id,
                     hill.epochs, exported, config.optimizer.gate.error_control)
    folder.save_metrics(metrics_document(result))
    report = folder.write_report(render_optimize_report(result))
    folder.finish(status="complete", final_harness=state.incumbent, stop_reason=state.stop_reason)
    return report


def plan_text(hill: HillClimb) -> str:
    """The rollouts the run will need at most, before any is spent."""
    n = {name: len(hill.of(name)) for name in ("optimization", "holdout", "test")}
    k, iterations = hill.epochs, hill.config.optimizer.budget.max_iterations
    search = hill.config.optimizer.search
    draws = search.candidates * search.parents
    total = k * (sum(n.values()) + n["holdout"] + n["test"]) + iterations * hill.iteration_cost()
    gated = min(search.keep, draws) if search.minibatch else draws
    wide = (f", {draws} draws per iteration" + (f" screened on {search.minibatch}+ cases" if search.minibatch else "")
            + f", {gated} gated" if draws > 1 else "")
    return (f"{n['optimization']} optimization / {n['holdout']} holdout / {n['test']} test cases, {k} epochs, "
            f"up to {iterations} iterations{wide}: at most {total} rollouts\n"
            f"power: {hill.power().describe()}")


def older_runs(experiment: Experiment) -> list[Path]:
    """Folders under the outputs root where an earlier release ran this same experiment (another identity)."""
    from betterharness.experiment import HASH_VERSION, hashed_config
    from betterharness.secrets import redact
    from betterharness.store.folder import runs_under
    from betterharness.store.format import StoreError

    def results_config(config: dict[str, Any]) -> dict[str, Any]:
        return hashed_config(redact(config))

    ours = results_config(experiment.config.model_dump(mode="json"))
    found = []
    for run in runs_under(Path(experiment.config.runtime.outputs)):
        try:
            record = run.read_record() or {}
        except StoreError:
            continue
        if record.get("hash_version", 1) < HASH_VERSION and results_config(record.get("config") or {}) == ours:
            found.append(run.path)
    return found


def run_experiment(experiment: Experiment, reviewer: Reviewer | None = None) -> Path:
    """Run the experiment in its folder; return the report path. Resumes what an earlier run finished."""
    from betterharness.store.folder import RunFolder

    config = experiment.config
    logging.getLogger("betterharness").setLevel(config.runtime.log_level)
    warn_invalid(experiment.cases.errors)
    from betterharness.secrets import secret_keys

    for key in secret_keys(config.model_dump(mode="json")):
        print(f"warning: `{key}` holds a secret: it is used but written nowhere; prefer an environment "
              "variable named by api_key_env", file=sys.stderr)
    for old in older_runs(experiment):
        print(f"note: {old} holds this experiment from an earlier betterharness (another identity scheme); "
              f"its rollouts are not reused here. Delete it when you no longer need it.", file=sys.stderr)
    folder = RunFolder(experiment.folder)
    with folder.lock(wait=config.runtime.wait_for_lock):
        try:
            if config.optimizer.name != "none":
                return asyncio.run(optimize_run(experiment, folder, reviewer))
            return asyncio.run(plain_run(experiment, folder))
        finally:
            folder.rollouts.close()


def summarize(config: ExperimentConfig, report: Path) -> str:
    """The one-paragraph summary printed when a run ends."""
    from betterharness.store.folder import RunFolder

    line = f"report: {report}"
    metrics = RunFolder(report.parent).read_metrics()
    if metrics and metrics.get("overall"):
        overall = metrics["overall"]
        errored = (f", {overall['errors']} errored and not scored (infrastructure, not the model: see report)"
                   if overall.get("errors") else "")
        correctness = overall.get("correctness")
        head = (f"correctness {correctness:.2f} over {overall['cases'] - overall.get('unscored_cases', 0)} cases"
                if correctness is not None else f"no rollout was scored over {overall['cases']} cases")
        line = f"{config.model.id}: {head} ({overall['rollouts']} rollouts{errored})\n{line}"
    return line


@hydra.main(version_base="1.3", config_path=str(conf_dir()), config_name="config")
def _app(cfg: DictConfig) -> None:
    from betterharness.cli.review import terminal_reviewer
    from betterharness.config.load import load_config
    from betterharness.experiment import check_keys, prepare
    from betterharness.runner import BudgetExceeded
    from betterharness.store.folder import RunFolder

    signal.signal(signal.SIGTERM, _interrupt)
    hydra_cfg = HydraConfig.get()
    choices = {str(k): v for k, v in OmegaConf.to_container(hydra_cfg.runtime.choices).items()  # type: ignore[union-attr]
               if isinstance(v, str)}
    overrides = [str(o) for o in OmegaConf.to_container(hydra_cfg.overrides.task, resolve=False)]  # type: ignore[union-attr]
    try:
        config = load_config(cfg, choices, overrides)
        experiment = prepare(config, choices, overrides)
        check_keys(config, experiment.cases.cases)  # before the run folder exists
        with RunFolder(experiment.folder).log_to():
            report = run_experiment(experiment, terminal_reviewer)
        print(summarize(config, report))
    except InfrastructureError as error:
        exit_with(error, code=3)
    except BHError as error:
        exit_with(error)
    except BudgetExceeded as exc:
        print(f"stopped: {exc}", file=sys.stderr)
        raise SystemExit(3) from None
    except KeyboardInterrupt:
        print("\ninterrupted: finished rollouts are kept; run the same command to resume", file=sys.stderr)
        raise SystemExit(130) from None


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM stops a run as Ctrl-C does: what finished is kept and the status says ``interrupted``."""
    raise KeyboardInterrupt


def main() -> None:
    """Console entry point of the main job (``betterharness``); a config error of Hydra's own exits 2 like ours."""
    try:
        _app()
    except SystemExit as exit_:
        raise SystemExit(2 if exit_.code == 1 else exit_.code) from None


class SweepSummary(Callback):
    """Tags every job of a multirun with one sweep id, then writes ``_sweeps/<id>.md`` comparing them."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Create the sweep id the jobs record in their experiment.json."""
        from betterharness.store.folder import SWEEP_ENV

        os.environ[SWEEP_ENV] = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}"

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """Collect the jobs' metrics from disk and write the comparison."""
        from betterharness.report.sweep import write_sweep_summary
        from betterharness.store.folder import SWEEP_ENV

        sweep_id = os.environ.get(SWEEP_ENV)
        if sweep_id:
            path = write_sweep_summary(Path(str(config.runtime.outputs)), sweep_id)
            if path is not None:
                print(f"sweep summary: {path}")


__all__ = ["SweepSummary", "main", "run_experiment", "summarize"]
