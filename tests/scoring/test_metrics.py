from __future__ import annotations

from typing import ClassVar

import pytest
from scoring_builders import build_case, build_trace

from betterharness.agent.trace import Annotation, Trace, Usage
from betterharness.evals.assertions import Assertion
from betterharness.evals.case import EvalCase
from betterharness.scoring.checks import checks
from betterharness.scoring.context import ScoringContext
from betterharness.scoring.metrics import score_trace, tool_call_ratio
from betterharness.scoring.score import Score, Verdict

THREE_STEPS = [[("search", {"q": "a"})], [("email", {"to": "b"})]]  # + the final text step = 3 steps, 2 calls


class Exploding(Assertion):
    """Raises instead of judging."""

    name: ClassVar[str] = "exploding"


@checks(Exploding)
async def check_exploding(spec: Exploding, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
    raise KeyError("boom")


async def score(trace: Trace, case: EvalCase, fastest: float | None = None) -> Score:
    return await score_trace(trace, case, ScoringContext(), ideal_latency_s=fastest)


async def test_correct_rollout_metrics() -> None:
    usage = Usage(prompt_tokens=100, completion_tokens=20, total_tokens=120, cost_usd=0.5)
    trace = build_trace(THREE_STEPS, final_text="done", wall_s=4.0, usage=usage)
    case = build_case(success=[{"final_text_contains": "done"}], ideal={"steps": 2, "tool_calls": 1},
                      tags=["tool_use", "retrieval"])
    result = await score(trace, case)
    assert result.correctness == 1.0 and result.passed
    assert (result.case_id, result.tags, result.tier, result.model, result.harness_hash) == (
        "c1", ["tool_use", "retrieval"], "hillclimb", "m", "h")
    assert (result.steps, result.tool_calls, result.wall_s) == (3, 2, 4.0)
    assert (result.ideal_steps, result.ideal_tool_calls) == (2, 1)
    assert result.step_ratio == 1.5
    assert result.tool_call_ratio == 2.0
    assert result.solve_rate == 0.5
    assert result.latency_ratio is None and result.ideal_latency_s is None
    assert (result.prompt_tokens, result.completion_tokens, result.total_tokens, result.cost_usd) == (
        100, 20, 120, 0.5)
    assert result.error is None and result.stop_reason == "final"
    assert [v.passed for v in result.verdicts] == [True]


async def test_incorrect_rollout_has_zero_solve_rate_but_keeps_ratios() -> None:
    trace = build_trace(THREE_STEPS, final_text="nope", wall_s=4.0)
    case = build_case(success=[{"final_text_contains": "done"}, {"tool_called": {"name": "email"}}])
    result = await score(trace, case)
    assert result.correctness == 0.0
    assert result.solve_rate == 0.0
    assert result.step_ratio == 1.5
    assert [(v.assertion, v.passed) for v in result.verdicts] == [
        ("final_text_contains", False), ("tool_called", True)]


@pytest.mark.parametrize(("observed", "ideal", "ratio"), [(0, 0, 1.0), (2, 0, 3.0), (1, 2, 0.5), (3, 1, 3.0)])
def test_tool_call_ratio_rule(observed: int, ideal: int, ratio: float) -> None:
    assert tool_call_ratio(observed, ideal) == ratio


async def test_ideal_of_zero_tool_calls() -> None:
    case = build_case(ideal={"steps": 1, "tool_calls": 0})
    none = await score(build_trace(final_text="done", wall_s=1.0), case)
    two = await score(build_trace(THREE_STEPS, final_text="done", wall_s=1.0), case)
    assert (none.tool_call_ratio, none.step_ratio) == (1.0, 1.0)
    assert (two.tool_call_ratio, two.step_ratio) == (3.0, 3.0)


@pytest.mark.parametrize(
    ("declared", "fastest", "ideal_latency", "ratio"),
    [(2.0, None, 2.0, 2.0), (None, 1.6, 1.6, 2.5), (2.0, 1.6, 2.0, 2.0), (None, None, None, None),
     (None, 0.0, None, None)],
)
async def test_latency_ratio_prefers_declared_ideal(
    declared: float | None, fastest: float | None, ideal_latency: float | None, ratio: float | None
) -> None:
    ideal = {"steps": 2, "tool_calls": 1} | ({"latency_s": declared} if declared else {})
    trace = build_trace(THREE_STEPS, final_text="done", wall_s=4.0)
    result = await score(trace, build_case(ideal=ideal), fastest)
    assert result.ideal_latency_s == ideal_latency
    assert result.latency_ratio == ratio


async def test_unmeasured_wall_time_gives_no_time_metrics() -> None:
    case = build_case(ideal={"steps": 2, "tool_calls": 1, "latency_s": 2.0})
    result = await score(build_trace(THREE_STEPS, final_text="done", wall_s=0.0), case)
    assert result.solve_rate is None
    assert result.latency_ratio is None
    assert result.correctness == 1.0


async def test_errored_trace_is_incorrect_but_still_checked() -> None:
    trace = build_trace(THREE_STEPS, final_text="done", wall_s=2.0, error="RateLimitError: slow down")
    trace.stop_reason = "error"
    result = await score(trace, build_case())
    assert result.correctness == 0.0
    assert result.error == "RateLimitError: slow down"
    assert result.stop_reason == "error"
    assert [v.passed for v in result.verdicts] == [True]
    assert result.solve_rate == 0.0


async def test_infrastructure_error_kind_marks_the_score_errored() -> None:
    trace = build_trace(final_text="done", wall_s=2.0, error="connection refused")
    trace.stop_reason, trace.error_kind = "error", "connection"
    result = await score(trace, build_case())
    assert (result.error_kind, result.errored) == ("connection", True)
    timeout = build_trace(final_text="done", wall_s=2.0, error="wall-time cap of 1s reached")
    timeout.stop_reason = "timeout"
    assert (await score(timeout, build_case())).errored is False


async def test_a_case_defect_fails_a_rollout_whose_assertions_hold() -> None:
    trace = build_trace(final_text="done", wall_s=1.0)
    trace.annotations.append(Annotation(kind="case_defect", data={"problem": "lookup has no result for {}."}))
    result = await score(trace, build_case())
    assert result.correctness == 0.0 and not result.errored
    assert [v.assertion for v in result.verdicts if not v.passed] == ["case"]
    assert "lookup has no result" in result.verdicts[-1].detail and "default:" in result.verdicts[-1].detail


async def test_a_raising_assertion_becomes_a_failed_verdict() -> None:
    case = build_case().model_copy(update={"success": [Exploding(), *build_case().success]})
    result = await score(build_trace(final_text="done", wall_s=1.0), case)
    assert result.correctness == 0.0
    assert result.verdicts[0] == Verdict(assertion="exploding", passed=False,
                                         detail="assertion raised KeyError: 'boom'")
    assert result.verdicts[1].passed is True


async def test_judge_annotations_and_usage_flow_through_scoring() -> None:
    async def judge(messages: list[dict[str, str]]) -> tuple[str, Usage]:
        return '{"verdict": "pass", "rationale": "ok"}', Usage(total_tokens=7)

    ctx = ScoringContext(judge=judge)
    trace = build_trace(final_text="done", wall_s=1.0, usage=Usage(total_tokens=50))
    result = await score_trace(trace, build_case(success=[{"llm_judge": ["x", "y"]}]), ctx)
    assert result.correctness == 1.0
    assert result.total_tokens == 50
    assert ctx.usage.total_tokens == 14
    assert [a.data["criterion"] for a in trace.annotations] == ["x", "y"]
