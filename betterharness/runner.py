"""Cases x epochs under one harness and model: concurrent rollouts, scored and stored as each finishes."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from betterharness.agent.loop import run_case
from betterharness.cache import RolloutCache
from betterharness.config.schema import ExperimentConfig
from betterharness.evals.case import EvalCase
from betterharness.harness.templates import Harness
from betterharness.models.client import ModelClient, concurrency_cap, provider_of, warm_up
from betterharness.paths import prompts_dir
from betterharness.scoring.context import ScoringContext
from betterharness.scoring.metrics import score_trace
from betterharness.scoring.score import Score
from betterharness.store import RunStore
from betterharness.trace import Trace
from betterharness.tracing import TraceSink


@dataclass
class Clients:
    """The model clients of one experiment, by role."""

    agent: ModelClient
    judge: ModelClient
    user: ModelClient

    @classmethod
    def from_config(cls, config: ExperimentConfig) -> Clients:
        """Build one client per role from the config (roles default to the agent's model)."""
        return cls(*(ModelClient(config.role(role), config.runtime, role) for role in ("agent", "judge", "user")))

    def scripted(self) -> bool:
        """True when any role uses the scripted test double."""
        return any(provider_of(c.model.id) == "scripted" for c in (self.agent, self.judge, self.user))


@dataclass
class RunStats:
    """What a run did: rollouts run now, reused from this folder, or taken from the shared cache."""

    ran: int = 0
    reused: int = 0
    cached: int = 0
    errors: list[str] = field(default_factory=list)


def _script(case: EvalCase) -> dict[str, list[object]]:
    script = case.script
    agent = (script.agent if script and script.agent is not None else case.ideal.trajectory) or []
    return {"agent": list(agent), "agent_variants": list(script.variants) if script else [],
            "judge": list(script.judge or []) if script else [], "user": list(script.user or []) if script else []}


class Progress:
    """A minimal progress line on stderr: finished / total, passes, errors."""

    def __init__(self, total: int, label: str, enabled: bool) -> None:
        self.total, self.label, self.enabled = total, label, enabled and total > 0
        self.done = self.passed = self.errors = 0

    def update(self, score: Score) -> None:
        """Count one finished rollout and redraw."""
        self.done += 1
        self.passed += int(score.passed)
        self.errors += int(score.error is not None)
        if not self.enabled:
            return
        end = "\n" if self.done == self.total or not sys.stderr.isatty() else "\r"
        sys.stderr.write(f"  {self.label}: {self.done}/{self.total} rollouts, {self.passed} passed, "
                         f"{self.errors} errors{' ' * 8}{end}")
        sys.stderr.flush()


async def run_rollouts(
    cases: Sequence[EvalCase], harness: Harness, config: ExperimentConfig, store: RunStore, *,
    epochs: int, clients: Clients | None = None, label: str = "run", sink: TraceSink | None = None,
    on_score: Callable[[Score], None] | None = None,
) -> tuple[list[Score], RunStats]:
    """Run every (case, epoch) not already in ``store``; return the scores of all of them.

    Rollouts run concurrently up to ``runtime.concurrency``; each is scored and appended to the store
    as soon as it finishes, so an interrupted run keeps what it finished.
    """
    clients = clients or Clients.from_config(config)
    stats = RunStats()
    results: dict[tuple[str, int], Score] = {}
    todo: list[tuple[EvalCase, int]] = []
    for case in cases:
        for epoch in range(epochs):
            done = store.done((harness.hash, clients.agent.model.id, case.id, epoch))
            if done is not None and done.error is None and not config.runtime.force:
                results[(case.id, epoch)] = done
                stats.reused += 1
            else:
                todo.append((case, epoch))
    cache = RolloutCache(Path(config.runtime.outputs), config) if config.runtime.cache else None
    progress = Progress(len(todo), label, config.runtime.progress)
    if todo:
        await asyncio.to_thread(warm_up, clients.agent.model)
    cap = concurrency_cap(clients.agent.model)
    semaphore = asyncio.Semaphore(min(config.runtime.concurrency, cap or config.runtime.concurrency))
    scripted = clients.scripted()

    prompts = prompts_dir()

    async def one(case: EvalCase, epoch: int) -> None:
        nonlocal cache
        key = cache.key(case, harness.hash, epoch) if cache else ""
        hit = cache.get(key) if cache and not config.runtime.force else None
        if hit is not None:
            store.add(*hit)
            results[(case.id, epoch)] = hit[1]
            stats.cached += 1
            progress.update(hit[1])
            return
        async with semaphore:
            rollout = f"{harness.hash}:{case.id}#{epoch}"
            with ExitStack() as stack:
                if scripted:
                    from betterharness.models.scripted import scripted as script_scope

                    stack.enter_context(script_scope(rollout, _script(case)))
                trace = await run_case(case, harness, clients.agent, config.limits, epoch=epoch, rollout=rollout,
                                       user=clients.user)
                ctx = ScoringContext(judge=partial(clients.judge.text, rollout=rollout), prompts_dir=prompts)
                score = await _score(trace, case, ctx)
            store.add(trace, score)
            if cache is not None:
                try:
                    await asyncio.to_thread(cache.put, key, trace, score)
                except OSError as exc:
                    print(f"warning: rollout cache write failed ({exc}); caching is off for this run",
                          file=sys.stderr)
                    cache = None
            if sink is not None:
                sink.send(trace, score)
            results[(case.id, epoch)] = score
            stats.ran += 1
            if score.error:
                stats.errors.append(f"{case.id}#{epoch}: {score.error}")
            progress.update(score)
            if on_score is not None:
                on_score(score)

    await asyncio.gather(*(one(case, epoch) for case, epoch in todo))
    ordered = [results[(case.id, epoch)] for case in cases for epoch in range(epochs)]
    return ordered, stats


async def _score(trace: Trace, case: EvalCase, ctx: ScoringContext) -> Score:
    try:
        score = await score_trace(trace, case, ctx)
    except Exception as exc:  # noqa: BLE001 - scoring never stops a run
        score = Score(case_id=case.id, epoch=trace.epoch, tags=case.tags, tier=case.tier, model=trace.model,
                      harness_hash=trace.harness_hash, correctness=0.0, error=f"scoring failed: {exc}")
    return score
