"""The built-in success assertions on tool calls: which, how often, with what arguments, in what order."""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import ConfigDict, Field, model_validator

from betterharness.scoring.registry import Assertion, Verdict, assertion

if TYPE_CHECKING:
    from betterharness.evals.case import EvalCase
    from betterharness.scoring.context import ScoringContext
    from betterharness.trace import ToolCall, Trace

Names = str | Annotated[list[str], Field(min_length=1)]
"""One tool name or a non-empty list of them."""

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


@assertion("tool_called")
class ToolCalled(Assertion):
    """A tool was called (with arguments matching a subset) between min_times and max_times times."""

    # the YAML key is `name`, but `name` is the registry's ClassVar holding "tool_called"
    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)
    tool: str = Field(alias="name", description="The tool's name.")
    arguments: dict[str, Any] = Field(
        default_factory=dict, description="Subset to match; strings case- and whitespace-insensitive."
    )
    min_times: int = Field(default=1, ge=0)
    max_times: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _bounds(self) -> ToolCalled:
        if self.max_times is not None and self.max_times < self.min_times:
            raise ValueError(f"max_times ({self.max_times}) is below min_times ({self.min_times})")
        return self

    async def check(self, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
        """Pass when the number of matching calls is within the bounds."""
        calls = trace.tool_calls
        named = [c for c in calls if c.name == self.tool]
        matching = [c for c in named if arguments_match(self.arguments, c.arguments)]
        count = len(matching)
        ok = count >= self.min_times and (self.max_times is None or count <= self.max_times)
        upper = f" and at most {self.max_times}" if self.max_times is not None else ""
        with_args = f" with {json.dumps(self.arguments, default=str)}" if self.arguments else ""
        detail = (
            f"expected {self.tool}{with_args} at least {self.min_times}{upper} time(s); "
            f"{count} of {len(named)} {self.tool} call(s) matched; {describe_calls(calls)}"
        )
        return self.verdict(ok, detail)


@assertion("tool_not_called")
class ToolNotCalled(Assertion):
    """None of the named tools was called (only calls matching ``arguments`` count, when given)."""

    shorthand: ClassVar[str | None] = "tools"
    tools: Names
    arguments: dict[str, Any] = Field(default_factory=dict)

    async def check(self, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
        """Fail on any call of a named tool whose arguments match."""
        names = set(_names(self.tools))
        calls = [c for c in trace.tool_calls if c.name in names]
        bad = [c for c in calls if arguments_match(self.arguments, c.arguments)]
        shown = ", ".join(describe_call(c) for c in bad)
        return self.verdict(not bad, f"unexpected call(s): {shown}" if bad else "")


@assertion("call_order")
class CallOrder(Assertion):
    """The named tools were called in this order (other calls may come between)."""

    shorthand: ClassVar[str | None] = "names"
    names: list[str] = Field(min_length=1)

    async def check(self, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
        """Pass when ``names`` is a subsequence of the call names."""
        calls = trace.tool_calls
        position = 0
        for wanted_index, wanted in enumerate(self.names):
            while position < len(calls) and calls[position].name != wanted:
                position += 1
            if position == len(calls):
                done = " → ".join(self.names[:wanted_index]) or "nothing"
                return self.verdict(
                    False,
                    f"expected {' → '.join(self.names)}; matched {done}, then no {wanted} after it; "
                    f"{describe_calls(calls)}",
                )
            position += 1
        return self.verdict(True)


@assertion("parallel_calls")
class ParallelCalls(Assertion):
    """All the named tools were called within one step (repeat a name to require several calls of it)."""

    shorthand: ClassVar[str | None] = "names"
    names: list[str] = Field(min_length=2)

    async def check(self, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
        """Pass when some single step's calls include every named call."""
        wanted = Counter(self.names)
        per_step = [Counter(c.name for c in step.tool_calls) for step in trace.steps]
        if any(not (wanted - seen) for seen in per_step):
            return self.verdict(True)
        steps = "; ".join(
            f"step {i}: {', '.join(c.name for c in step.tool_calls)}"
            for i, step in enumerate(trace.steps) if step.tool_calls
        )
        return self.verdict(False, f"expected {self.names} in one step; saw {steps or 'no tool calls'}")


@assertion("no_tool_calls")
class NoToolCalls(Assertion):
    """The agent made no tool call (or, with false, at least one)."""

    shorthand: ClassVar[str | None] = "value"
    value: bool = True

    async def check(self, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
        """Pass when having made no calls matches ``value``."""
        calls = trace.tool_calls
        expected = "no tool calls" if self.value else "at least one tool call"
        return self.verdict((not calls) == self.value, f"expected {expected}; {describe_calls(calls)}")


@assertion("max_tool_calls")
class MaxToolCalls(Assertion):
    """The agent made at most ``n`` tool calls (of one ``tool``, when given)."""

    shorthand: ClassVar[str | None] = "n"
    n: int = Field(ge=0)
    tool: str | None = None

    async def check(self, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
        """Pass when the count of (named) calls is at most ``n``."""
        calls = [c for c in trace.tool_calls if self.tool is None or c.name == self.tool]
        what = f"{self.tool} calls" if self.tool else "tool calls"
        return self.verdict(len(calls) <= self.n, f"expected at most {self.n} {what}, made {len(calls)}; "
                                                  f"{describe_calls(calls)}")


@assertion("no_tool_errors")
class NoToolErrors(Assertion):
    """No tool call was rejected or failed (no tool result is marked as an error)."""

    shorthand: ClassVar[str | None] = "value"
    value: Literal[True] = True

    async def check(self, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
        """Fail on any tool result with ``error`` set."""
        errors = [r for step in trace.steps for r in step.tool_results if r.error]
        shown = "; ".join(f"{r.name}: {r.content[:120]!r}" for r in errors[:5])
        return self.verdict(not errors, f"{len(errors)} tool error(s): {shown}" if errors else "")
