"""Cases x epochs under one harness and model: concurrent rollouts, scored and stored as each finishes.

The runner knows no provider and no adapter by name: clients come from ``models.connect`` and are bound
to each case (``ModelClient.bind``), the adapter comes from the ``agent`` registry, and whatever else
wants each finished rollout (a LangSmith exporter, a progress line) is passed in as a sink.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from betterharness.agent.adapters import ADAPTERS
from betterharness.agent.trace import Trace
from betterharness.config.schema import BudgetConfig, ExperimentConfig
from betterharness.errors import INFRASTRUCTURE_FIXES, InfrastructureError
from betterharness.evals.case import EvalCase
from betterharness.harness.templates import Harness
from betterharness.models.completion import ModelClient
from betterharness.models.providers import connect
from betterharness.paths import prompts_dir
from betterharness.scoring.context import ScoringContext
from betterharness.scoring.metrics import score_trace
from betterharness.scoring.score import Score
from betterharness.store.cache import RolloutCache
from betterharness.store.latency import LatencyBook
from betterharness.store.rollouts import RolloutKey, RolloutStore

BUILTIN_ADAPTER = "builtin"
CONNECTION_FAILURES = 5
"""Consecutive rollouts that could not reach the provider before a run stops (the provider is down)."""
Sink = Callable[[Trace, Score], None]
"""Receives every rollout run now (not reused), after it is stored."""


@dataclass
class Clients:
    """The model clients of one experiment, by role."""

    agent: ModelClient
    judge: ModelClient
    user: ModelClient

    @classmethod
    def from_config(cls, config: ExperimentConfig) -> Clients:
        """One client per role from the config (roles default to the agent's model)."""
        return cls(*(connect(config.role(role), config.runtime, role) for role in ("agent", "judge", "user")))

    def bind(self, case: EvalCase) -> Clients:
        """The clients for one rollout of ``case``."""
        return Clients(self.agent.bind(case=case), self.judge.bind(case=case), self.user.bind(case=case))


class BudgetExceeded(Exception):
    """A budget cap would be passed: nothing more is started; what finished is kept."""


class Budget:
    """Caps on rollouts and dollars, checked *before* each rollout starts.

    ``used`` counts rollouts already recorded (the folder's, plus every one started here) and
    ``spent_usd`` what they cost (agent, judge, user; a rollout taken from the cache counts at its
    recorded cost, so a resumed run counts the same as an uninterrupted one). The dollar cap also
    reserves, for each rollout in flight, the mean cost of the rollouts run so far, and while no cost is
    known it lets one rollout run at a time.

    Args:
        config: The caps (None: no cap).
        used: Rollouts already recorded against the budget.
        spent_usd: Dollars already spent (agent, judge, user and proposer).
    """

    def __init__(self, config: BudgetConfig, used: int = 0, spent_usd: float = 0.0) -> None:
        self.max_rollouts = config.max_rollouts
        self.max_cost_usd = config.max_cost_usd
        self.used = used
        self.spent_usd = spent_usd
        self.in_flight = 0
        self._costed = 0
        self._costed_usd = 0.0

    def refusal(self, upcoming: int = 1) -> str | None:
        """Why ``upcoming`` more rollouts may not start now, or None when they may."""
        if self.max_rollouts is not None and self.used + upcoming > self.max_rollouts:
            return f"rollout budget {self.max_rollouts} reached ({self.used} used, {upcoming} more needed)"
        if self.max_cost_usd is not None:
            mean = self._costed_usd / self._costed if self._costed else None
            if self.spent_usd >= self.max_cost_usd:
                return f"cost budget ${self.max_cost_usd:g} reached (${self.spent_usd:.4f} used)"
            if mean is not None and self.spent_usd + (self.in_flight + upcoming) * mean > self.max_cost_usd:
                return (f"cost budget ${self.max_cost_usd:g} reached (${self.spent_usd:.4f} used, "
                        f"${mean:.4f} expected per rollout)")
        return None

    def must_wait(self) -> bool:
        """True while a dollar cap is set, no rollout's cost is known yet and one is in flight."""
        return self.max_cost_usd is not None and self._costed == 0 and self.in_flight > 0

    def start(self) -> None:
        """Count one rollout as started."""
        self.used += 1
        self.in_flight += 1

    def settle(self, cost_usd: float | None, *, paid: bool = True) -> None:
        """Count a started rollout's cost once it finished (``paid=False``: a cache hit, not in the mean)."""
        self.in_flight -= 1
        self.spent_usd += cost_usd or 0.0
        if paid:
            self._costed += 1
            self._costed_usd += cost_usd or 0.0

    def add_cost(self, cost_usd: float) -> None:
        """Count a cost spent outside rollouts (the proposer)."""
        self.spent_usd += cost_usd


@dataclass
class RunStats:
    """What a run did: rollouts run now, reused from this folder, or taken from the shared cache."""

    ran: int = 0
    reused: int = 0
    cached: int = 0
    errors: list[str] = field(default_factory=list)
    stopped: str | None = None
    """Why rollouts were left unstarted (a budget cap), if any were."""
    fatal: InfrastructureError | None = None
    """An infrastructure failure that stopped the run (a refused key, no such model, a provider down)."""
    connection_failures: int = 0
    unreachable: int = 0
    """Rollouts run now that could not reach the provider."""
    errored: list[str] = field(default_factory=list)
    """The errors of rollouts run now that infrastructure ended (counted, not scored)."""


class Progress:
    """A minimal progress line on stderr: finished / total, passes, errored (infrastructure)."""

    def __init__(self, total: int, label: str, enabled: bool) -> None:
        self.total, self.label, self.enabled = total, label, enabled and total > 0
        self.done = self.passed = self.errors = 0

    def update(self, score: Score) -> None:
        """Count one finished rollout and redraw."""
        self.done += 1
        self.passed += int(score.passed)
        self.errors += int(score.errored)
        if not self.enabled:
            return
        end = "\n" if self.done == self.total or not sys.stderr.isatty() else "\r"
        sys.stderr.write(f"  {self.label}: {self.done}/{self.total} rollouts, {self.passed} passed, "
                         f"{self.errors} errored{' ' * 8}{end}")
        sys.stderr.flush()


def pending(cases: Sequence[EvalCase], harness: Harness, model: str, rollouts: RolloutStore, epochs: int,
            force: bool = False) -> list[tuple[EvalCase, int]]:
    """The (case, epoch) pairs of a run that no scored rollout in the store covers yet (one that
    infrastructure ended is run again)."""
    todo = []
    for case in cases:
        for epoch in range(epochs):
            done = rollouts.score(RolloutKey(harness.hash, model, case.id, epoch))
            if force or done is None or done.errored:
                todo.append((case, epoch))
    return todo


async def run_rollouts(
    cases: Sequence[EvalCase], harness: Harness, config: ExperimentConfig, rollouts: RolloutStore, *,
    epochs: int, clients: Clients | None = None, label: str = "run", sinks: Sequence[Sink] = (),
    budget: Budget | None = None, latency: LatencyBook | None = None,
) -> tuple[list[Score], RunStats]:
    """Run every (case, epoch) not already in ``rollouts``; return the scores of all of them.

    Rollouts run concurrently up to ``runtime.concurrency``; each is scored, rated against the latency
    book and appended to the store as soon as it finishes, so an interrupted run keeps what it finished
    and a written score is final. With a ``budget``, a rollout that would pass a cap is not started,
    and BudgetExceeded is raised once the rollouts in flight have finished.
    """
    clients = clients or Clients.from_config(config)
    adapter = ADAPTERS.get(BUILTIN_ADAPTER)
    model = clients.agent.model.id
    stats = RunStats()
    results: dict[tuple[str, int], Score] = {}
    todo = pending(cases, harness, model, rollouts, epochs, config.runtime.force)
    stats.reused = len(cases) * epochs - len(todo)
    missing = {(case.id, epoch) for case, epoch in todo}
    for case in cases:
        for epoch in range(epochs):
            done = rollouts.score(RolloutKey(harness.hash, model, case.id, epoch))
            if done is not None and (case.id, epoch) not in missing:
                results[(case.id, epoch)] = done
    book = latency if latency is not None else LatencyBook(Path(config.runtime.outputs))
    cache = RolloutCache(Path(config.runtime.outputs), config) if config.runtime.cache else None
    progress = Progress(len(todo), label, config.runtime.progress)
    if todo:  # imports and model loads happen here, before any rollout's clock starts
        for client in (clients.agent, clients.judge, clients.user):
            await asyncio.to_thread(client.warm_up)
    cap = clients.agent.concurrency_cap() or config.runtime.concurrency
    semaphore = asyncio.Semaphore(min(config.runtime.concurrency, cap))
    changed = asyncio.Condition()
    prompts = prompts_dir()

    async def admitted() -> bool:
        if stats.fatal is not None:
            return False
        if budget is None:
            return True
        async with changed:
            while budget.must_wait():
                await changed.wait()
            why = budget.refusal()
            if why is not None:
                stats.stopped = why
                return False
            budget.start()
            return True

    async def settle(cost: float | None, paid: bool = True) -> None:
        if budget is not None:
            async with changed:
                budget.settle(cost, paid=paid)
                changed.notify_all()

    async def one(case: EvalCase, epoch: int) -> None:
        nonlocal cache
        key = cache.key(case, harness.hash, epoch) if cache else ""
        hit = cache.get(key) if cache and not config.runtime.force else None
        if hit is not None:
            if not await admitted():
                return
            await settle(hit[1].total_cost_usd, paid=False)
            rollouts.add(*hit)
            results[(case.id, epoch)] = hit[1]
            stats.cached += 1
            progress.update(hit[1])
            return
        async with semaphore:
            if not await admitted():
                return
            bound = clients.bind(case)
            cost: float | None = None
            try:
                trace = await adapter(case, harness, bound.agent, config.limits, epoch=epoch, user=bound.user)
                ctx = ScoringContext(judge=bound.judge.text, prompts_dir=prompts)
                score = book.rate(await _score(trace, case, ctx))
                cost = score.total_cost_usd
            finally:
                await settle(cost)
            rollouts.add(trace, score)
            if cache is not None:
                try:
                    await asyncio.to_thread(cache.put, key, trace, score)
                except OSError as exc:
                    print(f"warning: rollout cache write failed ({exc}); caching is off for this run",
                          file=sys.stderr)
                    cache = None
            for sink in sinks:
                sink(trace, score)
            results[(case.id, epoch)] = score
            stats.ran += 1
            if score.error:
                stats.errors.append(f"{case.id}#{epoch}: {score.error}")
            if score.errored:
                stats.errored.append(f"{score.error_kind}: {score.error}")
            _watch(stats, trace, model)
            progress.update(score)

    try:
        await asyncio.gather(*(one(case, epoch) for case, epoch in todo))
    finally:
        book.save()
    if stats.fatal is None and stats.ran and stats.unreachable == stats.ran:
        stats.fatal = InfrastructureError(
            f"no rollout could reach {model}: every one of the {stats.ran} failed to connect",
            key="model.id", value=model, fix=INFRASTRUCTURE_FIXES["connection"] + "; run again to resume")
    if stats.fatal is None and stats.ran and len(stats.errored) == stats.ran:
        stats.fatal = InfrastructureError(
            f"no rollout of {model} could be scored: every one of the {stats.ran} run now errored "
            f"(first: {stats.errored[0][:300]})", key="model.id", value=model,
            fix="check the provider, model.api_base, the key and the judge's model; finished rollouts are kept "
                "and errored ones run again when you repeat the command")
    if stats.fatal is not None:
        raise stats.fatal
    if stats.stopped is not None:
        raise BudgetExceeded(stats.stopped)
    ordered = [results[(case.id, epoch)] for case in cases for epoch in range(epochs)]
    return ordered, stats


def _watch(stats: RunStats, trace: Trace, model: str) -> None:
    """Stop the run on a refused key or an unknown model at once, and on a provider down for a while."""
    kind = trace.error_kind
    stats.connection_failures = stats.connection_failures + 1 if kind == "connection" else 0
    stats.unreachable += kind == "connection"
    if kind in ("auth", "model") or stats.connection_failures >= CONNECTION_FAILURES:
        why = (f"{CONNECTION_FAILURES} rollouts in a row could not reach {model}" if kind == "connection"
               else f"{model} refused the run")
        stats.fatal = stats.fatal or InfrastructureError(
            f"{why}: {trace.error}", key="model.id", value=model,
            fix=INFRASTRUCTURE_FIXES[kind or "connection"] + "; run the same command again to resume")


async def _score(trace: Trace, case: EvalCase, ctx: ScoringContext) -> Score:
    try:
        score = await score_trace(trace, case, ctx)
    except Exception as exc:  # noqa: BLE001 - scoring never stops a run
        score = Score(case_id=case.id, epoch=trace.epoch, tags=case.tags, tier=case.tier, model=trace.model,
                      harness_hash=trace.harness_hash, correctness=0.0, error=f"scoring failed: {exc}",
                      error_kind="scoring")
    return score
