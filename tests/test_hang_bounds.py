"""Nothing a model or a case file writes can hang a run: regexes, globs and templates are bounded.

Each check here took minutes to hours (or forever) before: a backtracking regex engine, an unbounded
glob translation, unchecked Jinja arithmetic. ``asyncio.wait_for`` is a guard that turns a hang into a
failure, not a speed threshold.
"""

from __future__ import annotations

import asyncio

import pytest

from betterharness.agent.tools import ToolEnvironment
from betterharness.agent.trace import Trace
from betterharness.errors import TemplateError
from betterharness.evals.assertions import parse_assertion
from betterharness.evals.case import Environment, EvalCase
from betterharness.sandbox import render_text
from betterharness.scoring.checks import check
from betterharness.scoring.context import ScoringContext

GUARD_S = 60

CASE = EvalCase.model_validate({
    "id": "c", "description": "d", "tags": ["t"], "input": {"messages": [{"role": "user", "content": "hi"}]},
    "success": [{"final_text_contains": "x"}], "ideal": {"steps": 1, "tool_calls": 0}})


async def _call(env: ToolEnvironment, name: str, **arguments: object) -> str:
    result = await asyncio.wait_for(env.call("c1", name, arguments), GUARD_S)
    return result.content


async def test_a_catastrophic_grep_pattern_returns_at_once() -> None:
    env = ToolEnvironment(Environment(files={"/a.txt": "a" * 41 + "b"}, toolsets=["filesystem"]))
    assert (await _call(env, "grep", pattern="(a+)+$")).startswith("No matches")
    assert await _call(env, "grep", pattern="(a+)+b", output_mode="count") == "/a.txt:1"


async def test_a_backreference_is_refused_with_a_reason() -> None:
    env = ToolEnvironment(Environment(files={"/a.txt": "aa"}, toolsets=["filesystem"]))
    assert "backreferences and lookaround are not supported" in await _call(env, "grep", pattern=r"(a)\1")


async def test_deep_globs_and_brace_bombs_are_bounded() -> None:
    files = {f"/{'d/' * 12}f{i}.py": "x" for i in range(3)}
    env = ToolEnvironment(Environment(files=files, toolsets=["filesystem"]))
    listing = await _call(env, "glob", pattern="**/" * 10 + "*.py")
    assert listing.count(".py") == 3
    bomb = "{a,b}" * 12
    assert "expands to more than" in await _call(env, "glob", pattern=bomb)
    assert "expands to more than" in await _call(env, "grep", pattern="x", glob=bomb)


async def test_a_case_regex_cannot_backtrack_forever() -> None:
    spec = parse_assertion({"final_text_regex": "(a+)+$"})
    trace = Trace(case_id="c", model="m", harness_hash="h", final_text="a" * 5000 + "b")
    verdict = await asyncio.wait_for(check(spec, trace, CASE, ScoringContext()), GUARD_S)
    assert verdict.passed is False
    with pytest.raises(ValueError, match="lookaround"):
        parse_assertion({"final_text_regex": "x(?!y)"})


@pytest.mark.parametrize(("source", "reason"), [
    ("{{ 9**(9**8) }}", "too large to compute"),
    ("{{ 'x' * 10**9 }}", "more than"),
    ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "longer than"),
    ("{% for i in range(100000) %}{{ 'x' * 100000 }}{% endfor %}", "output passed"),
    ("{{ range(10**9) | list }}", "Range too big"),
    ("{% include 'other.j2' %}", "cannot include"),
    ("{% extends 'base.j2' %}", "cannot include"),
])
def test_a_template_is_bounded_in_time_size_and_reach(source: str, reason: str) -> None:
    with pytest.raises(TemplateError) as info:
        render_text(source, {}, "mock tool t")
    assert reason in info.value.problem and info.value.file == "mock tool t"


def test_ordinary_templates_render_as_before() -> None:
    assert render_text("{{ 2 ** 10 }} {{ 'ab' * 3 }} {{ 3 * 'c' }} {{ name }}", {"name": "N"}) == "1024 ababab ccc N"
