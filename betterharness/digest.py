"""Canonical JSON and content digests: the one way the package names a value by its content."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace, non-JSON values as their ``str``."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def sha256_hex(text: str | bytes) -> str:
    """The hex sha256 of ``text`` (UTF-8 when a string)."""
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def digest_of(value: Any) -> str:
    """The hex sha256 of ``value``'s canonical JSON."""
    return sha256_hex(canonical_json(value))


def digest_files(root: Path, names: Iterable[str]) -> str:
    """sha256 over the relative paths and bytes of the named files under ``root`` (missing ones count as absent)."""
    sha = hashlib.sha256()
    for name in sorted(set(names)):
        path = root / name
        sha.update(name.encode())
        sha.update(b"\0")
        sha.update(path.read_bytes() if path.is_file() else b"\x00<absent>")
    return sha.hexdigest()
