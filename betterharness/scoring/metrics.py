"""Score one rollout: run every success assertion, then compute the metrics of DESIGN.md.

- ``correctness``: 1.0 when every assertion passes and the trace has no error, else 0.0. Assertions run
  even on an errored trace (their verdicts help diagnosis); the error is copied to ``Score.error``.
- A *step* is one model response with the tool results it triggered: ``steps = len(trace.steps)``.
- ``step_ratio = steps / ideal.steps``.
- ``tool_call_ratio = tool_calls / ideal.tool_calls``; when the ideal is 0 it is
  ``(tool_calls + 1) / (0 + 1) = 1 + tool_calls``, so 1.0 still means "as few as the ideal" and every
  needless call costs the same +1 it would against an ideal of one call.
- ``latency_ratio = wall_s / ideal latency``; the ideal latency is ``case.ideal.latency_s`` when the case
  declares it, else the ``ideal_latency_s`` argument (the fastest correct rollout recorded for this case
  and model, see ``aggregate.fastest_correct``), else None. None too when ``wall_s`` was not measured (0).
- ``solve_rate = ideal.steps / wall_s`` (ideal steps per second) when correct, else 0; None when
  ``wall_s`` is 0.
- Tokens and cost are the agent role's (``trace.usage``); judge usage is not counted here.

- A rollout in which the case itself was at fault (a mock tool with no response for a call, or whose
  template failed: a ``case_defect`` annotation) gets one more, failed, Verdict ``case`` naming the fault,
  so it cannot pass on a tool error the case author never meant.
- ``error_kind`` says whose fault an error is: the trace's kind, or ``judge`` when a judge call failed;
  an infrastructure kind (``errors.is_infrastructure``) keeps the rollout out of correctness.

Scoring never raises: an assertion that raises becomes a failed Verdict naming the exception.
"""

from __future__ import annotations

import asyncio

from betterharness.agent.trace import Trace
from betterharness.evals.assertions import Assertion
from betterharness.evals.case import EvalCase
from betterharness.scoring.checks import check, verdict
from betterharness.scoring.context import ScoringContext
from betterharness.scoring.score import Score, Verdict


async def run_assertion(item: Assertion, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
    """The check of ``item`` with any exception turned into a failed Verdict."""
    try:
        return await check(item, trace, case, ctx)
    except Exception as exc:  # one broken assertion must not stop scoring
        return verdict(item, False, f"assertion raised {type(exc).__name__}: {exc}")


def tool_call_ratio(observed: int, ideal: int) -> float:
    """observed / ideal, or ``1 + observed`` when the ideal is no calls at all."""
    return observed / ideal if ideal > 0 else 1.0 + observed


def _defects(trace: Trace) -> list[Verdict]:
    problems = [str(note.data.get("problem")) for note in trace.annotations if note.kind == "case_defect"]
    if not problems:
        return []
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return [Verdict(assertion="case", passed=False,
                    detail=f"the case's mock tool answered an error it does not define: {problems[0]}{more}; "
                           "add a `when:` response for such arguments or a `default:` one")]


def _judge_failure(trace: Trace) -> str | None:
    """The first judge call that failed for a reason outside the agent (so the rollout is retried)."""
    for note in trace.annotations:
        error = note.data.get("error") if note.kind == "judge" else None
        if error and not str(error).startswith("unreadable"):
            return str(error)
    return None


async def score_trace(
    trace: Trace, case: EvalCase, ctx: ScoringContext, ideal_latency_s: float | None = None
) -> Score:
    """The Score of one rollout of ``case``; see the module docstring for every formula."""
    verdicts = list(await asyncio.gather(*(run_assertion(a, trace, case, ctx) for a in case.success)))
    verdicts += _defects(trace)
    correct = trace.error is None and all(v.passed for v in verdicts)
    judge_failure = None if trace.error else _judge_failure(trace)
    steps = len(trace.steps)
    calls = len(trace.tool_calls)
    ideal = case.ideal
    latency = ideal.latency_s if ideal.latency_s is not None else ideal_latency_s
    if latency is not None and latency <= 0:
        latency = None
    measured = trace.wall_s > 0
    return Score(
        case_id=case.id,
        epoch=trace.epoch,
        tags=list(case.tags),
        tier=case.tier,
        model=trace.model,
        harness_hash=trace.harness_hash,
        correctness=1.0 if correct else 0.0,
        verdicts=verdicts,
        steps=steps,
        tool_calls=calls,
        wall_s=trace.wall_s,
        ideal_steps=ideal.steps,
        ideal_tool_calls=ideal.tool_calls,
        ideal_latency_s=latency,
        step_ratio=steps / ideal.steps,
        tool_call_ratio=tool_call_ratio(calls, ideal.tool_calls),
        latency_ratio=trace.wall_s / latency if latency is not None and measured else None,
        solve_rate=(ideal.steps / trace.wall_s if correct else 0.0) if measured else None,
        prompt_tokens=trace.usage.prompt_tokens,
        completion_tokens=trace.usage.completion_tokens,
        total_tokens=trace.usage.total_tokens,
        cost_usd=trace.usage.cost_usd,
        aux_cost_usd=trace.aux_usage.cost_usd,
        error=trace.error or judge_failure,
        error_kind=trace.error_kind if trace.error else ("judge" if judge_failure else None),
        stop_reason=trace.stop_reason,
    )
