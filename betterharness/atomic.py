"""Files written whole or not at all: a reader never sees half a file."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


FILE_MODE = 0o666 & ~_umask()
"""The mode of every file written: what ``open`` would give (temp files are created 0600)."""


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (a temp file beside it, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp", encoding="utf-8") as f:
        f.write(text)
    os.chmod(f.name, FILE_MODE)
    os.replace(f.name, path)


def to_json(value: Any) -> str:
    """``value`` as indented JSON text: a pydantic model by its own dump, anything else by ``json``."""
    if isinstance(value, BaseModel):
        return value.model_dump_json(indent=2)
    return json.dumps(value, indent=2, default=str)


def write_json(path: Path, value: Any) -> None:
    """Write ``value`` as JSON atomically."""
    write_text(path, to_json(value) + "\n")
