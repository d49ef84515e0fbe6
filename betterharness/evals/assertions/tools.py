"""Assertions on tool calls: which, how often, with what arguments, in what order, in one step."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import ConfigDict, Field, model_validator

from betterharness.evals.assertions.base import Assertion, assertion

Names = str | Annotated[list[str], Field(min_length=1)]
"""One tool name or a non-empty list of them."""


@assertion("tool_called")
class ToolCalled(Assertion):
    """A tool was called (with arguments matching a subset) between min_times and max_times times."""

    # the YAML key is `name`, but `name` is the registry's ClassVar holding "tool_called"
    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)
    tool: str = Field(alias="name", description="The tool's name.")
    arguments: dict[str, Any] = Field(
        default_factory=dict, description="Subset to match; strings case- and whitespace-insensitive."
    )
    min_times: int = Field(default=1, ge=0)
    max_times: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _bounds(self) -> ToolCalled:
        if self.max_times is not None and self.max_times < self.min_times:
            raise ValueError(f"max_times ({self.max_times}) is below min_times ({self.min_times})")
        return self


@assertion("tool_not_called")
class ToolNotCalled(Assertion):
    """None of the named tools was called (only calls matching ``arguments`` count, when given)."""

    shorthand: ClassVar[str | None] = "tools"
    tools: Names
    arguments: dict[str, Any] = Field(default_factory=dict)


@assertion("call_order")
class CallOrder(Assertion):
    """The named tools were called in this order (other calls may come between)."""

    shorthand: ClassVar[str | None] = "names"
    names: list[str] = Field(min_length=1)


@assertion("parallel_calls")
class ParallelCalls(Assertion):
    """All the named tools were called within one step (repeat a name to require several calls of it)."""

    shorthand: ClassVar[str | None] = "names"
    names: list[str] = Field(min_length=2)


@assertion("no_tool_calls")
class NoToolCalls(Assertion):
    """The agent made no tool call (or, with false, at least one)."""

    shorthand: ClassVar[str | None] = "value"
    value: bool = True


@assertion("max_tool_calls")
class MaxToolCalls(Assertion):
    """The agent made at most ``n`` tool calls (of one ``tool``, when given)."""

    shorthand: ClassVar[str | None] = "n"
    n: int = Field(ge=0)
    tool: str | None = None


@assertion("no_tool_errors")
class NoToolErrors(Assertion):
    """No tool call was rejected or failed (no tool result is marked as an error)."""

    shorthand: ClassVar[str | None] = "value"
    value: Literal[True] = True
