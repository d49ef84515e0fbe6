"""The trace: what one rollout leaves behind: every message, tool call, result, timing, usage and error."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from betterharness.formats import FORMAT_VERSION
from betterharness.models.completion import ToolCall, Usage

StopReason = Literal["final", "max_steps", "max_tokens", "timeout", "error", "user_stop", "user_turns"]


class ToolResult(BaseModel):
    """What a tool returned for one call; ``error`` marks a rejected or failed call."""

    call_id: str
    name: str
    content: str
    error: bool = False


class Step(BaseModel):
    """One agent step: one model response and the tool results it triggered."""

    index: int
    content: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    tool_results: list[ToolResult] = Field(default_factory=list)
    latency_s: float = 0.0
    usage: Usage = Field(default_factory=Usage)
    finish_reason: str | None = None


class Annotation(BaseModel):
    """A note attached to a trace by a later stage, e.g. an LLM judge's verdict and rationale."""

    kind: str
    data: dict[str, Any] = Field(default_factory=dict)


class Trace(BaseModel):
    """A whole rollout of one case under one harness, model and epoch."""

    format_version: int = Field(default=FORMAT_VERSION, description="The stored format (formats.py).")
    case_id: str
    epoch: int = 0
    model: str
    harness_hash: str
    messages: list[dict[str, Any]] = Field(default_factory=list)
    """The full transcript in OpenAI chat format, system prompt first."""
    tools: list[str] = Field(default_factory=list)
    steps: list[Step] = Field(default_factory=list)
    final_text: str = ""
    files: dict[str, str] = Field(default_factory=dict)
    """The virtual filesystem at the end of the rollout."""
    memory: dict[str, str] = Field(default_factory=dict)
    """The memory store at the end of the rollout."""
    user_turns: int = 0
    stop_reason: StopReason = "final"
    error: str | None = None
    error_kind: str | None = None
    """Whose fault ``error`` is: a ModelCallError kind, ``internal`` for a crash of ours, None for the
    agent's own (a time cap, a harness template that failed); see ``errors.is_infrastructure``."""
    started_at: float = 0.0
    wall_s: float = 0.0
    usage: Usage = Field(default_factory=Usage)
    """Agent-role usage only; judge and simulated-user usage is kept in ``aux_usage``."""
    aux_usage: Usage = Field(default_factory=Usage)
    annotations: list[Annotation] = Field(default_factory=list)

    @property
    def tool_calls(self) -> list[ToolCall]:
        """Every tool call in order, across steps."""
        return [call for step in self.steps for call in step.tool_calls]


__all__ = ["Annotation", "Step", "StopReason", "ToolCall", "ToolResult", "Trace", "Usage"]
