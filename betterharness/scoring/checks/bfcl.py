"""The ``bfcl_calls`` assertion: tool calls judged the way BFCL's AST checker judges them.

Expected calls use BFCL's ``possible_answer`` form: ``{function: {argument: [acceptable values...]}}``.
An argument whose list holds ``""`` may be omitted. A dict value whose every value is a list is itself
in that form (BFCL writes ``dict`` arguments so); a list value is matched item by item. Strings compare
after BFCL's ``standardize_string`` (lowercase, without spaces and ``,./-_*^``, ``'`` read as ``"``).
An integer is accepted where the tool's schema says ``number``.
"""

from __future__ import annotations

import re
from typing import Any

from betterharness.agent.trace import ToolCall, Trace
from betterharness.evals.assertions.bfcl import BfclCalls
from betterharness.evals.case import EvalCase
from betterharness.scoring.checks import checks, verdict
from betterharness.scoring.checks.tools import describe_call, describe_calls
from betterharness.scoring.context import ScoringContext
from betterharness.scoring.score import Verdict

OPTIONAL = ""
"""The marker BFCL puts in an acceptable list to say the argument may be omitted."""

_STRIPPED = re.compile(r"[ ,./\-_*^]")


def standardize(text: str) -> str:
    """BFCL's string normalisation: drop spaces and ``,./-_*^``, lowercase, ``'`` becomes ``"``."""
    return _STRIPPED.sub("", text).lower().replace("'", '"')


def is_spec_dict(value: Any) -> bool:
    """True for a dict in acceptable-list form (every value a list), as BFCL writes dict arguments."""
    return isinstance(value, dict) and all(isinstance(v, list) for v in value.values())


def value_matches(expected: Any, actual: Any) -> bool:
    """One acceptable value against the value the agent sent."""
    if isinstance(expected, str):
        return isinstance(actual, str) and standardize(expected) == standardize(actual)
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return False
        if is_spec_dict(expected):
            return arguments_error(expected, actual) is None
        same_keys = expected.keys() == actual.keys()
        return same_keys and all(value_matches(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list):
        same_length = isinstance(actual, list) and len(expected) == len(actual)
        return same_length and all(map(value_matches, expected, actual))
    if isinstance(expected, int | float):
        return isinstance(actual, int | float) and expected == actual
    return bool(expected == actual)


def _has_type(value: Any, json_type: str) -> bool:
    if json_type == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if json_type == "integer":
        return isinstance(value, int)
    if json_type == "number":
        return isinstance(value, int | float)
    return isinstance(value, {"string": str, "array": list, "object": dict}[json_type])


def type_ok(json_type: Any, value: Any, acceptable: list[Any]) -> bool:
    """BFCL's type check: the schema's type, or (a "variable") the type of the acceptable values."""
    if json_type not in ("string", "integer", "number", "boolean", "array", "object"):
        return True
    if _has_type(value, json_type):
        return True
    return any(type(a) is type(value) for a in acceptable if a != OPTIONAL)


def arguments_error(
    spec: dict[str, list[Any]], arguments: dict[str, Any], properties: dict[str, Any] | None = None
) -> str | None:
    """Why ``arguments`` do not satisfy ``spec`` (``None`` when they do); ``properties`` gives types."""
    for name, acceptable in spec.items():
        if name not in arguments and OPTIONAL not in acceptable:
            return f"missing required argument {name!r}"
    for name, value in arguments.items():
        if name not in spec:
            return f"unexpected argument {name!r}"
        acceptable = spec[name]
        schema = (properties or {}).get(name)
        json_type = schema.get("type") if isinstance(schema, dict) else None
        if not type_ok(json_type, value, acceptable):
            return f"{name}={value!r} is not of type {json_type}"
        if not any(value_matches(a, value) for a in acceptable):
            shown = [a for a in acceptable if a != OPTIONAL]
            return f"{name}={value!r} is not one of {shown!r}"
    return None


def call_error(
    expected: dict[str, dict[str, list[Any]]], call: ToolCall, case: EvalCase | None
) -> str | None:
    """Why ``call`` does not match the one-function mapping ``expected`` (``None`` when it does)."""
    (name, spec), = expected.items()
    if call.name != name:
        return f"called {call.name}, expected {name}"
    tool = next((t for t in case.environment.tools if t.name == name), None) if case else None
    properties = tool.parameters.get("properties") if tool else None
    return arguments_error(spec, call.arguments, properties if isinstance(properties, dict) else None)


def match_any_order(
    expected: list[dict[str, Any]], calls: list[ToolCall], case: EvalCase | None
) -> list[int]:
    """A one-to-one matching of expected calls to calls; returns the expected indices left unmatched."""
    fits = [[j for j, call in enumerate(calls) if call_error(want, call, case) is None] for want in expected]
    owner: dict[int, int] = {}

    def place(i: int, seen: set[int]) -> bool:
        for j in fits[i]:
            if j not in seen:
                seen.add(j)
                if j not in owner or place(owner[j], seen):
                    owner[j] = i
                    return True
        return False

    return [i for i in range(len(expected)) if not place(i, set())]


def _label(expected: dict[str, Any]) -> str:
    return next(iter(expected))


def observed(spec: BfclCalls, trace: Trace) -> list[ToolCall]:
    """The calls that are judged: those of the first step with calls, or every call."""
    if spec.scope == "all":
        return trace.tool_calls
    return next((step.tool_calls for step in trace.steps if step.tool_calls), [])


@checks(BfclCalls)
async def check_bfcl_calls(spec: BfclCalls, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
    """Pass when the judged calls match the expected calls (count, names, arguments, order)."""
    if spec.irrelevance:
        calls = trace.tool_calls
        return verdict(spec, not calls, f"expected no tool call; {describe_calls(calls)}" if calls else "")
    calls = observed(spec, trace)
    where = "in the first step with calls" if spec.scope == "first_step" else "in the rollout"
    if len(calls) != len(spec.calls):
        return verdict(spec, False, f"expected {len(spec.calls)} call(s) {where}, got {len(calls)}; "
                                   f"{describe_calls(calls)}")
    if spec.order == "sequential":
        for index, (want, call) in enumerate(zip(spec.calls, calls, strict=True)):
            error = call_error(want, call, case)
            if error:
                return verdict(spec, False, f"call {index + 1} {describe_call(call)}: {error}")
        return verdict(spec, True, f"{len(calls)} call(s) matched in order")
    unmatched = match_any_order(spec.calls, calls, case)
    if not unmatched:
        return verdict(spec, True, f"{len(calls)} call(s) matched")
    want = spec.calls[unmatched[0]]
    named = [(c, call_error(want, c, case)) for c in calls if c.name == _label(want)]
    reasons = [f"{describe_call(c)}: {error}" for c, error in named if error]
    if reasons:
        why = "; ".join(reasons)
    else:
        why = "its matching calls match other expected calls" if named else f"no call to {_label(want)}"
    return verdict(spec, False, f"no one-to-one match for expected {_label(want)} "
                               f"({len(unmatched)} of {len(spec.calls)} unmatched): {why}")
