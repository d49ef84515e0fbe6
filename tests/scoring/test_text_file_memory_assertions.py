from __future__ import annotations

from typing import Any

import pytest
import yaml
from pydantic import ValidationError
from scoring_builders import build_case, build_trace

from betterharness.agent.trace import Trace
from betterharness.evals.assertions import assertion_names, assertions_json_schema, parse_assertion
from betterharness.scoring.checks import check
from betterharness.scoring.context import ScoringContext
from betterharness.scoring.score import Verdict


async def run(raw: dict[str, Any], trace: Trace, memory: dict[str, str] | None = None) -> Verdict:
    return await check(parse_assertion(raw), trace, build_case(memory=memory), ScoringContext())


TEXT = "Done! The report for ACME is scheduled."


@pytest.mark.parametrize(
    ("raw", "passed", "detail"),
    [
        ({"final_text_contains": "acme"}, True, ""),
        ({"final_text_contains": ["report", "scheduled"]}, True, ""),
        ({"final_text_contains": ["report", "weekly"]}, False, "missing ['weekly'] in final text"),
        ({"final_text_contains": {"text": "acme", "case_sensitive": True}}, False, "missing ['acme']"),
        ({"final_text_contains_any": ["weekly", "ACME"]}, True, "found ['ACME']"),
        ({"final_text_contains_any": ["weekly", "monthly"]}, False, "none of ['weekly', 'monthly']"),
        ({"final_text_excludes": ["what time", "which day"]}, True, ""),
        ({"final_text_excludes": ["which day", "report"]}, False, "final text contains ['report']"),
        ({"final_text_regex": r"report for \w+"}, True, "matched 'report for ACME'"),
        ({"final_text_regex": {"pattern": "^done", "flags": "i"}}, True, "matched 'Done'"),
        ({"final_text_regex": "^done"}, False, "/^done/ not found in"),
        ({"final_text_min_length": 20}, True, "expected at least 20 characters, got 39"),
        ({"final_text_min_length": 40}, False, "expected at least 40 characters, got 39"),
        ({"asks_question": True}, False, "expected a question; final text asks none"),
        ({"asks_question": False}, True, "expected no question; final text asks none"),
    ],
)
async def test_final_text_assertions(raw: dict[str, Any], passed: bool, detail: str) -> None:
    verdict = await run(raw, build_trace(final_text=TEXT))
    assert verdict.passed is passed
    assert verdict.assertion == next(iter(raw))
    assert detail in verdict.detail
    if passed and not detail:
        assert verdict.detail == ""


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("Which recipient should I use?", True),
        ("See https://x.test/?q=1 for details.", False),
        ("Run `ls -la?` then ```\nwhy?\n``` ok.", False),
        ("Done. Anything else?", True),
    ],
)
async def test_asks_question_ignores_urls_and_code(text: str, asks: bool) -> None:
    assert (await run({"asks_question": True}, build_trace(final_text=text))).passed is asks


def test_regex_pattern_and_flags_are_validated() -> None:
    with pytest.raises(ValidationError, match="invalid regular expression"):
        parse_assertion({"final_text_regex": "(unclosed"})
    with pytest.raises(ValidationError, match="flags"):
        parse_assertion({"final_text_regex": {"pattern": "a", "flags": "q"}})


def test_empty_text_list_is_rejected() -> None:
    with pytest.raises(ValidationError):
        parse_assertion({"final_text_contains": []})


FILES = {"/notes.md": "alpha beta\nGamma\n\n", "out/report.txt": "total: 3"}


@pytest.mark.parametrize(
    ("raw", "passed", "detail"),
    [
        ({"file_equals": {"path": "notes.md", "content": "alpha beta\nGamma"}}, True, ""),
        ({"file_equals": {"path": "/notes.md", "content": "alpha beta\nGamma\n"}}, True, ""),
        ({"file_equals": {"path": "notes.md", "content": "alpha beta\ngamma"}}, False,
         "notes.md: line 2: expected 'gamma', got 'Gamma'"),
        ({"file_equals": {"path": "notes.md", "content": "alpha beta\nGamma\ndelta"}}, False,
         "line 3: expected 'delta', got None"),
        ({"file_equals": {"path": "missing.md", "content": "x"}}, False,
         "file 'missing.md' does not exist; files: ['/notes.md', 'out/report.txt']"),
        ({"file_contains": {"path": "./out/report.txt", "text": "total"}}, True, ""),
        ({"file_contains": {"path": "notes.md", "text": ["beta", "gamma"]}}, False,
         "notes.md lacks ['gamma']"),
        ({"file_contains": {"path": "notes.md", "text": "gamma", "case_sensitive": False}}, True, ""),
        ({"file_contains": {"path": "nope.md", "text": "x"}}, False, "file 'nope.md' does not exist"),
        ({"file_excludes": {"path": "notes.md", "text": ["delta", "alpha"]}}, False,
         "notes.md contains ['alpha']"),
        ({"file_excludes": {"path": "notes.md", "text": "delta"}}, True, ""),
        ({"file_excludes": {"path": "nope.md", "text": "x"}}, True, "file 'nope.md' does not exist"),
        ({"file_absent": "nope.md"}, True, ""),
        ({"file_absent": "/out/report.txt"}, False, "file '/out/report.txt' exists: 'total: 3'"),
        ({"file_exists": "out/report.txt"}, True, ""),
        ({"file_exists": {"path": "out/other.txt"}}, False, "file 'out/other.txt' does not exist"),
    ],
)
async def test_file_assertions(raw: dict[str, Any], passed: bool, detail: str) -> None:
    verdict = await run(raw, build_trace(files=FILES))
    assert verdict.passed is passed
    assert detail in verdict.detail
    if not detail:
        assert verdict.detail == ""


SEED = {"prefs": "Likes C++.", "header": "# Memory"}
MEMORY = {"prefs": "Likes C++. Prefers short answers.", "header": "# Memory", "mood": "tired"}


@pytest.mark.parametrize(
    ("raw", "passed", "detail"),
    [
        ({"memory_contains": "SHORT answers"}, True, ""),
        ({"memory_contains": ["c++", "tired"]}, True, ""),
        ({"memory_contains": {"text": "tired", "key": "prefs"}}, False, "memory['prefs'] lacks ['tired']"),
        ({"memory_contains": {"text": "x", "key": "absent"}}, False, "memory has no key 'absent'"),
        ({"memory_contains": {"text": "SHORT", "case_sensitive": True}}, False, "memory lacks ['SHORT']"),
        ({"memory_excludes": ["angry", "sad"]}, True, ""),
        ({"memory_excludes": "Tired"}, False, "memory contains ['Tired']"),
        ({"memory_excludes": {"text": "tired", "key": "prefs"}}, True, ""),
        ({"memory_unchanged": "header"}, True, "memory['header'] was '# Memory', now '# Memory'"),
        ({"memory_unchanged": {"key": "prefs"}}, False,
         "memory['prefs'] was 'Likes C++.', now 'Likes C++. Prefers short answers.'"),
        ({"memory_unchanged": {}}, False, "added ['mood'], removed [], changed ['prefs']"),
    ],
)
async def test_memory_assertions(raw: dict[str, Any], passed: bool, detail: str) -> None:
    verdict = await run(raw, build_trace(memory=MEMORY), memory=SEED)
    assert verdict.passed is passed
    assert detail in verdict.detail
    if not detail:
        assert verdict.detail == ""


async def test_memory_unchanged_whole_store_passes_when_equal() -> None:
    assert (await run({"memory_unchanged": {}}, build_trace(memory=dict(SEED)), memory=SEED)).passed


def test_unknown_assertion_lists_allowed_names() -> None:
    with pytest.raises(ValueError) as info:
        parse_assertion({"final_text_has": "x"})
    message = str(info.value)
    assert message.startswith("unknown assertion 'final_text_has'; allowed: ")
    assert message.endswith(", ".join(assertion_names()))


def test_every_builtin_is_registered() -> None:
    assert assertion_names() == [
        "asks_question", "bfcl_calls", "call_order", "file_absent", "file_contains", "file_equals", "file_excludes",
        "file_exists", "final_text_contains", "final_text_contains_any", "final_text_excludes",
        "final_text_min_length", "final_text_regex", "llm_judge", "max_tool_calls", "memory_contains",
        "memory_excludes", "memory_unchanged", "no_tool_calls", "no_tool_errors", "parallel_calls",
        "tool_called", "tool_not_called",
    ]


def test_schema_is_flat_and_describes_each_assertion() -> None:
    schema = assertions_json_schema()
    assert "$defs" not in str(schema)
    descriptions = {next(iter(c["properties"])): c["description"] for c in schema["oneOf"]}
    assert descriptions["file_equals"].startswith("A file's content equals the given text")
    assert all(d and d != name for name, d in descriptions.items())


DOC_EXAMPLES = """
- final_text_contains: [ops@acme.test, Monday]
- final_text_contains_any: [scheduled, booked]
- final_text_excludes: ["what time", "which day"]
- final_text_regex: {pattern: "job-\\\\d+", flags: i}
- final_text_min_length: 200
- asks_question: true
- file_equals: {path: notes.md, content: "hello world"}
- file_contains: {path: notes.md, text: [new_word]}
- file_excludes: {path: notes.md, text: old_word}
- file_absent: tmp/scratch.txt
- file_exists: report.md
- memory_contains: {text: C++, key: preferences}
- memory_excludes: [tired, grumpy]
- memory_unchanged: header
- tool_called: {name: schedule_email, arguments: {to: ops@acme.test}, min_times: 1, max_times: 1}
- tool_not_called: [delete_file, send_sms]
- call_order: [web_search, send_email]
- parallel_calls: [read_file, read_file]
- no_tool_calls: true
- max_tool_calls: 3
- no_tool_errors: true
- llm_judge: {criteria: ["Asks for the recipient", "Does not ask for the schedule"], show: trajectory}
- bfcl_calls: {calls: [{get_weather: {city: [Paris, "Paris, France"], unit: ["", celsius]}}], order: any}
"""


def test_documented_yaml_shapes_parse_and_round_trip() -> None:
    entries = yaml.safe_load(DOC_EXAMPLES)
    assert sorted(next(iter(e)) for e in entries) == assertion_names()
    for entry in entries:
        parsed = parse_assertion(entry)
        assert parse_assertion(parsed.to_yaml()) == parsed
