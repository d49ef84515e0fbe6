"""The optimizer's one way to evaluation: a harness version, cases and epochs in; scores and traces out.

In the spirit of GEPA's adapter, the loop never runs rollouts itself: it asks an Evaluator, which may
never raise for a failing case (a failure is a score of 0 with the error in its trace). ``RunEvaluator``
is the implementation over the runner and one run folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from betterharness.agent.trace import Trace
from betterharness.config.schema import ExperimentConfig
from betterharness.evals.case import EvalCase
from betterharness.harness.templates import Harness
from betterharness.runner import Budget, BudgetExceeded, Clients, Sink, pending, run_rollouts
from betterharness.scoring.score import Score
from betterharness.store.rollouts import RolloutKey, RolloutStore


@dataclass
class Evaluation:
    """The scores of every (case, epoch), and the traces of the failing ones when asked for."""

    scores: list[Score]
    failing_traces: dict[tuple[str, int], Trace] = field(default_factory=dict)


class Evaluator(Protocol):
    """Evaluates harness versions on cases; rollouts already finished are never paid for twice.

    ``evaluate`` raises BudgetExceeded *before* spending when the rollouts it still needs would pass a
    cap; it never raises for a failing case.
    """

    async def evaluate(self, harness: Harness, cases: Sequence[EvalCase], epochs: int, *, label: str,
                       capture_traces: bool = False) -> Evaluation:
        """Scores of ``harness`` on ``cases`` × ``epochs``; with ``capture_traces``, the failing traces too."""
        ...


class RunEvaluator:
    """An Evaluator that runs rollouts with the runner into one run folder's rollout store."""

    def __init__(self, config: ExperimentConfig, rollouts: RolloutStore, clients: Clients, budget: Budget,
                 sinks: Sequence[Sink] = ()) -> None:
        self.config = config
        self.rollouts = rollouts
        self.clients = clients
        self.budget = budget
        self.sinks = list(sinks)

    def pending(self, harness: Harness, cases: Sequence[EvalCase], epochs: int) -> int:
        """Rollouts of the evaluation not yet in the store."""
        return len(pending(cases, harness, self.clients.agent.model.id, self.rollouts, epochs,
                           self.config.runtime.force))

    async def evaluate(self, harness: Harness, cases: Sequence[EvalCase], epochs: int, *, label: str,
                       capture_traces: bool = False) -> Evaluation:
        """Run what is missing (if the budget allows all of it), then return every score."""
        if not cases:
            return Evaluation([])
        needed = self.pending(harness, cases, epochs)
        if needed and (why := self.budget.refusal(needed)) is not None:
            raise BudgetExceeded(why)
        scores, _ = await run_rollouts(cases, harness, self.config, self.rollouts, epochs=epochs,
                                       clients=self.clients, label=label, sinks=self.sinks, budget=self.budget)
        traces = {}
        if capture_traces:
            for score in scores:
                trace = None if score.passed else self.rollouts.trace(RolloutKey.of(score))
                if trace is not None:
                    traces[(score.case_id, score.epoch)] = trace
        return Evaluation(scores, traces)
