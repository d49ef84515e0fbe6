from __future__ import annotations

import pytest

from betterharness.scoring.aggregate import (
    Summary,
    aggregate,
    fastest_correct,
    pass_at_k,
    pass_hat_k,
    wilson_interval,
)
from betterharness.scoring.score import Score


def rollout(case_id: str, tags: list[str], epoch: int, correct: bool, steps: int, calls: int, wall_s: float,
            ideal: tuple[int, int], **extra: object) -> Score:
    ideal_steps, ideal_calls = ideal
    return Score(case_id=case_id, epoch=epoch, tags=tags, tier="hillclimb", model="m", harness_hash="h",
                 correctness=1.0 if correct else 0.0, steps=steps, tool_calls=calls, wall_s=wall_s,
                 ideal_steps=ideal_steps, ideal_tool_calls=ideal_calls, total_tokens=10,
                 solve_rate=(ideal_steps / wall_s if correct else 0.0) if wall_s else None, **extra)


# A: tool_use, 2 of 3 correct.  B: tool_use + memory, 3 of 3, ideal of 0 calls.  C: memory, 0 of 3.
SCORES = [
    rollout("A", ["tool_use"], 0, True, 3, 1, 2.0, (2, 1), latency_ratio=1.0, cost_usd=0.01),
    rollout("A", ["tool_use"], 1, True, 2, 1, 4.0, (2, 1), latency_ratio=2.0, cost_usd=0.01),
    rollout("A", ["tool_use"], 2, False, 2, 2, 6.0, (2, 1), latency_ratio=3.0, cost_usd=0.01),
    rollout("B", ["tool_use", "memory"], 0, True, 1, 0, 1.0, (1, 0)),
    rollout("B", ["tool_use", "memory"], 1, True, 1, 0, 1.0, (1, 0)),
    rollout("B", ["tool_use", "memory"], 2, True, 2, 1, 1.0, (1, 0)),
    rollout("C", ["memory"], 0, False, 5, 2, 3.0, (4, 2)),
    rollout("C", ["memory"], 1, False, 5, 2, 3.0, (4, 2), error="timeout"),
    rollout("C", ["memory"], 2, False, 6, 3, 3.0, (4, 2)),
]


def test_overall_summary_by_hand() -> None:
    overall = aggregate(SCORES).overall
    assert (overall.cases, overall.rollouts, overall.epochs, overall.k) == (3, 9, 3, 3)
    assert overall.correctness == pytest.approx(5 / 9)
    assert overall.correctness_ci == pytest.approx((0.1507113, 0.8980113))
    assert overall.pass_at_k == pytest.approx(2 / 3)  # A and B passed at least once
    assert overall.pass_hat_k == pytest.approx(1 / 3)  # only B passed every time
    assert overall.step_ratio == pytest.approx(27 / 21)  # (7 + 4 + 16) / (6 + 3 + 12)
    assert overall.tool_call_ratio == pytest.approx(15 / 12)  # (4 + (1+1+2) + 7) / (3 + 3 + 6)
    assert overall.latency_ratio == pytest.approx(2.0)
    assert overall.solve_rate == pytest.approx((1.0 + 0.5 + 0 + 1 + 1 + 1 + 0 + 0 + 0) / 9)
    assert overall.mean_steps == pytest.approx(3.0)
    assert overall.mean_tool_calls == pytest.approx(12 / 9)
    assert overall.mean_wall_s == pytest.approx(24 / 9)
    assert overall.total_tokens == 90
    assert overall.cost_usd == pytest.approx(0.03)
    assert overall.errors == 0  # C's timeout is the agent's doing: scored as a failure, not errored


def test_per_tag_summaries_by_hand() -> None:
    per_tag = aggregate(SCORES).per_tag
    assert list(per_tag) == ["memory", "tool_use"]
    tool_use, memory = per_tag["tool_use"], per_tag["memory"]
    assert (tool_use.cases, tool_use.rollouts, tool_use.k) == (2, 6, 3)
    assert tool_use.correctness == pytest.approx(5 / 6)
    assert tool_use.correctness_ci == pytest.approx(wilson_interval(5 / 6, 2))
    assert (tool_use.pass_at_k, tool_use.pass_hat_k) == pytest.approx((1.0, 0.5))
    assert tool_use.step_ratio == pytest.approx(11 / 9)
    assert tool_use.tool_call_ratio == pytest.approx(8 / 6)
    assert tool_use.latency_ratio == pytest.approx(2.0)
    assert tool_use.cost_usd == pytest.approx(0.03)
    assert tool_use.errors == 0
    assert (memory.cases, memory.rollouts) == (2, 6)
    assert memory.correctness == pytest.approx(0.5)
    assert (memory.pass_at_k, memory.pass_hat_k) == pytest.approx((0.5, 0.5))
    assert memory.step_ratio == pytest.approx(20 / 15)
    assert memory.tool_call_ratio == pytest.approx(11 / 9)
    assert memory.latency_ratio is None
    assert memory.cost_usd is None
    assert memory.errors == 0  # a timeout is scored


@pytest.mark.parametrize(
    ("n", "c", "k", "at", "hat"),
    [(3, 2, 3, 1.0, 0.0), (3, 3, 3, 1.0, 1.0), (3, 0, 3, 0.0, 0.0), (5, 2, 3, 0.9, 0.0), (5, 4, 3, 1.0, 0.4),
     (4, 2, 1, 0.5, 0.5), (4, 1, 2, 0.5, 0.0)],
)
def test_unbiased_pass_estimators(n: int, c: int, k: int, at: float, hat: float) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(at)
    assert pass_hat_k(n, c, k) == pytest.approx(hat)


def test_errored_rollouts_are_counted_not_scored() -> None:
    connection = {"error": "could not connect", "error_kind": "connection"}
    scores = [
        rollout("A", ["t"], 0, True, 1, 0, 1.0, (1, 0)),
        rollout("A", ["t"], 1, False, 1, 0, 9.0, (1, 0), **connection),
        rollout("A", ["t"], 2, False, 1, 0, 1.0, (1, 0)),
        rollout("B", ["t"], 0, False, 1, 0, 9.0, (1, 0), error="key refused", error_kind="auth"),
        rollout("B", ["t"], 1, False, 1, 0, 9.0, (1, 0), **connection),
        rollout("C", ["t"], 0, True, 1, 0, 1.0, (1, 0)),
        rollout("C", ["t"], 1, True, 1, 0, 1.0, (1, 0)),
    ]
    overall = aggregate(scores).overall
    assert (overall.cases, overall.rollouts, overall.errors, overall.unscored_cases) == (3, 7, 3, 1)
    assert overall.correctness == pytest.approx(3 / 4)  # A0, A2, C0, C1
    assert overall.correctness_ci == pytest.approx(wilson_interval(0.75, 2))  # case means 0.5 and 1.0
    assert overall.k == 2  # A and C have 2 scored rollouts each
    assert (overall.pass_at_k, overall.pass_hat_k) == pytest.approx((1.0, 0.5))
    assert overall.mean_wall_s == pytest.approx(1.0)  # the errored 9 s rollouts are left out
    assert overall.total_tokens == 70  # what was spent counts, scored or not


def test_nothing_scored_is_no_correctness() -> None:
    down = rollout("A", ["t"], 0, False, 0, 0, 0.0, (1, 0), error="down", error_kind="connection")
    overall = aggregate([down]).overall
    assert (overall.correctness, overall.errors, overall.unscored_cases) == (None, 1, 1)


def test_k_is_the_smallest_rollout_count() -> None:
    scores = [
        rollout("A", ["t"], 0, True, 1, 0, 1.0, (1, 0)),
        rollout("A", ["t"], 1, False, 1, 0, 1.0, (1, 0)),
        rollout("A", ["t"], 2, False, 1, 0, 1.0, (1, 0)),
        rollout("B", ["t"], 0, True, 1, 0, 1.0, (1, 0)),
        rollout("B", ["t"], 1, True, 1, 0, 1.0, (1, 0)),
    ]
    overall = aggregate(scores).overall
    assert (overall.epochs, overall.k) == (3, 2)
    # A: n=3, c=1 -> pass@2 = 1 - C(2,2)/C(3,2) = 2/3, pass^2 = 0; B: n=2, c=2 -> 1, 1
    assert overall.pass_at_k == pytest.approx((2 / 3 + 1) / 2)
    assert overall.pass_hat_k == pytest.approx(0.5)


def test_wilson_interval_edges() -> None:
    assert wilson_interval(0.5, 0) == (0.0, 1.0)
    low, high = wilson_interval(1.0, 10)
    assert low == pytest.approx(0.7224672) and high == pytest.approx(1.0)
    assert wilson_interval(0.0, 10) == pytest.approx((0.0, 0.2775328))


def test_ratios_are_none_without_ideals() -> None:
    bare = Score(case_id="x", tags=["t"], tier="hillclimb", model="m", harness_hash="h", correctness=1.0,
                 steps=2, tool_calls=1)
    summary = aggregate([bare]).overall
    assert (summary.step_ratio, summary.tool_call_ratio, summary.latency_ratio, summary.solve_rate) == (
        None, None, None, None)
    assert (summary.pass_at_k, summary.pass_hat_k, summary.k) == (1.0, 1.0, 1)


def test_empty_input() -> None:
    metrics = aggregate([])
    assert metrics.overall == Summary()
    assert metrics.per_tag == {}


def test_fastest_correct() -> None:
    extra = rollout("D", ["t"], 0, True, 1, 0, 0.0, (1, 0))  # unmeasured wall time is ignored
    assert fastest_correct([*SCORES, extra]) == {"A": 2.0, "B": 1.0}
