"""The bfcl_calls assertion against hand-built traces: BFCL's AST-checker rules."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from betterharness.agent.trace import Step, ToolCall, Trace
from betterharness.evals.assertions import parse_assertion
from betterharness.evals.case import EvalCase
from betterharness.scoring.checks import check as run_check
from betterharness.scoring.checks.bfcl import standardize, value_matches
from betterharness.scoring.context import ScoringContext
from betterharness.scoring.score import Verdict

Call = tuple[str, dict[str, Any]]

WEATHER = {"get_weather": {"city": ["Paris", "Paris, France"], "unit": ["c", ""]}}
TOOLS = [
    {
        "name": "get_weather",
        "description": "w",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
        },
    },
    {
        "name": "area",
        "description": "a",
        "parameters": {
            "type": "object",
            "properties": {
                "radius": {"type": "number"},
                "count": {"type": "integer"},
                "exact": {"type": "boolean"},
            },
        },
    },
    {
        "name": "book",
        "description": "b",
        "parameters": {
            "type": "object",
            "properties": {
                "guest": {"type": "object"},
                "nights": {"type": "array", "items": {"type": "integer"}},
            },
        },
    },
]


def make_trace(*steps: list[Call], final: str = "Done.") -> Trace:
    built = [
        Step(index=i, tool_calls=[ToolCall(id=f"c{i}{j}", name=n, arguments=a) for j, (n, a) in enumerate(s)])
        for i, s in enumerate(steps)
    ]
    built.append(Step(index=len(built), content=final))
    return Trace(case_id="c", model="m", harness_hash="h", steps=built, final_text=final)


def make_case() -> EvalCase:
    return EvalCase.model_validate(
        {
            "id": "c",
            "description": "d",
            "tags": ["tool_use"],
            "input": {"messages": [{"role": "user", "content": "hi"}]},
            "environment": {"tools": TOOLS},
            "success": [{"final_text_contains": "x"}],
            "ideal": {"steps": 1, "tool_calls": 0},
        }
    )


async def check(args: dict[str, Any], trace: Trace) -> Verdict:
    return await run_check(parse_assertion({"bfcl_calls": args}), trace, make_case(), ScoringContext())


async def test_correct_call_passes_with_bfcl_string_normalisation() -> None:
    verdict = await check(
        {"calls": [WEATHER]}, make_trace([("get_weather", {"city": "paris france", "unit": "C"})])
    )
    assert verdict.passed, verdict.detail


async def test_wrong_value_fails_and_says_why() -> None:
    verdict = await check({"calls": [WEATHER]}, make_trace([("get_weather", {"city": "Lyon"})]))
    assert not verdict.passed
    assert "city='Lyon' is not one of ['Paris', 'Paris, France']" in verdict.detail


async def test_missing_required_argument_fails() -> None:
    verdict = await check({"calls": [WEATHER]}, make_trace([("get_weather", {"unit": "c"})]))
    assert not verdict.passed
    assert "missing required argument 'city'" in verdict.detail


async def test_optional_argument_may_be_omitted() -> None:
    assert (await check({"calls": [WEATHER]}, make_trace([("get_weather", {"city": "Paris"})]))).passed


async def test_unexpected_argument_fails() -> None:
    verdict = await check(
        {"calls": [WEATHER]}, make_trace([("get_weather", {"city": "Paris", "lang": "fr"})])
    )
    assert not verdict.passed
    assert "unexpected argument 'lang'" in verdict.detail


async def test_wrong_function_name_fails() -> None:
    verdict = await check({"calls": [WEATHER]}, make_trace([("area", {"radius": 1})]))
    assert not verdict.passed
    assert "no call to get_weather" in verdict.detail


async def test_wrong_number_of_calls_fails() -> None:
    trace = make_trace([("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Paris"})])
    verdict = await check({"calls": [WEATHER]}, trace)
    assert not verdict.passed
    assert "expected 1 call(s) in the first step with calls, got 2" in verdict.detail


PARALLEL = [
    {"get_weather": {"city": ["Paris"]}},
    {"get_weather": {"city": ["Rome"]}},
    {"area": {"radius": [2.0]}},
]


async def test_parallel_calls_match_in_any_order() -> None:
    trace = make_trace(
        [("area", {"radius": 2}), ("get_weather", {"city": "rome"}), ("get_weather", {"city": "Paris"})]
    )
    assert (await check({"calls": PARALLEL}, trace)).passed


async def test_sequential_order_is_enforced() -> None:
    trace = make_trace(
        [("get_weather", {"city": "Rome"}), ("get_weather", {"city": "Paris"}), ("area", {"radius": 2})]
    )
    verdict = await check({"calls": PARALLEL, "order": "sequential"}, trace)
    assert not verdict.passed
    assert verdict.detail.startswith("call 1 get_weather")


async def test_any_order_finds_a_one_to_one_matching_where_greedy_would_not() -> None:
    calls = [{"area": {"radius": [1, 2]}}, {"area": {"radius": [1]}}]
    assert (
        await check({"calls": calls}, make_trace([("area", {"radius": 1}), ("area", {"radius": 2})]))
    ).passed
    verdict = await check({"calls": calls}, make_trace([("area", {"radius": 2}), ("area", {"radius": 2})]))
    assert not verdict.passed
    assert "1 of 2 unmatched" in verdict.detail


async def test_only_the_first_step_with_calls_counts_unless_scope_all() -> None:
    trace = make_trace([("get_weather", {"city": "Paris"})], [("get_weather", {"city": "Rome"})])
    two = PARALLEL[:2]
    assert not (await check({"calls": two}, trace)).passed
    assert (await check({"calls": two, "scope": "all"}, trace)).passed
    assert (await check({"calls": [PARALLEL[0]]}, trace)).passed


async def test_irrelevance_passes_only_without_any_call() -> None:
    assert (await check({"irrelevance": True}, make_trace())).passed
    verdict = await check({"irrelevance": True}, make_trace([], [("area", {"radius": 1})]))
    assert not verdict.passed
    assert "expected no tool call" in verdict.detail


async def test_int_is_accepted_for_a_number_but_not_float_for_an_integer() -> None:
    assert (
        await check({"calls": [{"area": {"radius": [5.0]}}]}, make_trace([("area", {"radius": 5})]))
    ).passed
    verdict = await check({"calls": [{"area": {"count": [5]}}]}, make_trace([("area", {"count": 5.0})]))
    assert not verdict.passed
    assert "not of type integer" in verdict.detail


async def test_booleans_are_not_numbers_and_strings_are_not_numbers() -> None:
    assert not (
        await check({"calls": [{"area": {"count": [1]}}]}, make_trace([("area", {"count": True})]))
    ).passed
    assert not (
        await check({"calls": [{"area": {"count": [1]}}]}, make_trace([("area", {"count": "1"})]))
    ).passed
    assert (
        await check({"calls": [{"area": {"exact": [True]}}]}, make_trace([("area", {"exact": True})]))
    ).passed


async def test_variable_rule_accepts_the_type_of_the_acceptable_values() -> None:
    assert (
        await check({"calls": [{"area": {"count": ["n"]}}]}, make_trace([("area", {"count": "n"})]))
    ).passed


async def test_dict_and_list_arguments_match_like_bfcl() -> None:
    calls = [{"book": {"guest": [{"name": ["Ann Lee"], "age": [30, ""]}], "nights": [[1, 2]]}}]
    ok = make_trace([("book", {"guest": {"name": "ann-lee"}, "nights": [1, 2]})])
    assert (await check({"calls": calls}, ok)).passed
    extra_key = make_trace([("book", {"guest": {"name": "Ann Lee", "vip": True}, "nights": [1, 2]})])
    assert not (await check({"calls": calls}, extra_key)).passed
    wrong_list = make_trace([("book", {"guest": {"name": "Ann Lee"}, "nights": [2, 1]})])
    assert not (await check({"calls": calls}, wrong_list)).passed


def test_standardize_is_bfcl_normalisation() -> None:
    assert standardize("April 1, 2024") == standardize("april 1 2024") == "april12024"
    assert standardize("x**2 / y_z-w^2") == "x2yzw2"
    assert standardize("it's") == 'it"s'
    assert value_matches([{"k": ["A B"]}], [{"k": "ab"}])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"calls": [WEATHER], "irrelevance": True}, "leave `calls` empty"),
        ({}, "give the expected `calls`"),
        ({"calls": [{**WEATHER, "area": {}}]}, "one-key mapping"),
        ({"calls": [WEATHER], "order": "random"}, "order"),
    ],
)
def test_bad_arguments_are_rejected(args: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_assertion({"bfcl_calls": args})


def test_round_trips_through_yaml_form() -> None:
    parsed = parse_assertion({"bfcl_calls": {"calls": [WEATHER], "order": "sequential"}})
    assert parsed.to_yaml() == {"bfcl_calls": {"calls": [WEATHER], "order": "sequential"}}
    assert parse_assertion(parsed.to_yaml()) == parsed
