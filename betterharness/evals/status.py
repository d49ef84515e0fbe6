"""A case's ``status`` (active, draft, quarantined), edited in its file without touching the rest."""

from __future__ import annotations

import re
from pathlib import Path

from betterharness.errors import CaseError
from betterharness.evals.load import load_all, load_case_file

_STATUS = re.compile(r"^status:[ \t]*[^#\r\n]*?(?P<rest>[ \t]*(#[^\r\n]*)?)(?P<eol>\r?\n)?$")


def set_status(text: str, status: str) -> str:
    """``text`` with its top-level ``status:`` set (else added after ``tier:`` or ``id:``), the rest as is."""
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        match = _STATUS.match(line)
        if match:
            lines[i] = f"status: {status}{match['rest']}{match['eol'] or ''}"
            return "".join(lines)
    for key in ("tier:", "id:"):
        for i, line in enumerate(lines):
            if line.startswith(key):
                eol = "\r\n" if line.endswith("\r\n") else "\n"
                lines[i] = line if line.endswith("\n") else line + eol
                lines.insert(i + 1, f"status: {status}{eol}")
                return "".join(lines)
    return f"status: {status}\n{text}"


def quarantine(case_ids: list[str], root: Path) -> list[str]:
    """Set ``status: quarantined`` in the files of ``case_ids`` under ``root``; say what was done per case."""
    files = load_all(root).files
    done = []
    for case_id in case_ids:
        path = files.get(case_id)
        if path is None:
            done.append(f"not found under {root}: {case_id}")
            continue
        original = path.read_bytes()
        text = original.decode("utf-8")
        if load_case_file(path).status == "quarantined":
            done.append(f"already quarantined: {path}")
            continue
        path.write_bytes(set_status(text, "quarantined").encode("utf-8"))
        try:
            ok = load_case_file(path).status == "quarantined"
        except CaseError:
            ok = False
        if not ok:
            path.write_bytes(original)
            done.append(f"could not edit (left unchanged; set `status: quarantined` by hand): {path}")
            continue
        done.append(f"quarantined: {path}")
    return done
