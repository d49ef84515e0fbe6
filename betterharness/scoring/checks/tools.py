"""Checks of the tool-call assertions: which tools, how often, with what arguments, in what order."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from betterharness.agent.trace import ToolCall, Trace
from betterharness.evals.assertions.tools import (
    CallOrder,
    MaxToolCalls,
    NoToolCalls,
    NoToolErrors,
    ParallelCalls,
    ToolCalled,
    ToolNotCalled,
)
from betterharness.evals.case import EvalCase
from betterharness.scoring.checks import checks, verdict
from betterharness.scoring.context import ScoringContext
from betterharness.scoring.score import Verdict

CALLS_SHOWN = 12


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def value_matches(expected: Any, actual: Any) -> bool:
    """Strings match case- and whitespace-insensitively, mappings by subset, lists item by item, else ==."""
    if isinstance(expected, str) and isinstance(actual, str):
        return _norm(expected) == _norm(actual)
    if isinstance(expected, dict) and isinstance(actual, dict):
        return arguments_match(expected, actual)
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(map(value_matches, expected, actual))
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    return bool(expected == actual)


def arguments_match(expected: dict[str, Any], actual: dict[str, Any]) -> bool:
    """True when every key of ``expected`` is in ``actual`` with a matching value."""
    return all(key in actual and value_matches(value, actual[key]) for key, value in expected.items())


def describe_call(call: ToolCall, limit: int = 120) -> str:
    """``name({...arguments})``, shortened."""
    args = json.dumps(call.arguments, ensure_ascii=False, default=str) if call.arguments else ""
    args = args if len(args) <= limit else args[:limit] + "…"
    return f"{call.name}({args or call.raw_arguments or ''})"


def describe_calls(calls: list[ToolCall]) -> str:
    """Every call in order (the first few), or 'no tool calls'."""
    if not calls:
        return "no tool calls"
    shown = ", ".join(describe_call(c) for c in calls[:CALLS_SHOWN])
    more = f", … {len(calls) - CALLS_SHOWN} more" if len(calls) > CALLS_SHOWN else ""
    return f"calls: {shown}{more}"


def _names(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


@checks(ToolCalled)
async def check_tool_called(spec: ToolCalled, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
    """Pass when the number of matching calls is within the bounds."""
    calls = trace.tool_calls
    named = [c for c in calls if c.name == spec.tool]
    matching = [c for c in named if arguments_match(spec.arguments, c.arguments)]
    count = len(matching)
    ok = count >= spec.min_times and (spec.max_times is None or count <= spec.max_times)
    upper = f" and at most {spec.max_times}" if spec.max_times is not None else ""
    with_args = f" with {json.dumps(spec.arguments, default=str)}" if spec.arguments else ""
    detail = (
        f"expected {spec.tool}{with_args} at least {spec.min_times}{upper} time(s); "
        f"{count} of {len(named)} {spec.tool} call(s) matched; {describe_calls(calls)}"
    )
    return verdict(spec, ok, detail)


@checks(ToolNotCalled)
async def check_tool_not_called(spec: ToolNotCalled, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
    """Fail on any call of a named tool whose arguments match."""
    names = set(_names(spec.tools))
    calls = [c for c in trace.tool_calls if c.name in names]
    bad = [c for c in calls if arguments_match(spec.arguments, c.arguments)]
    shown = ", ".join(describe_call(c) for c in bad)
    return verdict(spec, not bad, f"unexpected call(s): {shown}" if bad else "")


@checks(CallOrder)
async def check_call_order(spec: CallOrder, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
    """Pass when ``names`` is a subsequence of the call names."""
    calls = trace.tool_calls
    position = 0
    for wanted_index, wanted in enumerate(spec.names):
        while position < len(calls) and calls[position].name != wanted:
            position += 1
        if position == len(calls):
            done = " → ".join(spec.names[:wanted_index]) or "nothing"
            return verdict(spec, 
                False,
                f"expected {' → '.join(spec.names)}; matched {done}, then no {wanted} after it; "
                f"{describe_calls(calls)}",
            )
        position += 1
    return verdict(spec, True)


@checks(ParallelCalls)
async def check_parallel_calls(spec: ParallelCalls, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
    """Pass when some single step's calls include every named call."""
    wanted = Counter(spec.names)
    per_step = [Counter(c.name for c in step.tool_calls) for step in trace.steps]
    if any(not (wanted - seen) for seen in per_step):
        return verdict(spec, True)
    steps = "; ".join(
        f"step {i}: {', '.join(c.name for c in step.tool_calls)}"
        for i, step in enumerate(trace.steps) if step.tool_calls
    )
    return verdict(spec, False, f"expected {spec.names} in one step; saw {steps or 'no tool calls'}")


@checks(NoToolCalls)
async def check_no_tool_calls(spec: NoToolCalls, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
    """Pass when having made no calls matches ``value``."""
    calls = trace.tool_calls
    expected = "no tool calls" if spec.value else "at least one tool call"
    return verdict(spec, (not calls) == spec.value, f"expected {expected}; {describe_calls(calls)}")


@checks(MaxToolCalls)
async def check_max_tool_calls(spec: MaxToolCalls, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
    """Pass when the count of (named) calls is at most ``n``."""
    calls = [c for c in trace.tool_calls if spec.tool is None or c.name == spec.tool]
    what = f"{spec.tool} calls" if spec.tool else "tool calls"
    return verdict(spec, len(calls) <= spec.n, f"expected at most {spec.n} {what}, made {len(calls)}; "
                                              f"{describe_calls(calls)}")


@checks(NoToolErrors)
async def check_no_tool_errors(spec: NoToolErrors, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
    """Fail on any tool result with ``error`` set."""
    errors = [r for step in trace.steps for r in step.tool_results if r.error]
    shown = "; ".join(f"{r.name}: {r.content[:120]!r}" for r in errors[:5])
    return verdict(spec, not errors, f"{len(errors)} tool error(s): {shown}" if errors else "")
