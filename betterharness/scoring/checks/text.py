"""Checks of the final-answer assertions: texts, regex, length, questions."""

from __future__ import annotations

import re

from betterharness.agent.trace import Trace
from betterharness.evals.assertions.text import (
    AsksQuestion,
    FinalTextContains,
    FinalTextContainsAny,
    FinalTextExcludes,
    FinalTextMinLength,
    FinalTextRegex,
    as_list,
)
from betterharness.evals.case import EvalCase
from betterharness.safe_regex import compile_regex
from betterharness.scoring.checks import checks, verdict
from betterharness.scoring.context import ScoringContext
from betterharness.scoring.score import Verdict

PREVIEW_CHARS = 160
_URL_OR_CODE = re.compile(r"https?://\S+|```.*?```|`[^`\n]*`", re.DOTALL)


def preview(text: str, limit: int = PREVIEW_CHARS) -> str:
    """A short quoted excerpt of ``text`` for a verdict detail."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


def found_in(haystack: str, needle: str, case_sensitive: bool) -> bool:
    """True when ``needle`` occurs in ``haystack``."""
    return needle in haystack if case_sensitive else needle.casefold() in haystack.casefold()


def missing_texts(haystack: str, needles: list[str], case_sensitive: bool) -> list[str]:
    """The needles that do not occur in ``haystack``."""
    return [n for n in needles if not found_in(haystack, n, case_sensitive)]


def present_texts(haystack: str, needles: list[str], case_sensitive: bool) -> list[str]:
    """The needles that occur in ``haystack``."""
    return [n for n in needles if found_in(haystack, n, case_sensitive)]


@checks(FinalTextContains)
async def check_final_text_contains(
    spec: FinalTextContains, trace: Trace, case: EvalCase, ctx: ScoringContext
) -> Verdict:
    """Pass when no text is missing from the final answer."""
    missing = missing_texts(trace.final_text, as_list(spec.text), spec.case_sensitive)
    return verdict(spec, not missing, f"missing {missing} in final text {preview(trace.final_text)}"
                        if missing else "")


@checks(FinalTextContainsAny)
async def check_final_text_contains_any(
    spec: FinalTextContainsAny, trace: Trace, case: EvalCase, ctx: ScoringContext
) -> Verdict:
    """Pass when any text occurs in the final answer."""
    texts = as_list(spec.text)
    found = present_texts(trace.final_text, texts, spec.case_sensitive)
    detail = f"found {found}" if found else f"none of {texts} in final text {preview(trace.final_text)}"
    return verdict(spec, bool(found), detail)


@checks(FinalTextExcludes)
async def check_final_text_excludes(
    spec: FinalTextExcludes, trace: Trace, case: EvalCase, ctx: ScoringContext
) -> Verdict:
    """Fail when any text occurs in the final answer."""
    found = present_texts(trace.final_text, as_list(spec.text), spec.case_sensitive)
    detail = f"final text contains {found}: {preview(trace.final_text)}" if found else ""
    return verdict(spec, not found, detail)


@checks(FinalTextRegex)
async def check_final_text_regex(spec: FinalTextRegex, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
    """Pass when the pattern matches somewhere in the final answer."""
    match = compile_regex(spec.pattern, spec.flags).search(trace.final_text)
    if match:
        return verdict(spec, True, f"matched {match.group(0)!r}")
    return verdict(spec, False, f"/{spec.pattern}/{spec.flags} not found in {preview(trace.final_text)}")


@checks(FinalTextMinLength)
async def check_final_text_min_length(
    spec: FinalTextMinLength, trace: Trace, case: EvalCase, ctx: ScoringContext
) -> Verdict:
    """Pass when the stripped final answer is long enough."""
    length = len(trace.final_text.strip())
    return verdict(spec, length >= spec.n, f"expected at least {spec.n} characters, got {length}")


@checks(AsksQuestion)
async def check_asks_question(spec: AsksQuestion, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
    """Pass when the presence of a question matches ``value``."""
    asks = "?" in _URL_OR_CODE.sub(" ", trace.final_text)
    expected = "a question" if spec.value else "no question"
    seen = "asks one" if asks else "asks none"
    detail = f"expected {expected}; final text {seen}: {preview(trace.final_text)}"
    return verdict(spec, asks == spec.value, detail)
