"""Shared by every importer: acceptable-list helpers, validation, stable YAML writing and dedup by digest."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from betterharness.evals.case import EvalCase
from betterharness.evals.load import first_error

NEUTRAL_RESULT: dict[str, Any] = {"status": "ok"}
"""What an imported mock tool returns when nothing more specific was recorded."""

OPTIONAL = ""
"""BFCL's marker in an acceptable list: the argument may be omitted."""

SCHEMA_SEARCH_DEPTH = 3
FLOW_CHARS = 90
"""Mappings of scalars up to this size are written on one line."""


# --- acceptable-list form ---------------------------------------------------------------------------


def literal(spec_value: Any) -> Any:
    """A concrete value from an acceptable value: nested acceptable-list dicts take their first choices."""
    if isinstance(spec_value, dict) and all(isinstance(v, list) for v in spec_value.values()):
        return {k: first_value(v) for k, v in spec_value.items() if OPTIONAL not in v and v}
    if isinstance(spec_value, list):
        return [literal(item) for item in spec_value]
    return spec_value


def first_value(acceptable: list[Any]) -> Any:
    """The first acceptable value that is not the optional marker, made concrete (ValueError if none)."""
    for value in acceptable:
        if value != OPTIONAL:
            return literal(value)
    raise ValueError(f"no acceptable value besides the optional marker in {acceptable!r}")


def to_spec(value: Any) -> Any:
    """A literal value in acceptable-list form (dicts become ``{key: [value]}``), so it matches itself."""
    if isinstance(value, dict):
        return {k: [to_spec(v)] for k, v in value.items()}
    if isinstance(value, list):
        return [to_spec(item) for item in value]
    return value


def ideal_arguments(spec: dict[str, list[Any]]) -> dict[str, Any]:
    """Arguments for the ideal trajectory: the first acceptable value of each non-optional argument."""
    return {name: first_value(values) for name, values in spec.items() if OPTIONAL not in values and values}


# --- digests, paths, YAML ---------------------------------------------------------------------------


def digest(record: Any) -> str:
    """``sha256:<hex>`` of the record as canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def schema_ref(case_path: Path, dest: Path) -> str:
    """The relative path from ``case_path`` to the suite's ``schema.json``.

    It is looked for in ``dest`` and the two folders above it; if absent, it is assumed to sit in
    ``dest``'s parent (the suite root, when ``dest`` is ``evals/imported``).
    """
    root = dest.resolve().parent
    for candidate in [dest.resolve(), *dest.resolve().parents][:SCHEMA_SEARCH_DEPTH]:
        if (candidate / "schema.json").is_file():
            root = candidate
            break
    return Path(os.path.relpath(root / "schema.json", case_path.resolve().parent)).as_posix()


class _CaseDumper(yaml.SafeDumper):
    """A SafeDumper that indents lists under keys and writes lists of scalars on one line."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        """Indent block sequences under their key, as hand-written cases do."""
        super().increase_indent(flow, False)


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flat = all(not isinstance(item, dict | list) for item in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flat)


def _represent_dict(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.Node:
    flat = all(not isinstance(v, dict | list) for v in data.values()) and len(repr(data)) <= FLOW_CHARS
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=flat and bool(data))


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_CaseDumper.add_representer(list, _represent_list)
_CaseDumper.add_representer(dict, _represent_dict)
_CaseDumper.add_representer(str, _represent_str)


def render_yaml(data: dict[str, Any], schema: str) -> str:
    """The case file's text: the schema comment line, then the case in its given key order."""
    body = yaml.dump(data, Dumper=_CaseDumper, sort_keys=False, allow_unicode=True, width=120)
    return f"# yaml-language-server: $schema={schema}\n{body}"


def validate_case(
    data: dict[str, Any], *, where: str, key_of: Callable[[Sequence[Any]], str] | None = None
) -> EvalCase:
    """``EvalCase.model_validate(data)``, or a CaseError naming the source (``where``) and the field."""
    try:
        return EvalCase.model_validate(data)
    except ValidationError as exc:
        loc, error = first_error(exc)
        if key_of:
            error.key = key_of(loc)
        raise error.located(where, "correct that field of the source record and import again") from None


# --- writing with dedup -----------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What one import did: the case files created, updated (source changed) and left unchanged."""

    created: list[Path] = field(default_factory=list)
    updated: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)

    def add(self, other: ImportReport) -> None:
        """Add ``other``'s files into this report."""
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged

    @property
    def total(self) -> int:
        """How many cases the import produced."""
        return len(self.created) + len(self.updated) + len(self.unchanged)

    def summary(self) -> str:
        """``N created, N updated, N unchanged``."""
        return f"{len(self.created)} created, {len(self.updated)} updated, {len(self.unchanged)} unchanged"


_DIGEST_LINE = re.compile(r"^\s+digest:\s*['\"]?(sha256:[0-9a-f]{64})", re.M)


def existing_digest(path: Path) -> str | None:
    """The source digest recorded in the case file at ``path`` (None when there is no file or digest)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    found = _DIGEST_LINE.findall(text)
    if found:
        return str(found[-1])
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    provenance = data.get("provenance") if isinstance(data, dict) else None
    return provenance.get("digest") if isinstance(provenance, dict) else None


def skip_unchanged(path: Path, source_digest: str, report: ImportReport, force: bool = False) -> bool:
    """True (and counted as unchanged) when ``path`` already holds a case from the same source record.

    A file whose digest matches is left alone, so hand edits to imported cases (say, a status change)
    survive re-imports; ``force`` rewrites it anyway.
    """
    if force or existing_digest(path) != source_digest:
        return False
    report.unchanged.append(path)
    return True


def write_case(
    data: dict[str, Any], path: Path, dest: Path, report: ImportReport, force: bool = False
) -> None:
    """Write the (already validated) case to ``path`` unless it holds a case from the same source record."""
    if skip_unchanged(path, data["provenance"]["digest"], report, force):
        return
    exists = path.is_file()
    text = render_yaml(data, schema_ref(path, dest))
    if exists and path.read_text(encoding="utf-8") == text:
        report.unchanged.append(path)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    (report.updated if exists else report.created).append(path)


@dataclass(frozen=True)
class Importer:
    """One importer as the ``import`` command offers it: its help line, its arguments and its run.

    ``run`` returns, per dataset part imported, a label, its report and the folder it landed in.
    """

    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], list[tuple[str, ImportReport, Path]]]
