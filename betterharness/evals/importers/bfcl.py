"""Import the Berkeley Function Calling Leaderboard (the data in the ``bfcl-eval`` wheel) as eval cases.

Each single-turn entry becomes one case: the question as messages, each offered function as a mock tool
(BFCL's parameter types turned into JSON Schema) that returns a neutral result, and a ``bfcl_calls``
assertion holding BFCL's possible answer, so a rollout is scored as BFCL's AST checker scores it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
from pathlib import Path
from typing import Any

from betterharness.errors import BHError, CaseError
from betterharness.evals.importers.common import (
    NEUTRAL_RESULT,
    OPTIONAL,
    Importer,
    ImportReport,
    digest,
    ideal_arguments,
    skip_unchanged,
    validate_case,
    write_case,
)

BFCL_PIP = "pip install --no-deps bfcl-eval==2026.3.23"
"""How to install the data (its own dependencies are not needed to read it)."""

CATEGORIES: dict[str, str] = {
    "simple": "simple_python",
    "simple_python": "simple_python",
    "multiple": "multiple",
    "parallel": "parallel",
    "parallel_multiple": "parallel_multiple",
    "irrelevance": "irrelevance",
    "live_simple": "live_simple",
    "live_multiple": "live_multiple",
    "live_parallel": "live_parallel",
    "live_parallel_multiple": "live_parallel_multiple",
    "live_irrelevance": "live_irrelevance",
}
"""Accepted category names -> BFCL's dataset name (``BFCL_v4_<name>.json``)."""

DEFAULT_CATEGORIES = ["simple", "multiple", "parallel", "parallel_multiple", "irrelevance"]

TYPES: dict[str, str | None] = {
    "dict": "object", "float": "number", "tuple": "array", "any": None,
    "str": "string", "int": "integer", "bool": "boolean", "list": "array",
    "string": "string", "integer": "integer", "number": "number", "boolean": "boolean",
    "array": "array", "object": "object", "null": "null",
}
"""BFCL (Python-flavoured) type names -> JSON Schema types; ``None`` means any value (no ``type``)."""

FINAL_TEXT = "Done: the requested function calls were made."
DECLINE_TEXT = "None of the available functions can do this, so I made no call."
TOOL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_\-]{0,63}$")


def data_dir() -> Path:
    """The ``data/`` folder of the installed ``bfcl_eval`` package (found without importing it)."""
    spec = importlib.util.find_spec("bfcl_eval")
    if spec is None or not spec.submodule_search_locations:
        raise BHError("the BFCL data is not installed (package bfcl-eval)", fix=f"run `{BFCL_PIP}`")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def category_name(name: str) -> str:
    """BFCL's dataset name for a category given on the command line."""
    if name not in CATEGORIES:
        raise BHError(f"unknown BFCL category {name!r}", key="--categories", value=name,
                      allowed=list(CATEGORIES))
    return CATEGORIES[name]


def convert_schema(node: Any) -> Any:
    """A BFCL parameter schema as valid JSON Schema: dict→object, float→number, tuple→array, any→{}.

    Descriptions, enums, defaults and the rest are kept; BFCL's non-standard ``optional`` key is dropped.
    """
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "type" and isinstance(value, str):
            mapped = TYPES.get(value)
            if mapped is not None:
                out["type"] = mapped
        elif key == "properties" and isinstance(value, dict):
            out[key] = {name: convert_schema(prop) for name, prop in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = convert_schema(value)
        elif key == "optional" or (key == "required" and not isinstance(value, list)):
            continue
        else:
            out[key] = value
    return out


def tool_name(name: str) -> str:
    """A BFCL function name as a tool name: dots become underscores, as BFCL does for OpenAI models."""
    return name.replace(".", "_")


def convert_tool(function: dict[str, Any]) -> dict[str, Any]:
    """One BFCL function doc as a mock tool returning the neutral result."""
    parameters = convert_schema(function.get("parameters") or {})
    parameters["type"] = "object"
    parameters.setdefault("properties", {})
    return {
        "name": tool_name(function["name"]),
        "description": function.get("description", ""),
        "parameters": parameters,
        "responses": [{"default": dict(NEUTRAL_RESULT)}],
    }


def expected_calls(answer: list[dict[str, Any]], functions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """BFCL's ground truth with tool names converted; ``""`` is dropped for arguments the doc requires."""
    required = {tool_name(f["name"]): set(f.get("parameters", {}).get("required") or []) for f in functions}
    calls = []
    for call in answer:
        (name, arguments), = call.items()
        name = tool_name(name)
        spec = {}
        for arg, values in arguments.items():
            kept = [v for v in values if v != OPTIONAL] if arg in required.get(name, ()) else list(values)
            spec[arg] = kept or list(values)
        calls.append({name: spec})
    return calls


def unpassable(calls: list[dict[str, Any]], functions: list[dict[str, Any]]) -> str | None:
    """Why no call can pass BFCL's own checker for this answer (an empty acceptable list, or an argument
    the doc requires that the answer leaves out), or None."""
    required = {tool_name(f["name"]): f.get("parameters", {}).get("required") or [] for f in functions}
    for call in calls:
        (name, spec), = call.items()
        empty = [arg for arg, values in spec.items() if not values]
        if empty:
            return f"BFCL's answer accepts no value for {name}.{empty[0]}"
        left_out = [arg for arg in required.get(name, []) if arg not in spec]
        if left_out:
            return f"BFCL's answer leaves out {name}.{left_out[0]}, which the function requires"
    return None


def _messages(entry: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"role": m["role"], "content": m["content"]} for turn in entry["question"] for m in turn]


def convert_entry(entry: dict[str, Any], answer: dict[str, Any] | None, category: str) -> dict[str, Any]:
    """One BFCL entry (and its possible answer; None for irrelevance) as case data in EvalCase field order."""
    entry_id = entry["id"]
    tools = [convert_tool(f) for f in entry["function"]]
    names = [t["name"] for t in tools]
    bad = [n for n in names if not TOOL_NAME.match(n)] or sorted({n for n in names if names.count(n) > 1})
    if bad:
        raise ValueError(f"function name {bad[0]!r} cannot be a tool name (after dots became underscores)")
    problem = None
    if answer is None:
        success: dict[str, Any] = {"irrelevance": True}
        ideal: dict[str, Any] = {"steps": 1, "tool_calls": 0, "trajectory": [{"content": DECLINE_TEXT}]}
        behaviour = "makes no call when no offered function fits the request"
    else:
        calls = expected_calls(answer["ground_truth"], entry["function"])
        problem = unpassable(calls, entry["function"])
        success = {"calls": calls}
        script = [{"name": n, "arguments": ideal_arguments(s)} for call in calls for n, s in call.items()]
        ideal = {"steps": 2, "tool_calls": len(calls),
                 "trajectory": [{"tool_calls": script}, {"content": FINAL_TEXT}]}
        called = ", ".join(dict.fromkeys(next(iter(c)) for c in calls))
        many = f"makes {len(calls)} calls ({called})" if len(calls) > 1 else f"calls {called}"
        behaviour = f"{many} with arguments BFCL accepts"
    return {
        "id": f"bfcl_{entry_id}",
        "description": f"BFCL {entry_id} - {behaviour}.",
        "tags": ["tool_use", "bfcl", f"bfcl_{category}"],
        "tier": "hillclimb",
        "status": "quarantined" if problem else "active",
        "input": {"messages": _messages(entry)},
        "environment": {"tools": tools},
        "success": [{"bfcl_calls": success}],
        "ideal": ideal,
        "provenance": {
            "source": "bfcl",
            "ref": entry_id,
            "digest": record_digest(entry, answer),
            "notes": f"BFCL_v4_{category}.json; scored like BFCL's AST checker."
            + (f" Quarantined: {problem}." if problem else ""),
        },
    }


def record_digest(entry: dict[str, Any], answer: dict[str, Any] | None) -> str:
    """The digest of one BFCL source record: the entry and its possible answer."""
    return digest({"entry": entry, "answer": answer})


def _read_records(path: Path) -> list[tuple[int, dict[str, Any]]]:
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CaseError(f"not valid JSON: {exc.msg} (column {exc.colno})",
                            file=f"{path}:{number}") from None
        if not isinstance(record, dict) or "id" not in record:
            raise CaseError("a BFCL record is an object with an `id`", file=f"{path}:{number}", key="id")
        records.append((number, record))
    return records


def import_category(
    name: str, dest: Path, *, limit: int | None = None, source: Path | None = None, force: bool = False
) -> ImportReport:
    """Import the first ``limit`` entries of one BFCL category into ``dest/bfcl/<category>/``."""
    category = category_name(name)
    if limit is not None and limit < 1:
        raise BHError(f"--limit must be at least 1, got {limit}", key="--limit", value=limit)
    root = source or data_dir()
    questions = root / f"BFCL_v4_{category}.json"
    if not questions.is_file():
        raise BHError(f"BFCL data file {questions} is missing", fix=f"reinstall the data: `{BFCL_PIP}`")
    answers: dict[str, dict[str, Any]] = {}
    irrelevance = "irrelevance" in category
    if not irrelevance:
        answer_file = root / "possible_answer" / questions.name
        if not answer_file.is_file():
            raise BHError(f"BFCL answer file {answer_file} is missing",
                          fix=f"reinstall the data: `{BFCL_PIP}`")
        answers = {record["id"]: record for _, record in _read_records(answer_file)}
    report = ImportReport()
    folder = dest / "bfcl" / category
    for number, entry in _read_records(questions)[:limit]:
        where = f"{questions}:{number}"
        answer = answers.get(entry["id"])
        if answer is None and not irrelevance:
            raise CaseError(f"no possible answer for {entry['id']}", file=where, key="id", value=entry["id"])
        if skip_unchanged(folder / f"bfcl_{entry['id']}.yaml", record_digest(entry, answer), report, force):
            continue
        try:
            data = convert_entry(entry, answer, category)
        except (KeyError, TypeError, ValueError, StopIteration) as exc:
            raise CaseError(f"cannot convert BFCL entry {entry['id']}: {exc!r}", file=where,
                            fix="this entry's format is not the single-turn BFCL format") from None
        validate_case(data, where=where)
        write_case(data, folder / f"{data['id']}.yaml", dest, report, force)
    return report


def configure(parser: argparse.ArgumentParser) -> None:
    """The ``import bfcl`` arguments."""
    parser.add_argument("--categories", default="simple,multiple,parallel,parallel_multiple,irrelevance",
                        help="comma-separated BFCL categories (default: %(default)s)")
    parser.add_argument("--limit", type=int, default=None, help="import the first N entries of each category")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="a BFCL data folder (default: the installed bfcl_eval package's data/)")


def run(args: argparse.Namespace) -> list[tuple[str, ImportReport, Path]]:
    """Import every named category (all names are checked before any is imported)."""
    names = [name.strip() for name in args.categories.split(",") if name.strip()]
    for name in names:
        category_name(name)
    return [(f"bfcl {category_name(name)}",
             import_category(name, args.dest, limit=args.limit, source=args.data_dir, force=args.force),
             args.dest / "bfcl" / category_name(name)) for name in names]


IMPORTER = Importer(help="the Berkeley Function Calling Leaderboard (bfcl-eval data)", configure=configure, run=run)
