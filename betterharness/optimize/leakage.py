"""The leakage check: a proposed edit may not quote optimization cases' ids, answers or rare literals."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from betterharness.evals.case import EvalCase

MIN_LITERAL = 4
_DISTINCT = re.compile(
    r"[\w.+-]+@[\w-]+\.[\w.]+"        # emails
    r"|https?://\S+"                  # urls
    r"|(?:/[\w.-]+){2,}"              # absolute paths with 2+ parts
    r"|\b\d[\d,.:-]{2,}\d\b"          # numbers, dates, times with 4+ characters
    r"|\b[A-Za-z]+[-_]\d+\b"          # ids like job-17, ORD_5521
)
_BUILTIN_TOOLS = {"ls", "read_file", "write_file", "edit_file", "glob", "grep", "memory_list", "memory_read",
                  "memory_write", "memory_delete"}
_TOOL_NAME_FIELDS = {"name", "tool", "tools", "names"}
_COMMON = {"true", "false", "none", "null", "done", "error", "status", "default"}


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, int | float) and not isinstance(value, bool) and abs(value) >= 100:
        yield str(value)


def case_literals(case: EvalCase) -> set[str]:
    """What an edit must not copy from a case: its id, its expected values, distinctive input literals.

    Tool names are the harness's own vocabulary, so they are never counted as leaks.
    """
    literals = {case.id}
    for assertion in case.success:
        if assertion.name == "llm_judge":
            continue
        values = assertion.model_dump(mode="json", by_alias=True)
        literals.update(_strings({k: v for k, v in values.items() if k not in _TOOL_NAME_FIELDS}))
    texts = [m.content or "" for m in case.input.messages]
    texts += [str(r.value) for t in case.environment.tools for r in t.responses]
    texts += list(case.environment.files.values()) + list(case.environment.memory.values())
    for text in texts:
        literals.update(_DISTINCT.findall(text))
    vocabulary = {t.name.lower() for t in case.environment.tools} | _BUILTIN_TOOLS
    return {x.strip() for x in literals
            if len(x.strip()) >= MIN_LITERAL and x.strip().lower() not in _COMMON | vocabulary}


NUMBER_WORDS = {"zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
                "six": "6", "seven": "7", "eight": "8", "nine": "9"}
_WORD = re.compile(r"[a-z]+")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def normalize(text: str) -> str:
    """``text`` as leakage matching sees it: lower case, digits for number words, letters and digits only.

    So ``REF-5503``, ``ref 5503``, ``Ref 55 03`` and ``ref five five zero three`` are the same literal.
    """
    words = _WORD.sub(lambda m: NUMBER_WORDS.get(m.group(0), m.group(0)), text.casefold())
    return _NOT_ALNUM.sub("", words)


def leaks(old_text: str, new_text: str, cases: Sequence[EvalCase]) -> list[str]:
    """Literals of ``cases`` that appear in ``new_text`` but not in ``old_text``, compared normalised
    (case, spacing, punctuation and spelled-out digits do not hide a copy)."""
    before, after = normalize(old_text), normalize(new_text)
    found = set()
    for case in cases:
        for literal in case_literals(case):
            needle = normalize(literal)
            if len(needle) >= MIN_LITERAL and needle in after and needle not in before:
                found.add(literal)
    return sorted(found)
