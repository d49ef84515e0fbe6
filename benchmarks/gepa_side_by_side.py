"""GEPA (gepa 0.1.4) side by side with our loop: same cases, split, agent, proposer model and rollout budget.

    python -m benchmarks.gepa_side_by_side --model local --budget 60          # the real run (embedded model)
    python -m benchmarks.gepa_side_by_side --model scripted --budget 30       # the pipeline, offline, in seconds

What runs, in order:

1. **Our loop**: the real CLI in a subprocess, ``python -m betterharness model=<m> evals=<e> optimizer=hillclimb
   optimizer.budget.max_rollouts=<budget> ...`` (and ``optimizer=parallel`` with ``--parallel``), timed; its
   ``split.json``, ``optimize_state.json`` and rollout store are read back.
2. **GEPA**: ``gepa.optimize`` with GEPA's defaults (Pareto candidate selection, round-robin components,
   minibatch 3, strict improvement, no merge), a fixed seed, ``max_metric_calls=<budget>``, through
   ``HarnessAdapter``: a GEPA candidate is a dict of our harness surfaces (``system_prompt`` and one
   ``tool:<name>`` description per tool the optimization cases offer) and ``evaluate`` runs our own runner
   (``RunEvaluator`` over ``run_rollouts``), scoring each case by ``Score.correctness``. GEPA's trainset and
   valset are both our optimization split; our holdout split is never shown to it. Its reflection LM is our
   proposer client (``ProposerLM``), so both sides propose with the same model.
3. **The comparison**: the baseline, GEPA's best candidate and our final harness, each evaluated on OUR
   holdout split with the same epochs, in a fresh folder. The table gives holdout gain (final − baseline
   correctness), rollouts used, holdout gain per 100 rollouts, wall time and proposer calls.

Rollouts are counted the same way on both sides: one is a (harness version, case, epoch) run (or taken
from the shared cache) that the side's rollout store did not hold yet, so a rollout already paid for is
never counted twice; ``gepa.optimize`` gets ``cache_evaluation=True`` (its own name for the same rule) so
that its metric-call count equals ours, and a rollout cap refuses an evaluation that would pass the budget
before spending, as our loop's budget does. ``--model scripted`` builds a tiny harness-sensitive workspace
(cases whose scripted agent acts only when the system prompt holds a phrase, and scripted proposers for
both sides that add it) and runs the whole comparison offline.

Writes ``--out`` (markdown, keeping its hand-written ``## Notes``) and the same figures as ``.json`` beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import yaml

from betterharness.agent.tools import ToolEnvironment
from betterharness.agent.trace import Trace
from betterharness.config.schema import ExperimentConfig
from betterharness.errors import BHError, InfrastructureError
from betterharness.evals.case import EvalCase
from betterharness.evals.split import Split, split_cases
from betterharness.experiment import Experiment, prepare
from betterharness.harness.templates import SYSTEM_PROMPT, Harness, parse_tool_surface, write_harness
from betterharness.models.completion import ModelClient
from betterharness.optimize.diagnose import excerpt, signature
from betterharness.optimize.evaluator import RunEvaluator
from betterharness.optimize.surfaces import tool_defaults
from betterharness.runner import Budget, BudgetExceeded, Clients
from betterharness.scoring.aggregate import aggregate
from betterharness.scoring.score import Score
from betterharness.store.folder import RunFolder
from betterharness.store.rollouts import RolloutKey

if TYPE_CHECKING:  # gepa is an optional dependency (the bench extra), imported when GEPA runs
    from gepa.core.adapter import EvaluationBatch, ProposalFn
    from gepa.core.result import GEPAResult

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "benchmarks" / "results-gepa-2026-12-01.md"
NOTES = "## Notes"
IDLE_ITERATIONS = 12
"""GEPA iterations in a row without a new rollout before the run stops (GEPA's own loop would spin forever
when every minibatch is perfect or no reflection yields a new candidate: its stoppers only see metric calls)."""
INFRASTRUCTURE_STREAK = 3
"""Evaluations in a row our runner stops for infrastructure before GEPA is stopped (the provider is down)."""
GEPA_MINIBATCH = 3
"""gepa.optimize's default reflection minibatch."""
LOCAL_ALPHA = 0.5
"""Greedy decoding repeats exactly, so one epoch is all the evidence there is (conf/experiment/local_demo_hillclimb)."""


# ---------------------------------------------------------------------------------------------------------------
# The experiment both sides share: the composed config, its cases, its harness and its split
# ---------------------------------------------------------------------------------------------------------------

def compose(overrides: Sequence[str]) -> ExperimentConfig:
    """The validated config ``python -m betterharness <overrides>`` would run (Hydra's compose, our loader)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from betterharness.config.load import load_config
    from betterharness.paths import conf_dir

    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(conf_dir()), job_name="gepa_side_by_side"):
        cfg = hydra_compose("config", overrides=list(overrides))
    return load_config(cfg, {}, list(overrides))


@dataclass
class Workspace:
    """One experiment as both sides see it: config, prepared cases and harness, and the split."""

    overrides: list[str]
    config: ExperimentConfig
    experiment: Experiment
    split: Split

    @classmethod
    def of(cls, overrides: Sequence[str]) -> Workspace:
        """Compose, prepare and split the experiment ``overrides`` describe."""
        config = compose(overrides)
        experiment = prepare(config, {}, overrides)
        split = split_cases(experiment.cases.cases, config.split, config.evals.include_tags)
        return cls(list(overrides), config, experiment, split)

    def cases(self, name: str) -> list[EvalCase]:
        """The cases of split ``name`` (optimization, holdout or test)."""
        return self.split.of(name, self.experiment.cases.cases)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------------------
# The adapter: GEPA's protocol over our evaluation
# ---------------------------------------------------------------------------------------------------------------

@dataclass
class CaseRollout:
    """GEPA's trajectory for one case: its scores and traces (one per epoch), or why it was not run."""

    case: EvalCase
    scores: list[Score] = field(default_factory=list)
    traces: list[Trace | None] = field(default_factory=list)
    problem: str | None = None


@dataclass
class RolloutCounter:
    """Every rollout GEPA causes, counted by us: ``rollouts`` run (or taken from the cache) that the store did
    not hold, and ``nominal`` (case, epoch) pairs GEPA asked for (what it would count without a store)."""

    rollouts: int = 0
    nominal: int = 0
    evaluations: int = 0
    refused: int = 0
    infrastructure: int = 0
    unrendered: int = 0


class HarnessAdapter:
    """``gepa.core.adapter.GEPAAdapter`` over our evaluation: candidates are harness surfaces, cases are data.

    A candidate maps ``system_prompt`` and ``tool:<name>`` (one per tool the given cases offer) to template
    sources; a surface left at its starting text leaves the harness as it was, so the seed candidate *is* the
    baseline harness (same hash, same rollouts). ``evaluate`` never raises for a case: a failed model call is a
    score of 0 with the error in its trace (our runner records it), a candidate whose templates do not render
    scores 0 without running anything (our loop rejects such a candidate before running it too), and an
    evaluation the rollout cap would pass is refused before spending. When our runner stops an evaluation for
    infrastructure (a refused key, a provider down, or every rollout it ran erroring), the rollouts that
    finished keep their scores and the rest score 0 with the reason; ``RolloutStop`` ends GEPA after
    INFRASTRUCTURE_STREAK such evaluations in a row, as our loop ends on the first.

    Args:
        config: The experiment's config (model, roles, limits, runtime).
        baseline: The harness GEPA starts from.
        cases: The cases whose tools become surfaces (GEPA's trainset: our optimization split).
        folder: Where GEPA's rollouts are stored.
        budget: The rollout cap (None: none).
        epochs: Rollouts per case per evaluation (default ``config.optimizer.epochs``).
        clients: The model clients (default: from the config).
    """

    propose_new_texts: ProposalFn | None = None
    """GEPA proposes with its own reflection prompt and our proposer model (``ProposerLM``)."""

    def __init__(self, config: ExperimentConfig, baseline: Harness, cases: Sequence[EvalCase], folder: RunFolder,
                 budget: int | None = None, epochs: int | None = None, clients: Clients | None = None) -> None:
        self.config = config
        self.baseline = baseline
        self.folder = folder
        self.epochs = epochs or config.optimizer.epochs
        self.loop = asyncio.new_event_loop()
        self.clients = clients or Clients.from_config(config)
        caps = config.optimizer.budget.model_copy(update={"max_rollouts": budget, "max_cost_usd": None})
        self.budget = Budget(caps, used=0)
        self.evaluator = RunEvaluator(config, folder.rollouts, self.clients, self.budget)
        self.counter = RolloutCounter()
        self.exhausted: str | None = None
        self.infrastructure: str | None = None
        self.infrastructure_streak = 0
        """Evaluations in a row that our runner stopped for infrastructure (every rollout it ran errored, a
        refused key, a provider down); ``RolloutStop`` ends GEPA at INFRASTRUCTURE_STREAK."""
        defaults = tool_defaults(cases)
        tools = sorted(s for s in defaults if s.startswith("tool:") and parse_tool_surface(s)[1] is None)
        self.seed: dict[str, str] = {SYSTEM_PROMPT: baseline.sources[SYSTEM_PROMPT]}
        self.seed |= {surface: baseline.sources.get(surface, defaults[surface]) for surface in tools}
        folder.versions.save(baseline)

    # -- candidates ------------------------------------------------------------------------------------------------
    def seed_candidate(self) -> dict[str, str]:
        """The baseline harness as a GEPA candidate."""
        return dict(self.seed)

    def harness_of(self, candidate: Mapping[str, str]) -> Harness:
        """The harness version a candidate stands for (the baseline itself when nothing changed)."""
        changed = {s: text for s, text in candidate.items() if s in self.seed and text != self.seed[s]}
        if not changed:
            return self.baseline
        return Harness(name=self.baseline.name, sources={**self.baseline.sources, **changed},
                       vars=self.baseline.vars, parent=self.baseline.hash)

    # -- GEPAAdapter -----------------------------------------------------------------------------------------------
    def evaluate(self, batch: list[EvalCase], candidate: dict[str, str],
                 capture_traces: bool = False) -> EvaluationBatch[CaseRollout, str]:
        """Run ``candidate`` on ``batch`` with our runner; one score per case (mean correctness over epochs)."""
        from gepa.core.adapter import EvaluationBatch

        harness = self.harness_of(candidate)
        self.counter.evaluations += 1
        self.counter.nominal += len(batch) * self.epochs
        try:
            harness.check()
        except BHError as exc:
            self.counter.unrendered += 1
            return self._unrun(batch, f"the candidate's templates do not render: {exc.problem}", capture_traces)
        self.folder.versions.save(harness)
        before = self.budget.used
        problem: str | None = None
        try:
            scores = self.loop.run_until_complete(self.evaluator.evaluate(
                harness, batch, self.epochs, label=f"gepa {harness.hash}")).scores
            self.infrastructure_streak = 0
        except InfrastructureError as exc:  # what finished is stored; the rest scores 0 and says why
            self.counter.infrastructure += 1
            self.infrastructure_streak += 1
            self.infrastructure = problem = f"infrastructure: {exc.problem}"
            scores = self._stored(harness, batch)
        except BudgetExceeded as exc:
            self.exhausted = str(exc)
            self.counter.refused += 1
            return self._unrun(batch, f"not run: {exc}", capture_traces)
        except Exception as exc:  # noqa: BLE001 - GEPA's rule: a failing evaluation is a score, not a crash
            return self._unrun(batch, f"evaluation failed: {type(exc).__name__}: {exc}", capture_traces)
        finally:
            spent = self.budget.used - before
            self.counter.rollouts += spent
        by_case: dict[str, list[Score]] = {}
        for score in scores:
            by_case.setdefault(score.case_id, []).append(score)
        rollouts = []
        for case in batch:
            found = sorted(by_case.get(case.id, []), key=lambda s: s.epoch)
            traces = [self.folder.rollouts.trace(RolloutKey.of(s)) for s in found] if capture_traces else []
            rollouts.append(CaseRollout(case, found, traces, None if found else problem))
        values = [self._value(r.scores) for r in rollouts]
        outputs = [self._output(r) for r in rollouts]
        return EvaluationBatch(outputs=outputs, scores=values, trajectories=rollouts if capture_traces else None,
                               num_metric_calls=spent)

    def make_reflective_dataset(self, candidate: dict[str, str], eval_batch: EvaluationBatch[CaseRollout, str],
                                components_to_update: list[str]) -> dict[str, list[dict[str, Any]]]:
        """Per component, one record per rollout of a case it touches (every case for the system prompt, the
        cases offering the tool for ``tool:<name>``): what the agent was asked, what it did, and the verdicts."""
        rollouts: list[CaseRollout] = list(eval_batch.trajectories or [])
        out: dict[str, list[dict[str, Any]]] = {}
        for component in components_to_update:
            records = [record for rollout in rollouts if self._touches(component, rollout.case)
                       for record in self._records(rollout)]
            if records:
                out[component] = records
        return out

    # -- helpers ---------------------------------------------------------------------------------------------------
    @staticmethod
    def _value(scores: Sequence[Score]) -> float:
        return sum(0.0 if s.errored else s.correctness for s in scores) / len(scores) if scores else 0.0

    @staticmethod
    def _output(rollout: CaseRollout) -> str:
        if rollout.problem:
            return rollout.problem
        trace = next((t for t in rollout.traces if t is not None), None)
        if trace is not None:
            return trace.final_text
        passed = sum(s.passed for s in rollout.scores)
        return f"{passed}/{len(rollout.scores)} epochs passed"

    def _stored(self, harness: Harness, batch: Sequence[EvalCase]) -> list[Score]:
        """The scores the store holds for ``harness`` on ``batch`` (after an evaluation that stopped)."""
        model = self.clients.agent.model.id
        found = (self.folder.rollouts.score(RolloutKey(harness.hash, model, case.id, epoch))
                 for case in batch for epoch in range(self.epochs))
        return [score for score in found if score is not None]

    def _unrun(self, batch: Sequence[EvalCase], problem: str,
               capture_traces: bool) -> EvaluationBatch[CaseRollout, str]:
        from gepa.core.adapter import EvaluationBatch

        rollouts = [CaseRollout(case, problem=problem) for case in batch]
        return EvaluationBatch(outputs=[problem] * len(batch), scores=[0.0] * len(batch),
                               trajectories=rollouts if capture_traces else None, num_metric_calls=0)

    @staticmethod
    def _touches(component: str, case: EvalCase) -> bool:
        if component == SYSTEM_PROMPT:
            return True
        tool, _ = parse_tool_surface(component)
        return any(spec.name == tool for spec in ToolEnvironment(case.environment).defaults)

    @staticmethod
    def _records(rollout: CaseRollout) -> list[dict[str, Any]]:
        case = rollout.case
        if rollout.problem or not rollout.scores:
            return [{"Inputs": {"Behaviour measured": case.description},
                     "Generated Outputs": "(not run)",
                     "Feedback": rollout.problem or "no rollout was recorded"}]
        records = []
        for score, trace in zip(rollout.scores, rollout.traces or [None] * len(rollout.scores), strict=False):
            sig = signature(score, trace, case)
            ex = excerpt(score, trace, case, sig)
            done = [*ex.steps, f"final answer: {ex.final_text}"]
            if score.passed:
                feedback = "Correct: every check of this case passed."
            elif score.errored:
                feedback = f"The rollout could not finish ({sig}): {'; '.join(ex.failed)}"
            else:
                feedback = f"Incorrect ({sig}). Failed checks: {'; '.join(ex.failed)}"
            records.append({"Inputs": {"Behaviour measured": ex.description, "User asked": ex.request,
                                       "Tools offered": ", ".join(ex.tools) or "(none)"},
                            "Generated Outputs": "\n".join(done), "Feedback": feedback})
        return records

    def close(self) -> None:
        """Close the rollout store and the event loop."""
        self.folder.rollouts.close()
        self.loop.close()


class ProposerLM:
    """GEPA's ``reflection_lm`` (str or chat messages -> str) on our proposer client: the model both sides share.

    Each call is numbered (``bind(call=n)``), which is how the scripted proposer answers call n; prompts and
    answers are kept in ``folder`` when one is given.
    """

    def __init__(self, client: ModelClient, loop: asyncio.AbstractEventLoop, folder: Path | None = None) -> None:
        self.client = client
        self.loop = loop
        self.folder = folder
        self.calls = 0
        self.failures = 0
        self.seconds = 0.0

    def __call__(self, prompt: str | list[dict[str, Any]]) -> str:
        """One proposer call; a failure is raised to GEPA, which skips that proposal."""
        messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)
        self.calls += 1
        start = time.perf_counter()
        try:
            completion = self.loop.run_until_complete(self.client.bind(call=self.calls).complete(messages))
        except Exception:
            self.failures += 1
            raise
        finally:
            self.seconds += time.perf_counter() - start
        text = completion.content or ""
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / f"reflection_{self.calls:03d}_prompt.md").write_text(str(messages[-1]["content"]))
            (self.folder / f"reflection_{self.calls:03d}_answer.md").write_text(text)
        return text


class FileLogger:
    """GEPA's logger protocol (``log(message)``), writing to one file only (GEPA's own Logger tees stdout)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def log(self, message: str) -> None:
        """Append one message."""
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(f"{message}\n")


class Tally:
    """GEPA callback: what its iterations did (proposals, minibatch accepts and rejects, skips)."""

    def __init__(self) -> None:
        self.iterations = 0
        self.proposals: list[list[str]] = []
        self.accepted: list[tuple[int, float]] = []
        self.rejected: list[tuple[int, float, float]] = []
        self.skipped: dict[str, int] = {}

    def on_iteration_end(self, event: Mapping[str, Any]) -> None:
        """Count an iteration."""
        self.iterations += 1

    def on_proposal_end(self, event: Mapping[str, Any]) -> None:
        """Record which components a proposal rewrote."""
        self.proposals.append(sorted(event.get("new_instructions") or {}))

    def on_candidate_accepted(self, event: Mapping[str, Any]) -> None:
        """Record a candidate added to the pool (with its valset score)."""
        self.accepted.append((int(event["iteration"]), float(event["new_score"])))

    def on_candidate_rejected(self, event: Mapping[str, Any]) -> None:
        """Record a candidate the minibatch rejected."""
        self.rejected.append((int(event["iteration"]), float(event["old_score"]), float(event["new_score"])))

    def on_evaluation_skipped(self, event: Mapping[str, Any]) -> None:
        """Count iterations skipped before reflecting (a perfect minibatch, no trajectories)."""
        reason = str(event.get("reason"))
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


class RolloutStop:
    """GEPA stop callback: the rollout budget by our counter, a refused evaluation, idle iterations, or time.

    With ``need`` (the rollouts a new candidate's minibatch costs), GEPA also stops when fewer than that remain,
    before paying a reflection call whose candidate the cap would refuse: our loop likewise refuses an
    iteration whose validation would pass its cap.
    """

    def __init__(self, adapter: HarnessAdapter, budget: int, max_seconds: float | None = None,
                 idle: int = IDLE_ITERATIONS, need: int = 0) -> None:
        self.adapter, self.budget, self.idle, self.need = adapter, budget, idle, need
        self.deadline = time.monotonic() + max_seconds if max_seconds else None
        self.last = -1
        self.still = 0
        self.reason: str | None = None

    def __call__(self, gepa_state: Any) -> bool:
        """True when GEPA should stop before its next iteration."""
        used = self.adapter.counter.rollouts
        self.still = self.still + 1 if used == self.last else 0
        self.last = used
        if used >= self.budget or self.budget - used < self.need:
            self.reason = (f"rollout budget {self.budget} reached ({used} used"
                           + (f", a candidate's minibatch needs {self.need})" if used < self.budget else ")"))
        elif self.adapter.exhausted:
            self.reason = self.adapter.exhausted
        elif self.adapter.infrastructure_streak >= INFRASTRUCTURE_STREAK:
            self.reason = f"{INFRASTRUCTURE_STREAK} evaluations in a row stopped: {self.adapter.infrastructure}"
        elif self.still >= self.idle:
            self.reason = f"{self.idle} iterations in a row ran no new rollout"
        elif self.deadline is not None and time.monotonic() > self.deadline:
            self.reason = "wall-time cap reached"
        return self.reason is not None


# ---------------------------------------------------------------------------------------------------------------
# The two sides
# ---------------------------------------------------------------------------------------------------------------

@dataclass
class SideResult:
    """What one optimizer did within the budget."""

    name: str
    command: str
    wall_s: float
    rollouts: int
    proposer_calls: int
    candidates: int
    accepted: int
    baseline: str
    final: str
    stop_reason: str | None
    optimization_before: float | None
    optimization_after: float | None
    extra: dict[str, Any] = field(default_factory=dict)
    holdout_baseline: float | None = None
    holdout_final: float | None = None
    holdout_cases: dict[str, float] = field(default_factory=dict)

    @property
    def holdout_gain(self) -> float | None:
        """Final minus baseline holdout correctness."""
        if self.holdout_final is None or self.holdout_baseline is None:
            return None
        return self.holdout_final - self.holdout_baseline

    @property
    def gain_per_100(self) -> float | None:
        """Holdout gain per 100 rollouts used."""
        gain = self.holdout_gain
        return None if gain is None or not self.rollouts else 100 * gain / self.rollouts


def contention() -> dict[str, Any]:
    """The machine's load average and the other embedded-model jobs running now (they share the 2 cores)."""
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = []
    try:
        found = subprocess.run(["pgrep", "-f", "model=local"], capture_output=True, text=True).stdout.split()
    except OSError:
        found = []
    others = [pid for pid in found if int(pid) != os.getpid()]
    return {"load": load, "other_local_model_processes": len(others)}


def correctness(folder: RunFolder, harness: str, model: str, ids: Sequence[str]) -> float | None:
    """Mean correctness of ``harness`` on the cases ``ids`` in a rollout store (errored rollouts left out)."""
    scores = folder.rollouts.scores(harness=harness, model=model, case_ids=list(ids))
    return aggregate(scores).overall.correctness if scores else None


def run_gepa(ws: Workspace, budget: int, seed: int, out: Path, max_minutes: float | None) -> tuple[SideResult, Harness]:
    """GEPA on the optimization split (as trainset and valset), our proposer as its reflection LM."""
    import gepa

    from betterharness.cli.run import proposer_client

    opt = ws.cases("optimization")
    folder = RunFolder(out / "run")
    folder.ensure()
    start = time.perf_counter()
    adapter = HarnessAdapter(ws.config, ws.experiment.harness, opt, folder, budget=budget)
    lm = ProposerLM(proposer_client(ws.config), adapter.loop, out / "reflections")
    stop = RolloutStop(adapter, budget, max_minutes * 60 if max_minutes else None,
                       need=min(GEPA_MINIBATCH, len(opt)) * adapter.epochs)
    tally = Tally()
    callbacks: list[Any] = [tally]
    try:
        result: GEPAResult[str, int] = gepa.optimize(
            seed_candidate=adapter.seed_candidate(), trainset=opt, valset=opt, adapter=adapter,
            reflection_lm=lm, max_metric_calls=budget, stop_callbacks=[stop], seed=seed,
            cache_evaluation=True, logger=FileLogger(out / "gepa_log.txt"), display_progress_bar=False,
            callbacks=callbacks,
        )
    finally:
        wall = time.perf_counter() - start
        adapter.close()
    best_candidate = cast(dict[str, str], result.best_candidate)
    best = adapter.harness_of(best_candidate)
    write_harness(best, out / "best_harness")
    model = adapter.clients.agent.model.id
    ids = [c.id for c in opt]
    side = SideResult(
        name="GEPA 0.1.4", command=(f"gepa.optimize(max_metric_calls={budget}, seed={seed}, cache_evaluation=True, "
                                    "defaults otherwise) via HarnessAdapter"),
        wall_s=wall, rollouts=adapter.counter.rollouts, proposer_calls=lm.calls,
        candidates=len(tally.accepted) + len(tally.rejected), accepted=len(tally.accepted),
        baseline=ws.experiment.harness.hash, final=best.hash,
        stop_reason=stop.reason or "GEPA's own stopper (max_metric_calls)",
        optimization_before=correctness(folder, ws.experiment.harness.hash, model, ids),
        optimization_after=correctness(folder, best.hash, model, ids),
        extra={"gepa_total_metric_calls": result.total_metric_calls, "nominal_metric_calls": adapter.counter.nominal,
               "evaluate_calls": adapter.counter.evaluations, "refused_evaluations": adapter.counter.refused,
               "infrastructure_stops": adapter.counter.infrastructure,
               "unrendered_candidates": adapter.counter.unrendered, "proposer_failures": lm.failures,
               "proposer_seconds": round(lm.seconds, 1), "valset_scores": result.val_aggregate_scores,
               "iterations": tally.iterations, "proposed_components": tally.proposals,
               "minibatch_rejections": tally.rejected, "skipped": tally.skipped,
               "components": sorted(adapter.seed), "best_idx": result.best_idx,
               "changed_surfaces": sorted(s for s in adapter.seed if best_candidate.get(s) != adapter.seed[s])},
    )
    return side, best


def run_ours(ws: Workspace, optimizer: str, budget: int, out: Path, extra: Sequence[str]) -> tuple[SideResult, Harness]:
    """Our loop through the real CLI, in a subprocess; results read back from its run folder."""
    from betterharness.optimize.state import OptimizeState

    overrides = [*ws.overrides, f"optimizer={optimizer}", *extra, f"optimizer.budget.max_rollouts={budget}",
                 "optimizer.budget.max_iterations=1000", f"runtime.outputs={out}", "runtime.progress=false"]
    command = [sys.executable, "-m", "betterharness", *overrides]
    env = {**os.environ, "BH_OFFLINE": "1", "LITELLM_LOCAL_MODEL_COST_MAP": "True", "HF_HUB_OFFLINE": "1"}
    env.pop("LANGSMITH_API_KEY", None)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, text=True, capture_output=True)
    wall = time.perf_counter() - start
    (out / "cli.log").parent.mkdir(parents=True, exist_ok=True)
    (out / "cli.log").write_text(f"$ {shlex.join(command)}\n\n{done.stdout}\n--- stderr ---\n{done.stderr}")
    if done.returncode != 0:
        raise SystemExit(f"our loop failed (exit {done.returncode}); see {out / 'cli.log'}\n{done.stderr[-2000:]}")
    (path,) = [p for p in out.iterdir() if p.is_dir() and not p.name.startswith("_")]
    folder = RunFolder(path)
    split = json.loads((path / "split.json").read_text())
    if (split["optimization"], split["holdout"]) != (ws.split.optimization, ws.split.holdout):
        raise SystemExit(f"our loop split the cases differently from the workspace: {path / 'split.json'}")
    state = folder.load("optimize_state.json", OptimizeState)
    assert state is not None
    final = folder.versions.load(state.incumbent)
    drawn = [c for it in state.iterations for c in (it.search.candidates if it.search else [])]
    model = compose([*ws.overrides]).model.id
    side = SideResult(
        name=f"ours ({optimizer})", command="python -m betterharness " + shlex.join(overrides), wall_s=wall,
        rollouts=len(folder.rollouts), proposer_calls=len(list(path.glob("iterations/*/proposer_answer*.txt"))),
        candidates=sum(1 for c in drawn if c.candidate),
        accepted=sum(it.outcome == "accepted" for it in state.iterations),
        baseline=state.baseline, final=state.incumbent, stop_reason=state.stop_reason,
        optimization_before=correctness(folder, state.baseline, model, ws.split.optimization),
        optimization_after=correctness(folder, state.incumbent, model, ws.split.optimization),
        extra={"run_folder": str(path), "iterations": len(state.iterations),
               "outcomes": [it.outcome for it in state.iterations],
               "holdout_consultations": state.holdout_consultations,
               "own_holdout_final": correctness(folder, state.incumbent, model, ws.split.holdout)},
    )
    folder.rollouts.close()
    return side, final


def evaluate_holdout(ws: Workspace, harnesses: Mapping[str, Harness], out: Path, known: Sequence[Path] = (),
                     fresh: bool = False) -> tuple[dict[str, dict[str, float]], dict[str, str]]:
    """Per-case holdout correctness of each harness, with the optimizer's epochs, and where it was measured.

    A harness whose every holdout rollout is already in one of the ``known`` run folders (our loop measures
    the baseline and its final harness on the holdout) is read from there; any other is run in a fresh folder
    under ``out`` (all of them with ``fresh``). The same (harness version, case, epoch, config) either way.
    """
    config = compose([*ws.overrides, f"runtime.outputs={out}", "runtime.progress=false"])
    cases = ws.cases("holdout")
    ids = [c.id for c in cases]
    epochs = config.optimizer.epochs
    folder = RunFolder(out / "holdout")
    folder.ensure()
    clients = Clients.from_config(config)
    evaluator = RunEvaluator(config, folder.rollouts, clients, Budget(config.optimizer.budget.model_copy(
        update={"max_rollouts": None, "max_cost_usd": None})))
    model = clients.agent.model.id
    results: dict[str, dict[str, float]] = {}
    sources: dict[str, str] = {}
    loop = asyncio.new_event_loop()
    try:
        for label, harness in harnesses.items():
            scores: list[Score] | None = None
            for path in () if fresh else known:
                other = RunFolder(path)
                found = [s for s in other.rollouts.scores(harness=harness.hash, model=model, case_ids=ids)
                         if s.epoch < epochs and not s.errored]
                other.rollouts.close()
                if len(found) == len(ids) * epochs:
                    scores, sources[label] = found, f"recorded in {path}"
                    break
            if scores is None:
                folder.versions.save(harness)
                run = loop.run_until_complete(evaluator.evaluate(harness, cases, epochs, label=f"holdout {label}"))
                scores, sources[label] = run.scores, f"run in {folder.path}"
            per_case: dict[str, list[float]] = {}
            for score in scores:
                if not score.errored:
                    per_case.setdefault(score.case_id, []).append(score.correctness)
            results[label] = {cid: sum(v) / len(v) for cid, v in per_case.items()}
            results[label]["__mean__"] = aggregate(scores).overall.correctness or 0.0
    finally:
        folder.rollouts.close()
        loop.close()
    return results, sources


# ---------------------------------------------------------------------------------------------------------------
# The scripted workspace: a harness-sensitive agent and scripted proposers for both sides
# ---------------------------------------------------------------------------------------------------------------

PHRASE = "Always act with the tools instead of describing the action."


def scripted_case(case_id: str, tag: str = "tool_use", fixable: bool = True, broken: bool = False) -> dict[str, Any]:
    """A case whose scripted agent calls its tool only when the system prompt holds PHRASE (if ``fixable``);
    a ``broken`` case's agent has no script at all, so its every model call fails."""
    tool = {"name": "do_task", "description": "Do the task.",
            "parameters": {"type": "object", "properties": {"what": {"type": "string"}}, "required": ["what"]},
            "responses": [{"default": {"status": "ok"}}]}
    good = [{"tool_calls": [{"name": "do_task", "arguments": {"what": case_id}}]}, {"content": "Done."}]
    bad = [{"content": "I would call the tool."}]
    script: dict[str, Any] = {"agent": bad, "variants": [{"system_contains": PHRASE, "agent": good}] if fixable else []}
    if broken:
        script = {"agent": []}
    return {"id": case_id, "description": f"Acts with the tool ({case_id}).", "tags": [tag], "tier": "hillclimb",
            "input": {"messages": [{"role": "user", "content": f"Please do {case_id}."}]},
            "environment": {"tools": [tool]}, "success": [{"tool_called": {"name": "do_task"}}],
            "ideal": {"steps": 2, "tool_calls": 1, "trajectory": good}, "script": script}


def scripted_workspace(root: Path, cases: Sequence[dict[str, Any]], tag: str = "tool_use") -> list[str]:
    """Write ``cases``, a copy of the default harness and both sides' scripted proposer answers under ``root``;
    return the overrides that run on it (``model=scripted roles=scripted``)."""
    evals = root / "evals"
    for spec in cases:
        path = evals / spec["tags"][0] / f"{spec['id']}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(spec, sort_keys=False))
    harness = root / "harness"
    if not (harness / "default").exists():
        shutil.copytree(ROOT / "harness_templates" / "default", harness / "default")
    base = (harness / "default" / "system_prompt.md.j2").read_text()
    ours = [{"edit": {"surface": "system_prompt", "op": "append", "text": text},
             "rationale": "The agent describes actions instead of taking them.", "targets": [f"{tag}/assertion"]}
            for text in ("Keep every reply concise.", PHRASE)]
    gepa_answers = [  # GEPA's round robin: the system prompt, then the tool, then the system prompt again
        f"```\n{base.rstrip()}\n- Keep every reply concise.\n```",
        "```\nDo the task. Use it whenever the user asks for the task.\n```",
        f"```\n{base.rstrip()}\n- {PHRASE}\n```",
    ]
    (root / "ours.yaml").write_text(yaml.safe_dump(ours))
    (root / "gepa.yaml").write_text(yaml.safe_dump(gepa_answers))
    return ["model=scripted", "roles=scripted", f"evals.root={evals}", f"evals={tag}", f"harness.dir={harness}"]


def scripted_suite() -> list[dict[str, Any]]:
    """The ``--model scripted`` cases: five an edit of the system prompt fixes, one it cannot."""
    return [*(scripted_case(f"task_{i}") for i in range(5)), scripted_case("task_stuck", fixable=False)]


# ---------------------------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------------------------

def _num(value: float | None, fmt: str = ".2f", signed: bool = False) -> str:
    if value is None:
        return "–"
    return format(value, ("+" if signed else "") + fmt)


def table(sides: Sequence[SideResult], budget: int) -> str:
    """The side-by-side table (markdown)."""
    rows = ["| optimizer | rollouts used / budget | proposer calls | candidates evaluated | accepted | "
            "optimization before → after | holdout baseline → final | holdout gain | gain / 100 rollouts | wall s |",
            "|---|---:|---:|---:|---:|---|---|---:|---:|---:|"]
    for s in sides:
        rows.append(f"| {s.name} | {s.rollouts} / {budget} | {s.proposer_calls} | {s.candidates} | {s.accepted} | "
                    f"{_num(s.optimization_before)} → {_num(s.optimization_after)} | "
                    f"{_num(s.holdout_baseline)} → {_num(s.holdout_final)} | {_num(s.holdout_gain, signed=True)} | "
                    f"{_num(s.gain_per_100, signed=True)} | {s.wall_s:.0f} |")
    return "\n".join(rows)


def machine() -> list[str]:
    """Facts about the machine and the packages that shape the timings."""
    try:
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "unknown"
    versions = []
    for name in ("betterharness", "gepa", "xllamacpp", "litellm"):
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    return [f"- cores: {os.cpu_count()}; Python {platform.python_version()} on {platform.platform()}",
            f"- {', '.join(versions)}", f"- load average when the run started: {load}"]


def render(args: argparse.Namespace, ws: Workspace, sides: Sequence[SideResult],
           holdout: Mapping[str, Mapping[str, float]], sources: Mapping[str, str], started: str, total_s: float,
           probe_s: float | None, diffs: Mapping[str, str]) -> str:
    """The results document (its ``## Notes`` section is kept from the previous file by ``write``)."""
    cmd = "python -m benchmarks.gepa_side_by_side " + " ".join(sys.argv[1:])
    config = ws.config
    components: list[str] = next((s.extra["components"] for s in sides if "components" in s.extra), [])
    lines = [
        "# GEPA side by side with our loop", "",
        f"`{cmd}` on {started} (total {total_s / 60:.1f} min).", "",
        "## Machine", "", *machine(), "",
        "## Setup", "",
        f"- agent model: `{config.model.id}`; proposer (our loop) = reflection LM (GEPA): "
        f"`{config.role('proposer').id}`; epochs per evaluation: {config.optimizer.epochs}",
        f"- cases: `evals={args.evals}`, split seed {config.split.seed}: optimization "
        f"{ws.split.optimization}, holdout {ws.split.holdout}",
        f"- rollout budget per optimizer: {args.budget} (GEPA: `max_metric_calls={args.budget}`; ours: "
        f"`optimizer.budget.max_rollouts={args.budget}`), counted alike (a rollout the side's store already "
        "holds is never counted twice)",
        f"- GEPA: gepa 0.1.4 defaults (Pareto candidate selection, round-robin over {len(components)} components, "
        f"reflection minibatch 3, strict improvement, no merge), seed {args.seed}, trainset = valset = our "
        f"optimization split, `cache_evaluation=True`; components {', '.join(f'`{c}`' for c in components)}",
        "- ours: the CLI with the local demo's gate settings (one epoch, `optimizer.gate.alpha=0.5`: greedy "
        "decoding repeats exactly) and `optimizer.budget.max_iterations=1000`, so the rollout budget binds",
    ]
    if probe_s is not None:
        lines.append(f"- sizing: one plain baseline run of every case (`epochs=1`, model load included, before "
                     f"both sides, `--probe`) took {probe_s:.0f} s")
    lines += ["", "## Commands", ""]
    lines += [f"- {s.name}: `{s.command}`" for s in sides]
    lines += ["", "## Result", "", table(sides, args.budget), "",
              "Holdout correctness: every final harness on our holdout split with the same epochs; a harness our "
              "loop already ran on the holdout (the baseline, its final harness) is read from its run folder, any "
              "other is run in a fresh one. Optimization correctness is each side's own record (for GEPA, the "
              "valset score of its best candidate).", "",
              *[f"- {label}: {where}" for label, where in sources.items()], "",
              "### Holdout per case", ""]
    labels = list(holdout)
    lines.append("| case | " + " | ".join(labels) + " |")
    lines.append("|---|" + "---:|" * len(labels))
    for cid in ws.split.holdout:
        lines.append(f"| `{cid}` | " + " | ".join(_num(holdout[label].get(cid)) for label in labels) + " |")
    lines += ["", "### What each side did", ""]
    for s in sides:
        facts = {k: v for k, v in s.extra.items() if k not in ("components",)}
        lines.append(f"- **{s.name}**: stop: {s.stop_reason}; {json.dumps(facts, default=str)}")
    for name, text in diffs.items():
        lines += ["", f"### Final harness of {name} (diff against the baseline)", "", "```diff",
                  text.strip() or "(unchanged)", "```"]
    return "\n".join(lines) + "\n"


def write(path: Path, text: str, data: dict[str, Any]) -> None:
    """Write the report, keeping the hand-written ``## Notes`` of an earlier one, and its ``.json``."""
    notes = ""
    if path.exists():
        old = path.read_text(encoding="utf-8")
        if NOTES in old:
            notes = old[old.index(NOTES):]
    if not notes:
        notes = f"{NOTES}\n\n(Written by hand after the run: the reading of the table.)\n"
    path.write_text(text + "\n" + notes, encoding="utf-8")
    path.with_suffix(".json").write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------------------------

def probe_baseline(ws: Workspace, out: Path) -> float:
    """Seconds one plain baseline run of every selected case takes (model load included), via the CLI."""
    command = [sys.executable, "-m", "betterharness", *ws.overrides, f"runtime.outputs={out}", "runtime.progress=false"]
    env = {**os.environ, "BH_OFFLINE": "1", "LITELLM_LOCAL_MODEL_COST_MAP": "True", "HF_HUB_OFFLINE": "1"}
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, text=True, capture_output=True, check=True)
    return time.perf_counter() - start


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--budget", type=int, default=60, help="rollouts per optimizer (default 60)")
    parser.add_argument("--evals", default="tool_use", help="the evals= option (default tool_use)")
    parser.add_argument("--model", choices=("local", "scripted"), default="local")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads of the embedded model (model=local)")
    parser.add_argument("--seed", type=int, default=0, help="GEPA's seed")
    parser.add_argument("--parallel", action="store_true", help="also run our loop with optimizer=parallel")
    parser.add_argument("--probe", action="store_true",
                        help="only time one plain baseline run of every case (to size --budget), kept in --work")
    parser.add_argument("--gepa-max-minutes", type=float, default=None, help="a wall-time cap on GEPA")
    parser.add_argument("--work", type=Path, default=None, 
                        help="where both sides' run folders go (default: a temp dir)")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                        help="one more override for both sides (repeatable): --set 'evals.files=[tool_use/*.yaml]'")
    parser.add_argument("--fresh-holdout", action="store_true",
                        help="run every final harness on the holdout afresh (default: reuse our loop's records)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Run both sides, the holdout comparison, and write the results."""
    from betterharness.harness.diff import diff

    args = parse_args(argv)
    os.environ.setdefault("BH_OFFLINE", "1")
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    work = args.work or Path(tempfile.mkdtemp(prefix="gepa_side_by_side_"))
    work.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    t0 = time.perf_counter()
    ours_extra = ["optimizer.epochs=1", f"optimizer.gate.alpha={LOCAL_ALPHA}"]
    if args.model == "scripted":
        base = [*scripted_workspace(work / "workspace", scripted_suite(), args.evals), *args.sets]
        gepa_overrides = [*base, f"+roles.proposer.options.responses_file={work / 'workspace' / 'gepa.yaml'}"]
        ours_base = [*base, f"+roles.proposer.options.responses_file={work / 'workspace' / 'ours.yaml'}"]
    else:
        base = ["model=local", f"evals={args.evals}", f"+model.options.threads={args.threads}", *args.sets]
        gepa_overrides = ours_base = base
    common = ["optimizer=hillclimb", *ours_extra]
    ws = Workspace.of([*gepa_overrides, *common, f"runtime.outputs={work / 'gepa'}", "runtime.progress=false"])
    ws_ours = Workspace(ours_base, ws.config, ws.experiment, ws.split)
    print(f"work: {work}\nsplit: optimization {ws.split.optimization}, holdout {ws.split.holdout}", file=sys.stderr)
    probe_file = work / "probe.json"
    probe_s: float | None = None
    if args.probe:
        probe_s = probe_baseline(Workspace.of(base), work / "probe")
        probe_file.write_text(json.dumps({"seconds": probe_s, "overrides": base}))
        print(f"one baseline run of every case ({len(ws.experiment.cases.cases)}): {probe_s:.0f} s", file=sys.stderr)
        return
    if probe_file.exists():
        probe_s = float(json.loads(probe_file.read_text())["seconds"])

    sides: list[SideResult] = []
    finals: dict[str, Harness] = {"baseline": ws.experiment.harness}
    for optimizer in ("hillclimb", *(["parallel"] if args.parallel else [])):
        print(f"ours ({optimizer}) ...", file=sys.stderr)
        before = contention()
        side, final = run_ours(ws_ours, optimizer, args.budget, work / f"ours_{optimizer}", ours_extra)
        side.extra["machine"] = {"start": before, "end": contention()}
        print(f"  {side.rollouts} rollouts, {side.wall_s:.0f} s, stop: {side.stop_reason}", file=sys.stderr)
        sides.append(side)
        finals[side.name] = final
    print("GEPA ...", file=sys.stderr)
    before = contention()
    gepa_side, best = run_gepa(ws, args.budget, args.seed, work / "gepa", args.gepa_max_minutes)
    gepa_side.extra["machine"] = {"start": before, "end": contention()}
    print(f"  {gepa_side.rollouts} rollouts, {gepa_side.wall_s:.0f} s, stop: {gepa_side.stop_reason}", file=sys.stderr)
    sides.append(gepa_side)
    finals[gepa_side.name] = best

    print("holdout ...", file=sys.stderr)
    known = [Path(str(side.extra["run_folder"])) for side in sides if "run_folder" in side.extra]
    holdout, sources = evaluate_holdout(Workspace([*base, *common], ws.config, ws.experiment, ws.split), finals,
                                        work / "holdout_eval", known, args.fresh_holdout)
    for side in sides:
        side.holdout_baseline = holdout["baseline"]["__mean__"]
        side.holdout_final = holdout[side.name]["__mean__"]
        side.holdout_cases = {k: v for k, v in holdout[side.name].items() if k != "__mean__"}
    shown = {label: {k: v for k, v in scores.items() if k != "__mean__"} | {"mean": scores["__mean__"]}
             for label, scores in holdout.items()}
    diffs = {name: diff(ws.experiment.harness, harness) for name, harness in finals.items() if name != "baseline"}
    total = time.perf_counter() - t0
    text = render(args, ws, sides, holdout, sources, started, total, probe_s, diffs)
    data = {"command": "python -m benchmarks.gepa_side_by_side " + " ".join(sys.argv[1:]), "started": started,
            "total_s": round(total, 1), "probe_s": probe_s, "budget": args.budget, "model": ws.config.model.id,
            "split": {"optimization": ws.split.optimization, "holdout": ws.split.holdout}, "work": str(work),
            "sides": [asdict(s) | {"holdout_gain": s.holdout_gain, "gain_per_100": s.gain_per_100} for s in sides],
            "holdout": shown, "holdout_measured": sources, "diffs": diffs}
    write(args.out, text, data)
    print(table(sides, args.budget))
    print(f"wrote {args.out} and {args.out.with_suffix('.json')}", file=sys.stderr)


if __name__ == "__main__":
    main()
