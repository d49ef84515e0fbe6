"""The built-in success assertions on the final text, the files and the memory of a rollout.

Tool-call assertions live in ``tool_assertions.py`` and the LLM judge in ``judge.py``; both are imported
at the bottom so that importing this module registers every built-in. A case writes each one as a
single-key mapping under ``success:``; ``shorthand`` names the field a bare scalar or list fills.
"""

from __future__ import annotations

import posixpath
import re
from itertools import zip_longest
from typing import TYPE_CHECKING, Annotated, ClassVar

from pydantic import Field, field_validator

from betterharness.scoring.registry import Assertion, Verdict, assertion

if TYPE_CHECKING:
    from betterharness.evals.case import EvalCase
    from betterharness.scoring.context import ScoringContext
    from betterharness.trace import Trace

Texts = str | Annotated[list[str], Field(min_length=1)]
"""One text or a non-empty list of texts."""

PREVIEW_CHARS = 160


def as_list(value: str | list[str]) -> list[str]:
    """``value`` as a list of texts."""
    return [value] if isinstance(value, str) else list(value)


def preview(text: str, limit: int = PREVIEW_CHARS) -> str:
    """A short quoted excerpt of ``text`` for a verdict detail."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


def _found(haystack: str, needle: str, case_sensitive: bool) -> bool:
    return needle in haystack if case_sensitive else needle.casefold() in haystack.casefold()


def missing_texts(haystack: str, needles: list[str], case_sensitive: bool) -> list[str]:
    """The needles that do not occur in ``haystack``."""
    return [n for n in needles if not _found(haystack, n, case_sensitive)]


def present_texts(haystack: str, needles: list[str], case_sensitive: bool) -> list[str]:
    """The needles that occur in ``haystack``."""
    return [n for n in needles if _found(haystack, n, case_sensitive)]


# --- final text -------------------------------------------------------------------------------------


@assertion("final_text_contains")
class FinalTextContains(Assertion):
    """The final answer contains every given text."""

    shorthand: ClassVar[str | None] = "text"
    text: Texts
    case_sensitive: bool = False

    async def check(self, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
        """Pass when no text is missing from the final answer."""
        missing = missing_texts(trace.final_text, as_list(self.text), self.case_sensitive)
        return self.verdict(not missing, f"missing {missing} in final text {preview(trace.final_text)}"
                            if missing else "")


@assertion("final_text_contains_any")
class FinalTextContainsAny(Assertion):
    """The final answer contains at least one of the given texts."""

    shorthand: ClassVar[str | None] = "text"
    text: Texts
    case_sensitive: bool = False

    async def check(self, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
        """Pass when any text occurs in the final answer."""
        texts = as_list(self.text)
        found = present_texts(trace.final_text, texts, self.case_sensitive)
        detail = f"found {found}" if found else f"none of {texts} in final text {preview(trace.final_text)}"
        return self.verdict(bool(found), detail)


@assertion("final_text_excludes")
class FinalTextExcludes(Assertion):
    """The final answer contains none of the given texts."""

    shorthand: ClassVar[str | None] = "text"
    text: Texts
    case_sensitive: bool = False

    async def check(self, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
        """Fail when any text occurs in the final answer."""
        found = present_texts(trace.final_text, as_list(self.text), self.case_sensitive)
        detail = f"final text contains {found}: {preview(trace.final_text)}" if found else ""
        return self.verdict(not found, detail)


REGEX_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}


@assertion("final_text_regex")
class FinalTextRegex(Assertion):
    """The final answer matches a regular expression (Python ``re.search``)."""

    shorthand: ClassVar[str | None] = "pattern"
    pattern: str
    flags: str = Field(default="", pattern=r"^[imsx]*$", description="Letters of i, m, s, x (re flags).")

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {value!r}: {exc}") from None
        return value

    async def check(self, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
        """Pass when the pattern matches somewhere in the final answer."""
        flags = 0
        for letter in self.flags:
            flags |= REGEX_FLAGS[letter]
        match = re.search(self.pattern, trace.final_text, flags)
        if match:
            return self.verdict(True, f"matched {match.group(0)!r}")
        return self.verdict(False, f"/{self.pattern}/{self.flags} not found in {preview(trace.final_text)}")


@assertion("final_text_min_length")
class FinalTextMinLength(Assertion):
    """The final answer has at least ``n`` characters (surrounding whitespace ignored)."""

    shorthand: ClassVar[str | None] = "n"
    n: int = Field(ge=1)

    async def check(self, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
        """Pass when the stripped final answer is long enough."""
        length = len(trace.final_text.strip())
        return self.verdict(length >= self.n, f"expected at least {self.n} characters, got {length}")


_URL_OR_CODE = re.compile(r"https?://\S+|```.*?```|`[^`\n]*`", re.DOTALL)


@assertion("asks_question")
class AsksQuestion(Assertion):
    """The final answer asks the user a question (a '?' outside URLs and code), or with false, does not."""

    shorthand: ClassVar[str | None] = "value"
    value: bool = True

    async def check(self, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
        """Pass when the presence of a question matches ``value``."""
        asks = "?" in _URL_OR_CODE.sub(" ", trace.final_text)
        expected = "a question" if self.value else "no question"
        seen = "asks one" if asks else "asks none"
        detail = f"expected {expected}; final text {seen}: {preview(trace.final_text)}"
        return self.verdict(asks == self.value, detail)


# --- files ------------------------------------------------------------------------------------------


def _norm_path(path: str) -> str:
    return posixpath.normpath("/" + path.strip().lstrip("/"))


def find_file(files: dict[str, str], path: str) -> str | None:
    """The content of ``path`` in ``files``; ``notes.md``, ``/notes.md`` and ``./notes.md`` are the same."""
    if path in files:
        return files[path]
    wanted = _norm_path(path)
    return next((content for key, content in files.items() if _norm_path(key) == wanted), None)


def _no_file(path: str, files: dict[str, str]) -> str:
    return f"file {path!r} does not exist; files: {sorted(files)}"


def first_difference(expected: str, actual: str) -> str:
    """Where two texts first differ, by line."""
    pairs = zip_longest(expected.splitlines(), actual.splitlines())
    for number, (want, got) in enumerate(pairs, start=1):
        if want != got:
            return f"line {number}: expected {want!r}, got {got!r}"
    return "they differ only in line endings"


@assertion("file_equals")
class FileEquals(Assertion):
    """A file's content equals the given text (trailing whitespace at the end of the file ignored)."""

    path: str
    content: str

    async def check(self, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
        """Pass when the file exists with exactly this content."""
        actual = find_file(trace.files, self.path)
        if actual is None:
            return self.verdict(False, _no_file(self.path, trace.files))
        expected, actual = self.content.rstrip(), actual.rstrip()
        equal = actual == expected
        return self.verdict(equal, "" if equal else f"{self.path}: {first_difference(expected, actual)}")


@assertion("file_contains")
class FileContains(Assertion):
    """A file exists and contains every given text (case-sensitive unless told otherwise)."""

    path: str
    text: Texts
    case_sensitive: bool = True

    async def check(self, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
        """Pass when the file exists and no text is missing from it."""
        actual = find_file(trace.files, self.path)
        if actual is None:
            return self.verdict(False, _no_file(self.path, trace.files))
        missing = missing_texts(actual, as_list(self.text), self.case_sensitive)
        detail = f"{self.path} lacks {missing}; content: {preview(actual)}" if missing else ""
        return self.verdict(not missing, detail)


@assertion("file_excludes")
class FileExcludes(Assertion):
    """A file contains none of the given texts (a missing file passes: it contains nothing)."""

    path: str
    text: Texts
    case_sensitive: bool = True

    async def check(self, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
        """Fail when any text occurs in the file."""
        actual = find_file(trace.files, self.path)
        if actual is None:
            return self.verdict(True, f"file {self.path!r} does not exist")
        found = present_texts(actual, as_list(self.text), self.case_sensitive)
        detail = f"{self.path} contains {found}; content: {preview(actual)}" if found else ""
        return self.verdict(not found, detail)


@assertion("file_absent")
class FileAbsent(Assertion):
    """No file exists at the given path at the end of the rollout."""

    shorthand: ClassVar[str | None] = "path"
    path: str

    async def check(self, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
        """Pass when the path holds no file."""
        actual = find_file(trace.files, self.path)
        detail = "" if actual is None else f"file {self.path!r} exists: {preview(actual)}"
        return self.verdict(actual is None, detail)


@assertion("file_exists")
class FileExists(Assertion):
    """A file exists at the given path at the end of the rollout."""

    shorthand: ClassVar[str | None] = "path"
    path: str

    async def check(self, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
        """Pass when the path holds a file."""
        exists = find_file(trace.files, self.path) is not None
        return self.verdict(exists, "" if exists else _no_file(self.path, trace.files))


# --- memory -----------------------------------------------------------------------------------------


def _memory_values(memory: dict[str, str], key: str | None) -> list[str] | None:
    if key is None:
        return list(memory.values())
    return [memory[key]] if key in memory else None


@assertion("memory_contains")
class MemoryContains(Assertion):
    """Memory holds every given text: in the value of ``key``, or else in some memory value."""

    shorthand: ClassVar[str | None] = "text"
    text: Texts
    key: str | None = None
    case_sensitive: bool = False

    async def check(self, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
        """Pass when each text occurs in some searched memory value."""
        values = _memory_values(trace.memory, self.key)
        if values is None:
            return self.verdict(False, f"memory has no key {self.key!r}; keys: {sorted(trace.memory)}")
        texts = as_list(self.text)
        missing = [t for t in texts if not any(_found(v, t, self.case_sensitive) for v in values)]
        where = f"memory[{self.key!r}]" if self.key else "memory"
        return self.verdict(not missing, f"{where} lacks {missing}; memory: {preview(str(trace.memory))}"
                            if missing else "")


@assertion("memory_excludes")
class MemoryExcludes(Assertion):
    """Memory holds none of the given texts: in the value of ``key``, or else in any memory value."""

    shorthand: ClassVar[str | None] = "text"
    text: Texts
    key: str | None = None
    case_sensitive: bool = False

    async def check(self, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
        """Fail when any text occurs in a searched memory value."""
        values = _memory_values(trace.memory, self.key) or []
        found = [t for t in as_list(self.text) if any(_found(v, t, self.case_sensitive) for v in values)]
        where = f"memory[{self.key!r}]" if self.key else "memory"
        return self.verdict(not found, f"{where} contains {found}; memory: {preview(str(trace.memory))}"
                            if found else "")


@assertion("memory_unchanged")
class MemoryUnchanged(Assertion):
    """Memory entry ``key`` (or, without a key, the whole memory) equals the case's seed."""

    shorthand: ClassVar[str | None] = "key"
    key: str | None = None

    async def check(self, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
        """Pass when the entry (or every entry) is as the case seeded it."""
        seed, final = case.environment.memory, trace.memory
        if self.key is not None:
            before, after = seed.get(self.key), final.get(self.key)
            return self.verdict(before == after, f"memory[{self.key!r}] was {before!r}, now {after!r}")
        added = sorted(set(final) - set(seed))
        removed = sorted(set(seed) - set(final))
        changed = sorted(k for k in set(seed) & set(final) if seed[k] != final[k])
        detail = f"added {added}, removed {removed}, changed {changed}"
        return self.verdict(not (added or removed or changed), detail)


from betterharness.scoring import bfcl, judge, tool_assertions  # noqa: E402, F401  (registers the rest)
