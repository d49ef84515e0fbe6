"""One rollout's tool environment: the case's toolsets and mock tools over private copies of its state."""

from __future__ import annotations

import copy
import json
from typing import Any, NamedTuple, Protocol

import jsonschema

from betterharness.agent.tools.base import CaseDefect, Tool, ToolFailure, ToolSpec
from betterharness.agent.tools.filesystem import VirtualFilesystem
from betterharness.agent.tools.memory import MemoryStore
from betterharness.agent.tools.sources import TOOL_SOURCES, World, toolset_rank
from betterharness.agent.trace import ToolResult
from betterharness.evals.case import Environment

MAX_SCHEMA_ERRORS = 5


class ToolView(Protocol):
    """How a harness presents tools: their descriptions, their parameters' descriptions, the suite's order."""

    def tool_description(self, name: str, default: str) -> str:
        """The description the agent sees for tool ``name`` (``default``: the tool's own)."""
        ...

    def parameter_description(self, tool: str, param: str, default: str) -> str:
        """The description the agent sees for one top-level parameter of ``tool``."""
        ...

    def offered(self, names: list[str]) -> list[str]:
        """The tools offered, in order, out of ``names`` in their default order."""
        ...


def present(spec: ToolSpec, view: ToolView) -> ToolSpec:
    """``spec`` as ``view`` presents it: its description and its top-level parameters' descriptions."""
    properties = spec.parameters.get("properties") or {}
    shown = {}
    for param, schema in properties.items():
        default = str(schema.get("description", "")) if isinstance(schema, dict) else ""
        text = view.parameter_description(spec.name, param, default) if isinstance(schema, dict) else default
        shown[param] = {**schema, "description": text} if text and isinstance(schema, dict) else schema
    parameters = {**spec.parameters, "properties": shown} if properties else spec.parameters
    return spec.model_copy(update={"description": view.tool_description(spec.name, spec.description),
                                   "parameters": parameters})


class CallRecord(NamedTuple):
    """One tool call as it happened: name, arguments (raw text when they were not JSON) and outcome."""

    name: str
    arguments: dict[str, Any] | str
    error: bool


def _type_of(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(v) for v in schema["enum"])
    kind = schema.get("type", "any")
    return " or ".join(kind) if isinstance(kind, list) else str(kind)


def describe_parameters(schema: dict[str, Any]) -> str:
    """A one-line summary of a parameters schema, e.g. ``file_path (string, required), offset (integer)``."""
    required = set(schema.get("required", []))
    parts = [
        f"{name} ({_type_of(sub)}{', required' if name in required else ''})"
        for name, sub in schema.get("properties", {}).items()
    ]
    return ", ".join(parts) or "no arguments"


def _explain(error: jsonschema.ValidationError, schema: dict[str, Any]) -> str:
    where = "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
    properties = schema.get("properties", {})
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [name for name in error.validator_value if name not in error.instance]
        return "; ".join(
            f"missing required argument '{name}' ({_type_of(properties.get(name, {}))})" for name in missing
        )
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        extra = sorted(set(error.instance) - set(properties))
        allowed = ", ".join(properties) or "none"
        return f"unexpected argument(s) {', '.join(repr(e) for e in extra)}; allowed arguments: {allowed}"
    got = json.dumps(error.instance, ensure_ascii=False)
    if error.validator == "type":
        return f"argument '{where}' must be {_type_of(error.schema)}, got {got}"
    if error.validator == "enum":
        return f"argument '{where}' must be {_type_of(error.schema)}, got {got}"
    return f"argument '{where}' is invalid: {error.message}" if where else error.message


class ToolEnvironment:
    """The tools of one rollout over a fresh copy of the case's files and memory; ``call`` never raises.

    Args:
        env: The case's environment (seed files, memory, toolsets, mock tools).
        view: The harness, which may rewrite tool and parameter descriptions and choose and order the
            tools offered; None keeps every tool as it is. A hidden tool cannot be called.
    """

    def __init__(self, env: Environment, view: ToolView | None = None) -> None:
        self._fs = VirtualFilesystem(copy.deepcopy(env.files))
        self._memory = MemoryStore(copy.deepcopy(env.memory))
        self._calls: list[CallRecord] = []
        self.defects: list[str] = []
        """Case-file faults met so far (a mock with no response for a call, a mock template that failed)."""
        world = World(environment=env, fs=self._fs, memory=self._memory)
        tools: dict[str, Tool] = {}
        for source in [*sorted(set(env.toolsets), key=toolset_rank), "mock"]:
            tools.update((tool.spec.name, tool) for tool in TOOL_SOURCES.get(source)(world))
        self.defaults = [tool.spec for tool in tools.values()]
        """Every tool the case provides, with its own descriptions, in the default order."""
        if view is not None:
            tools = {name: tools[name] for name in view.offered(list(tools)) if name in tools}
        self._tools = tools
        self._specs = [present(tool.spec, view) if view is not None else tool.spec for tool in tools.values()]
        self._validators = {
            name: jsonschema.Draft202012Validator(tool.spec.parameters) for name, tool in tools.items()
        }

    def specs(self) -> list[ToolSpec]:
        """The tools offered to the model: filesystem, then memory, then the case's mock tools."""
        return list(self._specs)

    @property
    def files(self) -> dict[str, str]:
        """The virtual filesystem as it is now (path -> content)."""
        return dict(self._fs.files)

    @property
    def memory(self) -> dict[str, str]:
        """The memory store as it is now (key -> text)."""
        return dict(self._memory.entries)

    @property
    def calls(self) -> list[CallRecord]:
        """Every call made so far, in order, as (name, arguments, error)."""
        return list(self._calls)

    def _parse(self, name: str, arguments: dict[str, Any] | str) -> dict[str, Any]:
        if not isinstance(arguments, str):
            return arguments
        if not arguments.strip():
            return {}
        try:
            parsed = json.loads(arguments)
        except json.JSONDecodeError as exc:
            raise ToolFailure(
                f"arguments for {name} are not valid JSON ({exc.msg} at position {exc.pos}); "
                "send a JSON object with the tool's parameters."
            ) from None
        if not isinstance(parsed, dict):
            raise ToolFailure(f"arguments for {name} must be a JSON object, got {arguments.strip()[:200]}")
        return parsed

    def _check(self, name: str, arguments: dict[str, Any]) -> None:
        schema = self._tools[name].spec.parameters
        errors = sorted(self._validators[name].iter_errors(arguments), key=lambda e: list(map(str, e.path)))
        if errors:
            problems = "; ".join(_explain(error, schema) for error in errors[:MAX_SCHEMA_ERRORS])
            raise ToolFailure(
                f"invalid arguments for {name}: {problems}. Expected: {describe_parameters(schema)}."
            )

    async def call(self, call_id: str, name: str, arguments: dict[str, Any] | str) -> ToolResult:
        """Run one tool call; every failure becomes an error result the model can read."""
        logged: dict[str, Any] | str = arguments
        try:
            if name not in self._tools:
                available = ", ".join(self._tools) or "none"
                raise ToolFailure(f"unknown tool {name!r}. Available tools: {available}.")
            parsed = self._parse(name, arguments)
            logged = parsed
            self._check(name, parsed)
            content = await self._tools[name].run(parsed)
        except CaseDefect as exc:
            self.defects.append(exc.message)
            return self._finish(call_id, name, logged, f"Error: {exc.message}", error=True)
        except ToolFailure as exc:
            return self._finish(call_id, name, logged, f"Error: {exc.message}", error=True)
        except Exception as exc:  # a tool bug must not end the rollout
            message = f"Error: {name} failed: {type(exc).__name__}: {exc}"
            return self._finish(call_id, name, logged, message, error=True)
        return self._finish(call_id, name, logged, content, error=False)

    def _finish(self, call_id: str, name: str, arguments: dict[str, Any] | str, content: str,
                error: bool) -> ToolResult:
        self._calls.append(CallRecord(name, arguments, error))
        return ToolResult(call_id=call_id, name=name, content=content, error=error)
