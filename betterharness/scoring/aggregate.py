"""Roll per-rollout Scores up into summaries, overall and per tag (a case counts in every tag it has).

Pass a list of Scores from one harness × model; rollouts of the same case (epochs) are grouped by case id.

A rollout that infrastructure ended (``Score.errored``: a model or judge call failed, a crash of ours) says
nothing about the agent. It is counted in ``rollouts`` and ``errors`` and left out of every other figure;
a case none of whose rollouts was scored is counted in ``cases`` and ``unscored_cases`` only. With no
scored rollout at all, ``correctness`` is None, never 0.

- ``correctness``: mean over scored rollouts.
- ``correctness_ci``: a 95% Wilson score interval on the mean of the per-case correctness, with n = the
  number of scored cases. Cases, not rollouts, are the independent units (epochs of one case are correlated), and
  a case mean varies no more than a single pass/fail would, so the interval is conservative. Unlike a
  bootstrap it is deterministic, and it never collapses to zero width at 0% or 100%.
- ``pass_at_k`` / ``pass_hat_k``: the unbiased estimators from n rollouts of a case with c correct,
  ``1 − C(n−c, k)/C(n, k)`` and ``C(c, k)/C(n, k)``, averaged over cases. ``k`` is the smallest scored
  rollout count of any scored case in the whole input (the epochs, when every rollout finished), the same k for the
  overall and every per-tag summary. With n = k they are "passed at least once" and "passed every time".
- ``step_ratio``: micro-average as LangChain's reporter does, Σ steps / Σ ideal steps over rollouts that
  declare ideal steps.
- ``tool_call_ratio``: the same micro-average, Σ observed / Σ ideal, except that a rollout whose ideal is
  0 calls adds (observed + 1) / (0 + 1) — it contributes observed + 1 to the numerator and 1 to the
  denominator. It is then 1.0 when every rollout matched its ideal, and never divides by zero.
- ``latency_ratio`` and ``solve_rate``: means over the rollouts that have one.
- ``cost_usd``: the sum of known costs, None when no rollout reported a cost.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from statistics import fmean

from pydantic import BaseModel, Field

from betterharness.scoring.score import Score

Z_95 = 1.959963984540054


class Summary(BaseModel):
    """Aggregate metrics over a set of rollouts (all cases, or the cases of one tag)."""

    cases: int = 0
    rollouts: int = 0
    epochs: int = Field(default=0, description="Most rollouts recorded for any one case.")
    k: int = Field(default=0, description="The k of pass@k and pass^k.")
    correctness: float | None = Field(default=None, description="None when no rollout was scored.")
    correctness_ci: tuple[float, float] = (0.0, 1.0)
    pass_at_k: float = 0.0
    pass_hat_k: float = 0.0
    step_ratio: float | None = None
    tool_call_ratio: float | None = None
    latency_ratio: float | None = None
    solve_rate: float | None = None
    mean_steps: float = 0.0
    mean_tool_calls: float = 0.0
    mean_wall_s: float = 0.0
    total_tokens: int = 0
    cost_usd: float | None = None
    errors: int = Field(default=0, description="Rollouts infrastructure ended: counted, not scored.")
    unscored_cases: int = Field(default=0, description="Cases with no scored rollout (every one errored).")


class Metrics(BaseModel):
    """The overall summary and one summary per tag."""

    overall: Summary
    per_tag: dict[str, Summary] = Field(default_factory=dict)


def wilson_interval(p: float, n: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval for a proportion ``p`` observed over ``n`` units; (0, 1) when n is 0."""
    if n <= 0:
        return (0.0, 1.0)
    denominator = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return (max(0.0, center - half), min(1.0, center + half))


def pass_at_k(n: int, c: int, k: int) -> float:
    """Chance that at least one of k rollouts drawn from n (c correct) passes."""
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def pass_hat_k(n: int, c: int, k: int) -> float:
    """Chance that all k rollouts drawn from n (c correct) pass."""
    return math.comb(c, k) / math.comb(n, k)


def _by_case(scores: list[Score]) -> dict[str, list[Score]]:
    groups: dict[str, list[Score]] = defaultdict(list)
    for score in scores:
        groups[score.case_id].append(score)
    return groups


def _mean_or_none(values: list[float]) -> float | None:
    return fmean(values) if values else None


def summarize(scores: list[Score], k: int) -> Summary:
    """The Summary of ``scores`` with pass@k and pass^k at ``k``."""
    if not scores:
        return Summary()
    every = _by_case(scores)
    scored = [s for s in scores if not s.errored]
    base = Summary(cases=len(every), rollouts=len(scores), errors=len(scores) - len(scored),
                   epochs=max(len(group) for group in every.values()), k=k,
                   total_tokens=sum(s.total_tokens for s in scores), cost_usd=_known_cost(scores))
    base.unscored_cases = len(every) - len(_by_case(scored))
    if not scored:
        return base
    groups = _by_case(scored)
    case_means = [fmean(s.correctness for s in group) for group in groups.values()]
    counts = [(len(group), sum(s.passed for s in group)) for group in groups.values()]
    with_steps = [s for s in scored if s.ideal_steps is not None]
    with_calls = [s for s in scored if s.ideal_tool_calls is not None]
    call_num = sum(s.tool_calls + (s.ideal_tool_calls == 0) for s in with_calls)
    call_den = sum((s.ideal_tool_calls or 0) + (s.ideal_tool_calls == 0) for s in with_calls)
    step_den = sum(s.ideal_steps or 0 for s in with_steps)
    k = min(k, *(n for n, _ in counts))
    return base.model_copy(update=dict(
        k=k,
        correctness=fmean(s.correctness for s in scored),
        correctness_ci=wilson_interval(fmean(case_means), len(case_means)),
        pass_at_k=fmean(pass_at_k(n, c, k) for n, c in counts) if k else 0.0,
        pass_hat_k=fmean(pass_hat_k(n, c, k) for n, c in counts) if k else 0.0,
        step_ratio=sum(s.steps for s in with_steps) / step_den if step_den else None,
        tool_call_ratio=call_num / call_den if call_den else None,
        latency_ratio=_mean_or_none([s.latency_ratio for s in scored if s.latency_ratio is not None]),
        solve_rate=_mean_or_none([s.solve_rate for s in scored if s.solve_rate is not None]),
        mean_steps=fmean(s.steps for s in scored),
        mean_tool_calls=fmean(s.tool_calls for s in scored),
        mean_wall_s=fmean(s.wall_s for s in scored),
    ))


def _known_cost(scores: list[Score]) -> float | None:
    costs = [s.cost_usd for s in scores if s.cost_usd is not None]
    return sum(costs) if costs else None


def aggregate(scores: list[Score]) -> Metrics:
    """Overall and per-tag summaries of ``scores`` (see the module docstring for every formula)."""
    groups = _by_case(scores)
    k = min((len(group) for group in _by_case([s for s in scores if not s.errored]).values()), default=0)
    per_tag: dict[str, list[Score]] = defaultdict(list)
    for group in groups.values():
        for tag in group[0].tags:
            per_tag[tag].extend(group)
    return Metrics(
        overall=summarize(scores, k),
        per_tag={tag: summarize(per_tag[tag], k) for tag in sorted(per_tag)},
    )


def mean_correctness(scores: Sequence[Score]) -> float:
    """Mean correctness over the scored (not errored) rollouts of ``scores``; 0.0 when there are none."""
    scored = [s.correctness for s in scores if not s.errored]
    return fmean(scored) if scored else 0.0


def fastest_correct(scores: list[Score]) -> dict[str, float]:
    """Case id → the shortest measured wall time among its correct rollouts (the fallback ideal latency)."""
    fastest: dict[str, float] = {}
    for score in scores:
        if score.passed and score.wall_s > 0:
            fastest[score.case_id] = min(score.wall_s, fastest.get(score.case_id, math.inf))
    return fastest
