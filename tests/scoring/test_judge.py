from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from scoring_builders import build_case, build_trace

from betterharness.agent.trace import Trace, Usage
from betterharness.evals.assertions import parse_assertion
from betterharness.paths import prompts_dir
from betterharness.scoring.checks import check
from betterharness.scoring.checks.judge import parse_verdict, transcript
from betterharness.scoring.context import ScoringContext

MESSAGES = [
    {"role": "system", "content": "SYSTEM PROMPT"},
    {"role": "user", "content": "Email the weekly report to ops every Monday."},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "1", "type": "function",
         "function": {"name": "schedule_email", "arguments": '{"to": "ops@acme.test"}'}}]},
    {"role": "tool", "tool_call_id": "1", "name": "schedule_email", "content": '{"status": "scheduled"}'},
    {"role": "assistant", "content": "Scheduled for Mondays."},
]
USAGE = Usage(prompt_tokens=10, completion_tokens=2, total_tokens=12, cost_usd=0.001)


class FakeJudge:
    """Answers by criterion: a scripted text, or raises the scripted exception."""

    def __init__(self, answers: dict[str, str | Exception]) -> None:
        self.answers = answers
        self.prompts: list[str] = []

    async def __call__(self, messages: list[dict[str, str]]) -> tuple[str, Usage]:
        prompt = messages[0]["content"]
        assert [m["role"] for m in messages] == ["user"]
        self.prompts.append(prompt)
        await asyncio.sleep(0)
        criterion = prompt.split("## The criterion\n", 1)[1].split("\n", 1)[0]
        answer = self.answers[criterion]
        if isinstance(answer, Exception):
            raise answer
        return answer, USAGE.model_copy()


def make_trace() -> Trace:
    return build_trace([[("schedule_email", {"to": "ops@acme.test"})]], final_text="Scheduled for Mondays.",
                       messages=MESSAGES)


async def test_each_criterion_is_graded_and_annotated() -> None:
    judge = FakeJudge({
        "Confirms the schedule": '{"verdict": "pass", "rationale": "It says Mondays."}',
        "Names the recipient": 'Sure.\n```json\n{"verdict": "FAIL", "rationale": "No recipient named."}\n```',
        "Is polite": "Hmm, hard to say.",
    })
    ctx = ScoringContext(judge=judge)
    trace = make_trace()
    judge_spec = parse_assertion({"llm_judge": ["Confirms the schedule", "Names the recipient", "Is polite"]})
    verdict = await check(judge_spec, trace, build_case(), ctx)

    assert verdict.passed is False
    assert verdict.assertion == "llm_judge"
    assert verdict.detail == (
        "1/3 criteria passed\n"
        "[pass] Confirms the schedule: It says Mondays.\n"
        "[FAIL] Names the recipient: No recipient named.\n"
        "[FAIL] Is polite: unreadable judge answer: 'Hmm, hard to say.'"
    )
    assert [a.kind for a in trace.annotations] == ["judge"] * 3
    assert [a.data for a in trace.annotations] == [
        {"criterion": "Confirms the schedule", "verdict": "pass", "rationale": "It says Mondays.",
         "error": None},
        {"criterion": "Names the recipient", "verdict": "fail", "rationale": "No recipient named.",
         "error": None},
        {"criterion": "Is polite", "verdict": "fail", "rationale": "Hmm, hard to say.",
         "error": "unreadable judge answer: 'Hmm, hard to say.'"},
    ]
    assert len(judge.prompts) == 3
    assert ctx.usage.total_tokens == 36
    assert trace.aux_usage.total_tokens == 36
    assert trace.aux_usage.cost_usd == pytest.approx(0.003)
    assert trace.usage.total_tokens == 0


async def test_all_passing_criteria_pass() -> None:
    judge = FakeJudge({"A": '{"verdict": "pass", "rationale": "ok"}', "B": "VERDICT: PASS - fine"})
    trace = make_trace()
    verdict = await check(parse_assertion({"llm_judge": {"criteria": ["A", "B"]}}), 
        trace, build_case(), ScoringContext(judge=judge))
    assert verdict.passed is True
    assert verdict.detail == "2/2 criteria passed\n[pass] A: ok\n[pass] B: VERDICT: PASS - fine"


async def test_a_raising_judge_fails_only_its_criterion() -> None:
    judge = FakeJudge({"A": RuntimeError("rate limited"), "B": '{"verdict": "pass", "rationale": "ok"}'})
    ctx = ScoringContext(judge=judge)
    trace = make_trace()
    verdict = await check(parse_assertion({"llm_judge": ["A", "B"]}), trace, build_case(), ctx)
    assert verdict.passed is False
    assert "[FAIL] A: judge call failed: RuntimeError: rate limited" in verdict.detail
    assert "[pass] B: ok" in verdict.detail
    assert trace.annotations[0].data == {
        "criterion": "A", "verdict": "fail", "rationale": "judge call failed: RuntimeError: rate limited",
        "error": "judge call failed: RuntimeError: rate limited",
    }
    assert ctx.usage.total_tokens == 12


async def test_without_a_judge_model_the_criterion_fails() -> None:
    trace = make_trace()
    verdict = await check(parse_assertion({"llm_judge": "A"}), trace, build_case(), ScoringContext())
    assert verdict.passed is False
    assert "no judge model configured" in verdict.detail
    assert len(trace.annotations) == 1


async def test_text_view_shows_request_and_answer_only() -> None:
    judge = FakeJudge({"A": "PASS"})
    await check(parse_assertion({"llm_judge": "A"}), make_trace(), build_case(), ScoringContext(judge=judge))
    prompt = judge.prompts[0]
    assert "Email the weekly report to ops every Monday." in prompt
    assert "## The assistant's final answer\nScheduled for Mondays." in prompt
    assert "schedule_email" not in prompt
    assert "SYSTEM PROMPT" not in prompt


async def test_trajectory_view_shows_tool_calls_and_results() -> None:
    judge = FakeJudge({"A": "PASS"})
    judge_spec = parse_assertion({"llm_judge": {"criteria": "A", "show": "trajectory"}})
    await check(judge_spec, make_trace(), build_case(), ScoringContext(judge=judge))
    assert transcript(make_trace()) in judge.prompts[0]
    assert transcript(make_trace()) == (
        "[user] Email the weekly report to ops every Monday.\n"
        "[assistant]\n"
        '  calls: schedule_email({"to": "ops@acme.test"})\n'
        '[tool result (schedule_email)] {"status": "scheduled"}\n'
        "[assistant] Scheduled for Mondays."
    )


async def test_prompt_comes_from_the_context_prompts_dir(tmp_path: Path) -> None:
    (tmp_path / "judge.md.j2").write_text("## The criterion\n{{ criterion }}\nanswer={{ final_text }}\n")
    judge = FakeJudge({"A": "FAIL"})
    verdict = await check(parse_assertion({"llm_judge": "A"}), 
        make_trace(), build_case(), ScoringContext(judge=judge, prompts_dir=tmp_path))
    assert judge.prompts == ["## The criterion\nA\nanswer=Scheduled for Mondays."]
    assert verdict.passed is False


async def test_missing_or_broken_template_fails_without_raising(tmp_path: Path) -> None:
    judge = FakeJudge({"A": "PASS"})
    trace = make_trace()
    verdict = await check(parse_assertion({"llm_judge": "A"}), 
        trace, build_case(), ScoringContext(judge=judge, prompts_dir=tmp_path))
    assert verdict.passed is False
    assert "judge prompt not readable" in verdict.detail
    assert trace.annotations[0].data["verdict"] == "fail"

    (tmp_path / "judge.md.j2").write_text("{{ no_such_variable }}")
    verdict = await check(parse_assertion({"llm_judge": "A"}), 
        trace, build_case(), ScoringContext(judge=judge, prompts_dir=tmp_path))
    assert verdict.passed is False
    assert "judge prompt failed to render" in verdict.detail
    assert judge.prompts == []


def test_shipped_template_is_found() -> None:
    assert (prompts_dir() / "judge.md.j2").is_file()


@pytest.mark.parametrize(
    ("answer", "passed", "rationale"),
    [
        ('{"verdict": "pass", "rationale": "fine"}', True, "fine"),
        ('{"Verdict": "Fail", "Rationale": "bad"}', False, "bad"),
        ('{"verdict": true}', True, ""),
        ('Thinking {not json} then {"verdict": "fail", "rationale": "r"} done', False, "r"),
        ('{"score": 1}', None, '{"score": 1}'),
        ("Verdict: pass", True, "Verdict: pass"),
        ("The answer would FAIL at first glance, but on reflection: PASS", True,
         "The answer would FAIL at first glance, but on reflection: PASS"),
        ("It failed.", False, "It failed."),
        ("it could pass or fail", None, "it could pass or fail"),
        ("", None, ""),
    ],
)
def test_parse_verdict(answer: str, passed: bool | None, rationale: str) -> None:
    assert parse_verdict(answer) == (passed, rationale)
