"""Regular expressions that cannot hang: RE2 matches in time linear in the text, whatever the pattern.

A model chooses ``grep`` patterns and globs, and a case author chooses ``final_text_regex`` patterns;
with a backtracking engine one pattern like ``(a+)+$`` could stall a run, and no time limit can
interrupt a match in progress. RE2 accepts Python's syntax except backreferences and lookaround.
"""

from __future__ import annotations

import re
from typing import Any

import re2

MAX_PATTERN = 4096
"""Characters a pattern may have."""
MAX_MEMORY = 8 << 20
"""Bytes RE2 may use for one compiled pattern (a pattern needing more is refused)."""
FLAGS = frozenset("ims")
"""Flag letters that RE2 honours inline: ignore case, multi-line anchors, dot matches newline."""

Pattern = Any
"""A compiled RE2 pattern: ``search``, ``fullmatch``, ``finditer``… as in ``re``."""


class RegexError(ValueError):
    """A pattern RE2 refuses: malformed, too large, or using backreferences or lookaround."""


def compile_regex(pattern: str, flags: str = "") -> Pattern:
    """Compile ``pattern`` (with flag letters from ``ims``) for linear-time matching; RegexError if refused."""
    unknown = sorted(set(flags) - FLAGS)
    if unknown:
        raise RegexError(f"unsupported flag(s) {''.join(unknown)!r}: use i, m, s")
    if len(pattern) > MAX_PATTERN:
        raise RegexError(f"pattern is {len(pattern)} characters; at most {MAX_PATTERN}")
    options = re2.Options()
    options.log_errors = False
    options.max_mem = MAX_MEMORY
    try:
        return re2.compile(f"(?{flags}){pattern}" if flags else pattern, options)
    except re2.error as exc:
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
    try:  # compiling is safe with any engine (only matching backtracks): Python's words are the clearer
        re.compile(pattern)
    except re.error as exc:
        raise RegexError(str(exc)) from None
    raise RegexError(f"{detail}: backreferences and lookaround are not supported (the engine is RE2, which "
                     "never backtracks)")
