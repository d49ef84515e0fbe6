"""The format version every file of a run folder and of the cache carries, and how it is checked.

A JSON document carries ``"format_version"`` at its top level; each record of a JSON-lines file
(a Trace, a Score) carries it as a field, so every line stays one record for ``jq`` and friends. A
document without one was written before versioning (version 0): it is read when its content still
validates. A file from a newer release is refused with a message that says so.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from betterharness.atomic import write_json
from betterharness.errors import BHError
from betterharness.formats import FORMAT_KEY, FORMAT_VERSION

M = TypeVar("M", bound=BaseModel)
log = logging.getLogger(__name__)


class StoreError(BHError):
    """A run-folder or cache file that cannot be read: unreadable, malformed, or from a newer release."""


def stamped(value: BaseModel | dict[str, Any]) -> dict[str, Any]:
    """``value`` as a JSON mapping that records the format version first."""
    data = value.model_dump(mode="json") if isinstance(value, BaseModel) else dict(value)
    data.pop(FORMAT_KEY, None)
    return {FORMAT_KEY: FORMAT_VERSION, **data}


def check_version(version: Any, path: Path | str) -> None:
    """Refuse a file written by a newer release (or with a nonsense version)."""
    if not isinstance(version, int) or version < 0:
        raise StoreError(f"unreadable format version {version!r}", file=path, key=FORMAT_KEY,
                         fix="the file is damaged: delete it, or the run folder, and run again")
    if version > FORMAT_VERSION:
        raise StoreError(f"written by a newer betterharness (format {version}; this one reads up to "
                         f"{FORMAT_VERSION})", file=path, key=FORMAT_KEY,
                         fix="upgrade betterharness, or run again into a new outputs folder")


def save_json(path: Path, value: BaseModel | dict[str, Any]) -> None:
    """Write a JSON document atomically, stamped with the format version."""
    write_json(path, stamped(value))


def load_json(path: Path) -> dict[str, Any] | None:
    """A stamped JSON document without its stamp; None when the file does not exist."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(f"cannot read {path.name}: {exc.strerror}", file=path) from None
    except json.JSONDecodeError as exc:
        raise StoreError(f"{path.name} is not valid JSON: {exc.msg}", file=f"{path}:{exc.lineno}",
                         fix="the file is damaged: delete it (or the run folder) and run again") from None
    if not isinstance(data, dict):
        raise StoreError(f"{path.name} does not hold a JSON object", file=path,
                         fix="delete it (or the run folder) and run again")
    check_version(data.pop(FORMAT_KEY, 0), path)
    return data


def load_model(path: Path, model: type[M]) -> M | None:
    """A stamped JSON document as ``model``; None when the file does not exist."""
    data = load_json(path)
    if data is None:
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise StoreError(f"{path.name} is not a valid {model.__name__}: {error['msg']}", file=path,
                         key=".".join(map(str, error["loc"])),
                         fix="it was written by an incompatible release or damaged: run again into a new "
                             "outputs folder") from None


def _refuse_if_newer(line: str, where: str) -> None:
    """A record that does not validate may be a newer release's: refuse it rather than skip it."""
    try:
        raw = json.loads(line)
    except ValueError:
        return
    if isinstance(raw, dict) and isinstance(raw.get(FORMAT_KEY), int):
        check_version(raw[FORMAT_KEY], where)


def read_jsonl(path: Path, model: type[M], *, strict: bool = False, fix: str = "") -> list[M]:
    """Every record of a JSON-lines file as ``model``; a torn last line (an interrupted run) is skipped.

    With ``strict``, any other line that does not validate is a StoreError naming it; otherwise it is
    skipped. A missing file has no records.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise StoreError(f"cannot read {path.name}: {exc.strerror}", file=path, fix=fix) from None
    items = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = model.model_validate_json(line)
            check_version(getattr(item, FORMAT_KEY, 0), f"{path}:{number}")
            items.append(item)
        except ValidationError as exc:
            _refuse_if_newer(line, f"{path}:{number}")
            torn = exc.errors()[0]["type"] == "json_invalid" and line.startswith('{"')  # a record cut short
            if torn and number != len(lines):
                log.warning("%s:%d is a torn line (an interrupted write); skipped", path, number)
            if strict and not torn:
                raise StoreError(f"line {number} is not a valid {model.__name__}: {exc.errors()[0]['msg']}",
                                 file=f"{path}:{number}", fix=fix) from None
    return items


__all__ = ["FORMAT_KEY", "FORMAT_VERSION", "StoreError", "load_json", "load_model", "read_jsonl", "save_json",
           "stamped"]
