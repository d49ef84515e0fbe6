"""Every harness version a run produced, one file each: ``versions/<hash>.json``."""

from __future__ import annotations

from pathlib import Path

from betterharness.harness.templates import Harness
from betterharness.store.format import StoreError, load_json, save_json


class VersionStore:
    """Harness versions keyed by hash."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def save(self, harness: Harness) -> None:
        """Store a version (idempotent)."""
        path = self.folder / f"{harness.hash}.json"
        if not path.exists():
            save_json(path, {"hash": harness.hash, **harness.model_dump(mode="json")})

    def load(self, version: str) -> Harness:
        """Read a stored version back."""
        path = self.folder / f"{version}.json"
        data = load_json(path)
        if data is None:
            raise StoreError(f"harness version {version!r} is not stored in this run", file=path,
                             fix="the run folder is incomplete: run the experiment again to rebuild it")
        data.pop("hash", None)
        return Harness.model_validate(data)
