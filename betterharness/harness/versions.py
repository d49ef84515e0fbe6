"""Harness versions on disk (``versions/<hash>.json``) and the diffs between them."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

from betterharness.harness.templates import Harness, surface_path
from betterharness.store import write_json


def diff(old: Harness, new: Harness) -> str:
    """A unified diff of every surface that differs between two versions, by template file."""
    chunks = []
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


class VersionStore:
    """Every harness version an optimize run produced, keyed by hash."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def save(self, harness: Harness) -> None:
        """Store a version (idempotent)."""
        path = self.folder / f"{harness.hash}.json"
        if not path.exists():
            write_json(path, {"hash": harness.hash, **harness.model_dump(mode="json")})

    def load(self, version: str) -> Harness:
        """Read a stored version back."""
        data = json.loads((self.folder / f"{version}.json").read_text(encoding="utf-8"))
        data.pop("hash", None)
        return Harness.model_validate(data)
