"""Checks of the state assertions: the files and the memory a rollout leaves."""

from __future__ import annotations

import posixpath
from itertools import zip_longest

from betterharness.agent.trace import Trace
from betterharness.evals.assertions.state import (
    FileAbsent,
    FileContains,
    FileEquals,
    FileExcludes,
    FileExists,
    MemoryContains,
    MemoryExcludes,
    MemoryUnchanged,
)
from betterharness.evals.assertions.text import as_list
from betterharness.evals.case import EvalCase
from betterharness.scoring.checks import checks, verdict
from betterharness.scoring.checks.text import found_in, missing_texts, present_texts, preview
from betterharness.scoring.context import ScoringContext
from betterharness.scoring.score import Verdict


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


@checks(FileEquals)
async def check_file_equals(spec: FileEquals, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
    """Pass when the file exists with exactly this content."""
    actual = find_file(trace.files, spec.path)
    if actual is None:
        return verdict(spec, False, _no_file(spec.path, trace.files))
    expected, actual = spec.content.rstrip(), actual.rstrip()
    equal = actual == expected
    return verdict(spec, equal, "" if equal else f"{spec.path}: {first_difference(expected, actual)}")


@checks(FileContains)
async def check_file_contains(spec: FileContains, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
    """Pass when the file exists and no text is missing from it."""
    actual = find_file(trace.files, spec.path)
    if actual is None:
        return verdict(spec, False, _no_file(spec.path, trace.files))
    missing = missing_texts(actual, as_list(spec.text), spec.case_sensitive)
    detail = f"{spec.path} lacks {missing}; content: {preview(actual)}" if missing else ""
    return verdict(spec, not missing, detail)


@checks(FileExcludes)
async def check_file_excludes(spec: FileExcludes, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
    """Fail when any text occurs in the file."""
    actual = find_file(trace.files, spec.path)
    if actual is None:
        return verdict(spec, True, f"file {spec.path!r} does not exist")
    found = present_texts(actual, as_list(spec.text), spec.case_sensitive)
    detail = f"{spec.path} contains {found}; content: {preview(actual)}" if found else ""
    return verdict(spec, not found, detail)


@checks(FileAbsent)
async def check_file_absent(spec: FileAbsent, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
    """Pass when the path holds no file."""
    actual = find_file(trace.files, spec.path)
    detail = "" if actual is None else f"file {spec.path!r} exists: {preview(actual)}"
    return verdict(spec, actual is None, detail)


@checks(FileExists)
async def check_file_exists(spec: FileExists, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
    """Pass when the path holds a file."""
    exists = find_file(trace.files, spec.path) is not None
    return verdict(spec, exists, "" if exists else _no_file(spec.path, trace.files))


def _memory_values(memory: dict[str, str], key: str | None) -> list[str] | None:
    if key is None:
        return list(memory.values())
    return [memory[key]] if key in memory else None


@checks(MemoryContains)
async def check_memory_contains(spec: MemoryContains, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
    """Pass when each text occurs in some searched memory value."""
    values = _memory_values(trace.memory, spec.key)
    if values is None:
        return verdict(spec, False, f"memory has no key {spec.key!r}; keys: {sorted(trace.memory)}")
    texts = as_list(spec.text)
    missing = [t for t in texts if not any(found_in(v, t, spec.case_sensitive) for v in values)]
    where = f"memory[{spec.key!r}]" if spec.key else "memory"
    return verdict(spec, not missing, f"{where} lacks {missing}; memory: {preview(str(trace.memory))}"
                        if missing else "")


@checks(MemoryExcludes)
async def check_memory_excludes(spec: MemoryExcludes, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
    """Fail when any text occurs in a searched memory value."""
    values = _memory_values(trace.memory, spec.key) or []
    found = [t for t in as_list(spec.text) if any(found_in(v, t, spec.case_sensitive) for v in values)]
    where = f"memory[{spec.key!r}]" if spec.key else "memory"
    return verdict(spec, not found, f"{where} contains {found}; memory: {preview(str(trace.memory))}"
                        if found else "")


@checks(MemoryUnchanged)
async def check_memory_unchanged(spec: MemoryUnchanged, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
    """Pass when the entry (or every entry) is as the case seeded it."""
    seed, final = case.environment.memory, trace.memory
    if spec.key is not None:
        before, after = seed.get(spec.key), final.get(spec.key)
        return verdict(spec, before == after, f"memory[{spec.key!r}] was {before!r}, now {after!r}")
    added = sorted(set(final) - set(seed))
    removed = sorted(set(seed) - set(final))
    changed = sorted(k for k in set(seed) & set(final) if seed[k] != final[k])
    detail = f"added {added}, removed {removed}, changed {changed}"
    return verdict(spec, not (added or removed or changed), detail)
