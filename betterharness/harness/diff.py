"""The differences between two harness versions: a unified diff by template file, and the surfaces changed."""

from __future__ import annotations

import difflib

from betterharness.harness.templates import Harness, surface_path


def diff(old: Harness, new: Harness) -> str:
    """A unified diff of every surface that differs between two versions, by template file."""
    chunks: list[str] = []
    for surface in sorted(set(old.sources) | set(new.sources)):
        before, after = old.sources.get(surface, ""), new.sources.get(surface, "")
        if before != after:
            path = surface_path(surface)
            chunks.extend(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                               fromfile=f"a/{path}", tofile=f"b/{path}"))
    text = "".join(chunks)
    return text if text.endswith("\n") or not text else text + "\n"


def changed_surfaces(old: Harness, new: Harness) -> list[str]:
    """The surfaces whose source differs."""
    return sorted(s for s in set(old.sources) | set(new.sources) if old.sources.get(s) != new.sources.get(s))
