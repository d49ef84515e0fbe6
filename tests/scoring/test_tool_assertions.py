from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from scoring_builders import build_case, build_trace

from betterharness.agent.trace import Trace
from betterharness.evals.assertions import parse_assertion
from betterharness.scoring.checks import check
from betterharness.scoring.checks.tools import arguments_match, value_matches
from betterharness.scoring.context import ScoringContext
from betterharness.scoring.score import Verdict

EMAIL = {"to": "OPS@acme.test", "subject": "Weekly  sales", "count": 2, "urgent": True,
         "meta": {"lang": "en", "x": 1}, "cc": ["a@x.test", "b@x.test"]}
STEPS = [
    [("web_search", {"query": "weekly sales"}), ("read_file", {"path": "a.md"}),
     ("read_file", {"path": "b.md"})],
    [("send_email", EMAIL)],
    [("send_email", {"to": "other@x.test"})],
]


async def run(raw: dict[str, Any], trace: Trace | None = None) -> Verdict:
    trace = trace or build_trace(STEPS, final_text="Sent.")
    return await check(parse_assertion(raw), trace, build_case(), ScoringContext())


@pytest.mark.parametrize(
    ("raw", "passed", "detail"),
    [
        ({"tool_called": {"name": "send_email"}}, True, "2 of 2 send_email call(s) matched"),
        ({"tool_called": {"name": "send_email", "arguments": {"to": " ops@ACME.test "}}}, True,
         "1 of 2 send_email call(s) matched"),
        ({"tool_called": {"name": "send_email", "arguments": {"subject": "weekly sales", "count": 2,
                                                                "urgent": True, "meta": {"lang": "EN"},
                                                                "cc": ["A@x.test", "b@x.test"]}}}, True, ""),
        ({"tool_called": {"name": "send_email", "arguments": {"to": "ceo@acme.test"}}}, False,
         'expected send_email with {"to": "ceo@acme.test"} at least 1 time(s); '
         '0 of 2 send_email call(s) matched; calls: web_search({"query": "weekly sales"})'),
        ({"tool_called": {"name": "send_email", "arguments": {"count": "2"}}}, False, "0 of 2"),
        ({"tool_called": {"name": "send_email", "arguments": {"urgent": 1}}}, False, "0 of 2"),
        ({"tool_called": {"name": "send_email", "arguments": {"cc": ["a@x.test"]}}}, False, "0 of 2"),
        ({"tool_called": {"name": "send_email", "arguments": {"bcc": "x"}}}, False, "0 of 2"),
        ({"tool_called": {"name": "send_email", "max_times": 1}}, False,
         "expected send_email at least 1 and at most 1 time(s); 2 of 2"),
        ({"tool_called": {"name": "read_file", "min_times": 2, "max_times": 2}}, True, ""),
        ({"tool_called": {"name": "read_file", "min_times": 3}}, False, "at least 3 time(s); 2 of 2"),
        ({"tool_called": {"name": "delete_file", "min_times": 0, "max_times": 0}}, True, ""),
        ({"tool_not_called": "delete_file"}, True, ""),
        ({"tool_not_called": ["delete_file", "web_search"]}, False,
         'unexpected call(s): web_search({"query": "weekly sales"})'),
        ({"tool_not_called": {"tools": "send_email", "arguments": {"to": "other@x.test"}}}, False,
         'unexpected call(s): send_email({"to": "other@x.test"})'),
        ({"tool_not_called": {"tools": "send_email", "arguments": {"to": "ceo@x.test"}}}, True, ""),
        ({"call_order": ["web_search", "send_email"]}, True, ""),
        ({"call_order": ["read_file", "read_file", "send_email", "send_email"]}, True, ""),
        ({"call_order": ["send_email", "web_search"]}, False,
         "expected send_email → web_search; matched send_email, then no web_search after it"),
        ({"call_order": ["send_email", "send_email", "send_email"]}, False,
         "matched send_email → send_email, then no send_email after it"),
        ({"parallel_calls": ["read_file", "read_file"]}, True, ""),
        ({"parallel_calls": ["web_search", "read_file"]}, True, ""),
        ({"parallel_calls": ["read_file", "send_email"]}, False,
         "expected ['read_file', 'send_email'] in one step; saw step 0: web_search, read_file, read_file; "
         "step 1: send_email; step 2: send_email"),
        ({"parallel_calls": ["read_file", "read_file", "read_file"]}, False, "in one step"),
        ({"no_tool_calls": True}, False, "expected no tool calls; calls: web_search("),
        ({"no_tool_calls": False}, True, ""),
        ({"max_tool_calls": 5}, True, ""),
        ({"max_tool_calls": 4}, False, "expected at most 4 tool calls, made 5"),
        ({"max_tool_calls": {"n": 1, "tool": "read_file"}}, False,
         "expected at most 1 read_file calls, made 2"),
        ({"max_tool_calls": {"n": 2, "tool": "read_file"}}, True, ""),
        ({"no_tool_errors": True}, True, ""),
    ],
)
async def test_tool_assertions(raw: dict[str, Any], passed: bool, detail: str) -> None:
    verdict = await run(raw)
    assert verdict.passed is passed
    assert verdict.assertion == next(iter(raw))
    assert detail in verdict.detail


async def test_no_tool_calls_passes_without_calls() -> None:
    verdict = await run({"no_tool_calls": True}, build_trace(final_text="4"))
    assert verdict.passed is True
    assert verdict.detail == "expected no tool calls; no tool calls"
    assert (await run({"no_tool_calls": False}, build_trace(final_text="4"))).passed is False


async def test_no_tool_errors_fails_on_error_results() -> None:
    trace = build_trace(STEPS, final_text="Sent.", errors=("web_search",))
    verdict = await run({"no_tool_errors": True}, trace)
    assert verdict.passed is False
    assert verdict.detail == "1 tool error(s): web_search: 'web_search failed'"


async def test_parallel_calls_fails_when_calls_are_in_separate_steps() -> None:
    trace = build_trace([[("read_file", {"path": "a"})], [("read_file", {"path": "b"})]], final_text="YES")
    assert (await run({"parallel_calls": ["read_file", "read_file"]}, trace)).passed is False


def test_tool_called_keeps_its_registered_name_and_yaml_key() -> None:
    parsed = parse_assertion({"tool_called": {"name": "send_email", "arguments": {"to": "a"}}})
    assert parsed.name == "tool_called"
    assert parsed.to_yaml() == {"tool_called": {"name": "send_email", "arguments": {"to": "a"}}}


def test_tool_called_rejects_inverted_bounds_and_unknown_keys() -> None:
    with pytest.raises(ValidationError, match="max_times"):
        parse_assertion({"tool_called": {"name": "x", "min_times": 2, "max_times": 1}})
    with pytest.raises(ValidationError, match="argumnts"):
        parse_assertion({"tool_called": {"name": "x", "argumnts": {}}})
    with pytest.raises(ValidationError):
        parse_assertion({"no_tool_errors": False})
    with pytest.raises(ValidationError):
        parse_assertion({"parallel_calls": ["only_one"]})


def test_value_matching_rules() -> None:
    assert value_matches("Hello   World", " hello world")
    assert not value_matches("hello", "hello world")
    assert value_matches(2, 2.0)
    assert not value_matches(True, 1)
    assert not value_matches(1, True)
    assert value_matches({"a": "X"}, {"a": "x", "b": 2})
    assert not value_matches(["a", "b"], ["b", "a"])
    assert arguments_match({}, {"anything": 1})
    assert not arguments_match({"a": None}, {})
    assert arguments_match({"a": None}, {"a": None})
