"""Mock tools defined by a case: the first response whose ``when`` matches the call, else the default."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from betterharness.agent.tools.base import CaseDefect, ToolSpec
from betterharness.errors import TemplateError
from betterharness.evals.case import MockResponse, MockTool
from betterharness.sandbox import render_text


def _normalize(text: str) -> str:
    return text.strip().casefold()


def value_matches(expected: Any, actual: Any) -> bool:
    """Strings compare stripped and case-insensitively; other values by equality (``True`` is not ``1``)."""
    if isinstance(expected, str) and isinstance(actual, str):
        return _normalize(expected) == _normalize(actual)
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    return bool(expected == actual)


def response_matches(response: MockResponse, arguments: dict[str, Any]) -> bool:
    """True when every key of the response's ``when`` is an argument with a matching value."""
    conditions = response.when or {}
    return all(key in arguments and value_matches(want, arguments[key]) for key, want in conditions.items())


def choose_response(tool: MockTool, arguments: dict[str, Any]) -> MockResponse | None:
    """The first matching ``when`` response, else the ``default`` response, else None."""
    default: MockResponse | None = None
    for response in tool.responses:
        if "default" in response.model_fields_set:
            default = default or response
        elif response_matches(response, arguments):
            return response
    return default


def _render(value: Any, context: dict[str, Any], origin: str) -> Any:
    if isinstance(value, str):
        return render_text(value, context, origin)
    if isinstance(value, list):
        return [_render(item, context, origin) for item in value]
    if isinstance(value, dict):
        return {key: _render(item, context, origin) for key, item in value.items()}
    return value


def serialize(value: Any) -> str:
    """A tool result as text: strings as they are, other JSON values as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


class MockToolRunner:
    """Runs one case-defined MockTool: picks a response for the call's arguments and returns it."""

    def __init__(self, tool: MockTool) -> None:
        self.tool = tool
        self.spec = ToolSpec(name=tool.name, description=tool.description, parameters=tool.parameters)

    async def run(self, arguments: dict[str, Any]) -> str:
        """The chosen response, rendered when templated (every string in it, arguments as variables)."""
        response = choose_response(self.tool, arguments)
        if response is None:
            raise CaseDefect(
                f"{self.tool.name} has no result for arguments {json.dumps(arguments, ensure_ascii=False)}."
            )
        value = response.value
        if response.template:
            context = {"arguments": arguments, **arguments}
            try:  # in a thread: a slow template (bounded at 2 s) must not stall the other rollouts' clocks
                value = await asyncio.to_thread(_render, value, context, f"mock tool {self.tool.name}")
            except TemplateError as exc:
                raise CaseDefect(f"{self.tool.name} failed: {exc.problem}") from None
        return serialize(value)
