"""Assertions on the state a rollout leaves: the files of its virtual filesystem and its memory."""

from __future__ import annotations

from typing import ClassVar

from betterharness.evals.assertions.base import Assertion, assertion
from betterharness.evals.assertions.text import Texts


@assertion("file_equals")
class FileEquals(Assertion):
    """A file's content equals the given text (trailing whitespace at the end of the file ignored)."""

    path: str
    content: str


@assertion("file_contains")
class FileContains(Assertion):
    """A file exists and contains every given text (case-sensitive unless told otherwise)."""

    path: str
    text: Texts
    case_sensitive: bool = True


@assertion("file_excludes")
class FileExcludes(Assertion):
    """A file contains none of the given texts (a missing file passes: it contains nothing)."""

    path: str
    text: Texts
    case_sensitive: bool = True


@assertion("file_absent")
class FileAbsent(Assertion):
    """No file exists at the given path at the end of the rollout."""

    shorthand: ClassVar[str | None] = "path"
    path: str


@assertion("file_exists")
class FileExists(Assertion):
    """A file exists at the given path at the end of the rollout."""

    shorthand: ClassVar[str | None] = "path"
    path: str


# --- memory -----------------------------------------------------------------------------------------


@assertion("memory_contains")
class MemoryContains(Assertion):
    """Memory holds every given text: in the value of ``key``, or else in some memory value."""

    shorthand: ClassVar[str | None] = "text"
    text: Texts
    key: str | None = None
    case_sensitive: bool = False


@assertion("memory_excludes")
class MemoryExcludes(Assertion):
    """Memory holds none of the given texts: in the value of ``key``, or else in any memory value."""

    shorthand: ClassVar[str | None] = "text"
    text: Texts
    key: str | None = None
    case_sensitive: bool = False


@assertion("memory_unchanged")
class MemoryUnchanged(Assertion):
    """Memory entry ``key`` (or, without a key, the whole memory) equals the case's seed."""

    shorthand: ClassVar[str | None] = "key"
    key: str | None = None
