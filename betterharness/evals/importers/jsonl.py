"""Import the neutral JSON-lines format (``docs/import_format.md``): one case per line.

Expected tool calls are scored by ``bfcl_calls`` over every call of the rollout (their values turned into
acceptable lists), an expected answer by ``final_text_contains``; recorded tool outputs become the mock
tools' ``when``/``return`` responses.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from betterharness.errors import BHError, CaseError
from betterharness.evals.case import ID_PATTERN, TAG_PATTERN, Message, check_json_schema, slug
from betterharness.evals.importers.common import (
    NEUTRAL_RESULT,
    OPTIONAL,
    Importer,
    ImportReport,
    digest,
    first_value,
    to_spec,
    validate_case,
    write_case,
)
from betterharness.evals.yaml_lines import MAX_BYTES, MAX_DEPTH

DEFAULT_FINAL = "Done."
DESCRIPTION_CHARS = 90


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class JsonlTool(_Strict):
    """A tool offered to the agent: name, description and JSON Schema parameters."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})

    @field_validator("parameters")
    @classmethod
    def _valid_schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        return check_json_schema(value)


class ExpectedCall(_Strict):
    """One expected call: literal arguments, extra acceptable values, and arguments that may be omitted."""

    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    acceptable: dict[str, list[Any]] = Field(default_factory=dict)
    optional: list[str] = Field(default_factory=list)

    def spec(self) -> dict[str, list[Any]]:
        """The call in acceptable-list form (``{argument: [values]}``, ``""`` marking optional ones)."""
        spec: dict[str, list[Any]] = {}
        for arg in dict.fromkeys([*self.arguments, *self.acceptable, *self.optional]):
            values = [to_spec(v) for v in self.acceptable.get(arg, [])]
            if arg in self.arguments and to_spec(self.arguments[arg]) not in values:
                values.insert(0, to_spec(self.arguments[arg]))
            if not values:
                raise ValueError(f"optional argument {arg!r} lists no value; put one in `arguments` or "
                                 f"`acceptable` (an argument not listed must not be passed)")
            spec[arg] = values + [OPTIONAL] if arg in self.optional else values
        return spec

    def ideal_arguments(self) -> dict[str, Any]:
        """The arguments the ideal trajectory sends: the literal ones, else the first acceptable value."""
        extra = {a: first_value(v) for a, v in self.acceptable.items() if a not in self.optional and v}
        return {**extra, **self.arguments}


class Expected(_Strict):
    """What counts as success: these tool calls (in any order or in sequence), and/or an answer text."""

    tool_calls: list[ExpectedCall] | None = None
    order: Literal["any", "sequential"] = "any"
    answer: str | list[str] | None = None

    @model_validator(mode="after")
    def _something(self) -> Expected:
        if self.tool_calls is None and self.answer is None:
            raise ValueError("give `tool_calls` (an empty list: no call at all) and/or `answer`")
        return self


class IdealSpec(_Strict):
    """The ideal number of steps and tool calls (and, optionally, latency)."""

    steps: int = Field(ge=1)
    tool_calls: int = Field(ge=0)
    latency_s: float | None = None


class ToolOutput(_Strict):
    """A recorded tool output: returned when a call's arguments match (without arguments: the default)."""

    name: str
    arguments: dict[str, Any] | None = None
    output: Any


class JsonlRecord(_Strict):
    """One line of the neutral import format."""

    id: str = Field(pattern=ID_PATTERN)
    tags: list[str] = Field(default_factory=list)
    description: str | None = None
    tier: Literal["regression", "hillclimb"] = "hillclimb"
    status: Literal["active", "draft", "quarantined"] = "active"
    messages: list[Message] | str
    tools: list[JsonlTool] = Field(default_factory=list)
    expected: Expected
    ideal: IdealSpec | None = None
    tool_outputs: list[ToolOutput] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _unwrap_openai_tools(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("tools"), list):
            data = {**data, "tools": [t["function"] if isinstance(t, dict) and t.get("type") == "function"
                                      and isinstance(t.get("function"), dict) else t for t in data["tools"]]}
        return data

    @model_validator(mode="after")
    def _known_tools(self) -> JsonlRecord:
        names = {tool.name for tool in self.tools}
        calls = self.expected.tool_calls or []
        checks = (("expected.tool_calls", calls), ("tool_outputs", self.tool_outputs))
        for field, items in checks:
            unknown = next((item.name for item in items if item.name not in names), None)
            if unknown is not None:
                raise ValueError(f"{field} names {unknown!r}, which is not in `tools` ({sorted(names)})")
        return self


def _messages(record: JsonlRecord) -> list[dict[str, Any]]:
    if isinstance(record.messages, str):
        return [{"role": "user", "content": record.messages}]
    return [m.model_dump(exclude_none=True) for m in record.messages]


def _description(record: JsonlRecord, name: str) -> str:
    if record.description:
        return record.description
    first = next((m["content"] for m in _messages(record) if m["role"] == "user" and m.get("content")), "")
    text = " ".join(first.split())
    text = text if len(text) <= DESCRIPTION_CHARS else text[: DESCRIPTION_CHARS - 1] + "…"
    return f"{name} {record.id} - {text}" if text else f"{name} {record.id}"


def _tools(record: JsonlRecord) -> list[dict[str, Any]]:
    tools = []
    for tool in record.tools:
        outputs = [o for o in record.tool_outputs if o.name == tool.name]
        responses = [{"when": o.arguments, "return": o.output} for o in outputs if o.arguments is not None]
        responses += [{"default": o.output} for o in outputs if o.arguments is None][:1]
        tools.append({"name": tool.name, "description": tool.description, "parameters": tool.parameters,
                      "responses": responses or [{"default": dict(NEUTRAL_RESULT)}]})
    return tools


def _success_and_ideal(record: JsonlRecord) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    expected = record.expected
    success: list[dict[str, Any]] = []
    calls = expected.tool_calls
    answer = [expected.answer] if isinstance(expected.answer, str) else expected.answer
    if calls == []:
        success.append({"bfcl_calls": {"irrelevance": True}})
    elif calls:
        check: dict[str, Any] = {"calls": [{c.name: c.spec()} for c in calls]}
        if expected.order == "sequential":
            check["order"] = "sequential"
        check["scope"] = "all"
        success.append({"bfcl_calls": check})
    if answer:
        success.append({"final_text_contains": answer})
    script = [{"name": c.name, "arguments": c.ideal_arguments()} for c in calls or []]
    if expected.order == "sequential":
        steps = [{"tool_calls": [call]} for call in script]
    else:
        steps = [{"tool_calls": script}] if script else []
    trajectory = [*steps, {"content": " ".join(answer) if answer else DEFAULT_FINAL}]
    ideal: dict[str, Any] = {"steps": len(trajectory), "tool_calls": len(script)}
    if record.ideal is not None:
        ideal = record.ideal.model_dump(exclude_none=True)
    if (ideal["steps"], ideal["tool_calls"]) == (len(trajectory), len(script)):
        ideal["trajectory"] = trajectory
    return success, ideal


def convert_record(record: JsonlRecord, name: str, ref: str, raw: dict[str, Any]) -> dict[str, Any]:
    """One validated record as case data in EvalCase field order (``name`` is the dataset's name)."""
    dataset = slug(name)
    success, ideal = _success_and_ideal(record)
    return {
        "id": f"{dataset}_{record.id}",
        "description": _description(record, name),
        "tags": list(dict.fromkeys([*record.tags, dataset])),
        "tier": record.tier,
        "status": record.status,
        "input": {"messages": _messages(record)},
        "environment": {"tools": _tools(record)},
        "success": success,
        "ideal": ideal,
        "provenance": {"source": "jsonl", "ref": ref, "digest": digest(raw)},
    }


_CASE_TO_RECORD = {
    ("input", "messages"): "messages", ("environment", "tools"): "tools", ("success",): "expected",
}


def record_key(loc: Sequence[Any]) -> str:
    """The JSONL field behind a location in the built case (``environment.tools.0`` -> ``tools.0``)."""
    for prefix, field in _CASE_TO_RECORD.items():
        if tuple(loc[: len(prefix)]) == prefix:
            rest = [str(p) for p in loc[len(prefix):]]
            if field == "tools" and "responses" in rest:
                return "tool_outputs"
            return ".".join([field, *rest]) if field != "expected" else "expected"
    return ".".join(map(str, loc))


def _depth(value: Any) -> int:
    """How deeply ``value`` nests (a scalar is 1)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, level + 1) for child in children)
    return deepest


def _parse(path: Path, number: int, line: str) -> tuple[JsonlRecord, dict[str, Any]]:
    where = f"{path}:{number}"
    if len(line) > MAX_BYTES:
        raise CaseError(f"line {number} has {len(line)} characters; a case may have {MAX_BYTES}", file=where,
                        fix="split the record, or trim its seed files") from None
    try:
        raw = json.loads(line)
    except RecursionError:
        raise CaseError(f"line {number} nests too deeply", file=where, fix="flatten the record") from None
    except json.JSONDecodeError as exc:
        raise CaseError(f"line {number} is not valid JSON: {exc.msg} (column {exc.colno})", file=where,
                        fix="write one JSON object per line") from None
    if not isinstance(raw, dict):
        raise CaseError(f"line {number} is not a JSON object", file=where,
                        fix="write one JSON object per line")
    depth = _depth(raw)
    if depth > MAX_DEPTH:
        raise CaseError(f"line {number} nests {depth} levels deep; a case may nest {MAX_DEPTH}", file=where,
                        fix="flatten the record")
    try:
        return JsonlRecord.model_validate(raw), raw
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(p) for p in error["loc"] if not str(p).startswith("function-")) or "(line)"
        value = error.get("input")
        raise CaseError(
            f"line {number}: {error['msg']}",
            file=where, key=key, value=None if isinstance(value, dict | list) else value,
            fix="see docs/import_format.md for the fields of a line",
        ) from None


def import_jsonl(path: Path, dest: Path, name: str | None = None, force: bool = False) -> ImportReport:
    """Import every line of ``path`` into ``dest/<name>/`` (``name`` defaults to the file's stem)."""
    name = name or path.stem
    if not re.match(TAG_PATTERN, slug(name)):
        raise BHError(f"dataset name {name!r} does not make a valid tag ({TAG_PATTERN})", key="--name",
                      value=name, fix="pass --name with a name that starts with a letter, e.g. --name mydata")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise CaseError(f"cannot read {path}: {exc.strerror}", file=path) from None
    built: dict[str, tuple[str, dict[str, Any]]] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        record, raw = _parse(path, number, line)
        try:
            data = convert_record(record, name, f"{path.name}:{number}", raw)
        except ValueError as exc:
            raise CaseError(f"line {number}: {exc}", file=where, key="expected.tool_calls") from None
        if data["id"] in built:
            raise CaseError(f"line {number} repeats id {record.id!r} (first used at {built[data['id']][0]})",
                            file=where, key="id", value=record.id, fix="give every line its own id")
        validate_case(data, where=where, key_of=record_key)
        built[data["id"]] = (where, data)
    report = ImportReport()
    folder = dest / slug(name)
    for _, data in built.values():
        write_case(data, folder / f"{data['id']}.yaml", dest, report, force)
    return report


def configure(parser: argparse.ArgumentParser) -> None:
    """The ``import jsonl`` arguments."""
    parser.add_argument("file", type=Path, help="the .jsonl file, one case per line")
    parser.add_argument("--name", default=None,
                        help="dataset name: its folder, id prefix and tag (default: the file's stem)")


def run(args: argparse.Namespace) -> list[tuple[str, ImportReport, Path]]:
    """Import one JSON-lines file as dataset ``--name``."""
    name = args.name or args.file.stem
    return [(f"jsonl {slug(name)}", import_jsonl(args.file, args.dest, name=name, force=args.force),
             args.dest / slug(name))]


IMPORTER = Importer(help="the neutral JSON-lines format (docs/import_format.md)", configure=configure, run=run)
