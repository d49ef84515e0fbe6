"""LLM-as-judge: each criterion graded on its own by the judge role, through a user-editable prompt.

The prompt is ``prompts/judge.md.j2`` (found in ``ScoringContext.prompts_dir`` or else
``betterharness.paths.prompts_dir()``). The judge is asked for ``{"verdict": "pass"|"fail",
"rationale": ...}``; an answer without that JSON falls back to a ``verdict: pass`` phrase or a PASS/FAIL
word. Every criterion leaves an ``Annotation(kind="judge")`` on the trace. A judge call that raises, or an
answer that cannot be read, fails that criterion; ``check`` itself never raises.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from betterharness.agent.trace import Annotation, Trace
from betterharness.evals.assertions.judge import LLMJudge, Show
from betterharness.evals.assertions.text import as_list
from betterharness.evals.case import EvalCase
from betterharness.paths import JUDGE_PROMPT, prompts_dir
from betterharness.sandbox import render_text
from betterharness.scoring.checks import checks, verdict
from betterharness.scoring.context import ScoringContext
from betterharness.scoring.score import Verdict

JUDGE_TEMPLATE = JUDGE_PROMPT
MAX_CONCURRENT_CRITERIA = 8
MESSAGE_CHARS = 2000
RATIONALE_CHARS = 300

_WORDS = {"pass": True, "passed": True, "yes": True, "true": True,
          "fail": False, "failed": False, "no": False, "false": False}


@dataclass
class Grade:
    """The judge's decision on one criterion."""

    criterion: str
    passed: bool
    rationale: str
    error: str | None = None

    def annotation(self) -> Annotation:
        """This grade as a trace annotation."""
        verdict = "pass" if self.passed else "fail"
        return Annotation(kind="judge", data={"criterion": self.criterion, "verdict": verdict,
                                              "rationale": self.rationale, "error": self.error})


def _as_verdict(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _WORDS.get(value.strip().strip(".!").casefold())
    return None


def parse_verdict(answer: str) -> tuple[bool | None, str]:
    """(passed, rationale) from a judge answer; passed is None when no verdict can be found."""
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", answer):
        try:
            obj, _ = decoder.raw_decode(answer, match.start())
        except ValueError:
            continue
        if isinstance(obj, dict):
            fields = {str(k).casefold(): v for k, v in obj.items()}
            verdict = _as_verdict(fields.get("verdict"))
            if verdict is not None:
                return verdict, str(fields.get("rationale", "")).strip()
    rationale = answer.strip()
    labelled = re.findall(r"verdict\W{0,5}(pass|fail)", answer, re.IGNORECASE)
    if labelled:
        return labelled[-1].casefold() == "pass", rationale
    shouted = re.findall(r"\b(PASS|FAIL)(?:ED)?\b", answer)
    if shouted:
        return shouted[-1] == "PASS", rationale
    spoken = {w.casefold() for w in re.findall(r"\b(pass|fail)(?:ed)?\b", answer, re.IGNORECASE)}
    if len(spoken) == 1:
        return spoken.pop() == "pass", rationale
    return None, rationale


def _content(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        content = " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    text = str(content or "")
    return text if len(text) <= MESSAGE_CHARS else text[:MESSAGE_CHARS] + "…"


def _tool_calls(message: dict[str, Any]) -> list[str]:
    calls = []
    for call in message.get("tool_calls") or []:
        function = call.get("function", call) if isinstance(call, dict) else {}
        arguments = function.get("arguments", "")
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments, ensure_ascii=False, default=str)
        calls.append(f"{function.get('name', '?')}({arguments})")
    return calls


def transcript(trace: Trace) -> str:
    """The conversation after the system prompt as plain text: roles, tool calls and tool results."""
    lines = []
    for message in trace.messages:
        role = message.get("role", "?")
        if role == "system":
            continue
        label = f"tool result ({message.get('name', '')})" if role == "tool" else role
        text = _content(message)
        calls = _tool_calls(message)
        line = f"[{label}] {text}".rstrip()
        if calls:
            line += f"\n  calls: {'; '.join(calls)}"
        lines.append(line)
    return "\n".join(lines)


def judge_context(trace: Trace, case: EvalCase, criterion: str, show: Show) -> dict[str, Any]:
    """The variables the judge template is rendered with."""
    requests = [_content(m) for m in trace.messages if m.get("role") == "user"]
    return {
        "criterion": criterion,
        "show": show,
        "description": case.description,
        "request": "\n\n".join(requests) or "(no user message recorded)",
        "final_text": trace.final_text,
        "transcript": transcript(trace) if show == "trajectory" else "",
    }


def load_judge_template(ctx: ScoringContext) -> tuple[str, Path]:
    """The judge template's source and path; raises OSError when it is missing."""
    path = (ctx.prompts_dir or prompts_dir()) / JUDGE_TEMPLATE
    return path.read_text(encoding="utf-8"), path


async def grade(criterion: str, source: str, origin: Path, trace: Trace, case: EvalCase,
                ctx: ScoringContext, show: Show) -> Grade:
    """Ask the judge about one criterion; every failure becomes a failing Grade."""
    try:
        prompt = render_text(source, judge_context(trace, case, criterion, show), origin=str(origin))
    except Exception as exc:
        error = f"judge prompt failed to render: {exc}"
        return Grade(criterion, False, error, error=error)
    try:
        answer, usage = await ctx.judge([{"role": "user", "content": prompt}])
    except Exception as exc:  # a judge failure fails the criterion, never the run
        error = f"judge call failed: {type(exc).__name__}: {exc}"
        return Grade(criterion, False, error, error=error)
    ctx.usage.add(usage)
    trace.aux_usage.add(usage)
    passed, rationale = parse_verdict(answer)
    if passed is None:
        error = f"unreadable judge answer: {answer.strip()[:RATIONALE_CHARS]!r}"
        return Grade(criterion, False, rationale, error=error)
    return Grade(criterion, passed, rationale)


def summarize(grades: list[Grade]) -> str:
    """One line per criterion: verdict, criterion and rationale (or the error)."""
    passed = sum(g.passed for g in grades)
    lines = [f"{passed}/{len(grades)} criteria passed"]
    for g in grades:
        why = g.error or g.rationale
        why = why if len(why) <= RATIONALE_CHARS else why[:RATIONALE_CHARS] + "…"
        lines.append(f"[{'pass' if g.passed else 'FAIL'}] {g.criterion}: {why}")
    return "\n".join(lines)


@checks(LLMJudge)
async def check_llm_judge(spec: LLMJudge, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
    """Grade the criteria concurrently; pass only when all pass. Annotates the trace."""
    criteria = as_list(spec.criteria)
    try:
        source, origin = load_judge_template(ctx)
    except OSError as exc:
        error = f"judge prompt not readable: {exc}"
        grades = [Grade(c, False, error, error=error) for c in criteria]
    else:
        limit = asyncio.Semaphore(MAX_CONCURRENT_CRITERIA)

        async def one(criterion: str) -> Grade:
            async with limit:
                return await grade(criterion, source, origin, trace, case, ctx, spec.show)

        grades = list(await asyncio.gather(*(one(c) for c in criteria)))
    trace.annotations.extend(g.annotation() for g in grades)
    return verdict(spec, all(g.passed for g in grades), summarize(grades))
