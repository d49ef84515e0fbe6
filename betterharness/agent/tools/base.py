"""What every tool is: a spec the model sees and an async ``run`` that returns text."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field


class ToolFailure(Exception):
    """An error the model should see as the tool's result (a missing file, a bad pattern, ...)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CaseDefect(ToolFailure):
    """A failure that is the case file's fault, not the agent's: a mock tool with no response for a call,
    or whose template fails. The model sees it as a tool error; the rollout cannot pass (see scoring)."""


class ToolSpec(BaseModel):
    """A tool as offered to the model: name, description and JSON Schema parameters."""

    name: str
    description: str
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})

    def openai(self) -> dict[str, Any]:
        """The OpenAI ``tools`` entry for this tool."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }


@runtime_checkable
class Tool(Protocol):
    """A tool: a spec, and ``run`` on schema-valid arguments; it raises ToolFailure for errors to show."""

    spec: ToolSpec

    async def run(self, arguments: dict[str, Any]) -> str:
        """Run the tool on ``arguments`` and return its textual result."""
        ...


@dataclass
class FunctionTool:
    """A Tool backed by a plain function called with the arguments as keywords."""

    spec: ToolSpec
    fn: Callable[..., str]

    async def run(self, arguments: dict[str, Any]) -> str:
        """Call the function with ``arguments`` as keyword arguments."""
        return self.fn(**arguments)


def object_schema(properties: dict[str, dict[str, Any]], required: list[str] | None = None) -> dict[str, Any]:
    """A closed ``type: object`` parameters schema (unknown arguments are rejected)."""
    return {
        "type": "object",
        "properties": properties,
        "required": required or [],
        "additionalProperties": False,
    }
