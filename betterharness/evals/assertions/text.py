"""Assertions on the final answer: texts it contains or excludes, a regex, a length, a question."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field, field_validator

from betterharness.evals.assertions.base import Assertion, assertion
from betterharness.safe_regex import RegexError, compile_regex

Texts = str | Annotated[list[str], Field(min_length=1)]
"""One text or a non-empty list of texts."""


def as_list(value: str | list[str]) -> list[str]:
    """``value`` as a list of texts."""
    return [value] if isinstance(value, str) else list(value)


@assertion("final_text_contains")
class FinalTextContains(Assertion):
    """The final answer contains every given text."""

    shorthand: ClassVar[str | None] = "text"
    text: Texts
    case_sensitive: bool = False


@assertion("final_text_contains_any")
class FinalTextContainsAny(Assertion):
    """The final answer contains at least one of the given texts."""

    shorthand: ClassVar[str | None] = "text"
    text: Texts
    case_sensitive: bool = False


@assertion("final_text_excludes")
class FinalTextExcludes(Assertion):
    """The final answer contains none of the given texts."""

    shorthand: ClassVar[str | None] = "text"
    text: Texts
    case_sensitive: bool = False


@assertion("final_text_regex")
class FinalTextRegex(Assertion):
    """The final answer matches a regular expression (RE2 syntax, searched anywhere, linear time)."""

    shorthand: ClassVar[str | None] = "pattern"
    pattern: str
    flags: str = Field(default="", pattern=r"^[ims]*$",
                       description="Letters of i, m, s (ignore case, multi-line, dot-all).")

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            compile_regex(value)
        except RegexError as exc:
            raise ValueError(f"invalid regular expression {value!r}: {exc}") from None
        return value


@assertion("final_text_min_length")
class FinalTextMinLength(Assertion):
    """The final answer has at least ``n`` characters (surrounding whitespace ignored)."""

    shorthand: ClassVar[str | None] = "n"
    n: int = Field(ge=1)


@assertion("asks_question")
class AsksQuestion(Assertion):
    """The final answer asks the user a question (a '?' outside URLs and code), or with false, does not."""

    shorthand: ClassVar[str | None] = "value"
    value: bool = True


# --- files ------------------------------------------------------------------------------------------


