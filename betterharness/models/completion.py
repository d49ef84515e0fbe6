"""What a model call returns (text, tool calls, usage) and the client every provider implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from betterharness.config.schema import ModelConfig, RuntimeConfig

if TYPE_CHECKING:
    from betterharness.evals.case import EvalCase


class Usage(BaseModel):
    """Token usage and cost, summed over the calls it covers. ``cost_usd`` is None when unknown."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost_usd: float | None = None

    def add(self, other: Usage) -> None:
        """Add ``other`` into this usage in place (an unknown cost stays unknown only if both are)."""
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.total_tokens += other.total_tokens
        if other.cost_usd is not None:
            self.cost_usd = (self.cost_usd or 0.0) + other.cost_usd


class ToolCall(BaseModel):
    """One tool call the agent requested."""

    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    raw_arguments: str | None = None
    """The argument string as the model sent it, kept when it was not valid JSON."""


@dataclass
class Completion:
    """One model response, normalised."""

    content: str | None
    tool_calls: list[ToolCall]
    usage: Usage
    latency_s: float
    finish_reason: str | None
    message: dict[str, Any] = field(default_factory=dict)
    """The assistant message in OpenAI format, ready to append to the history."""


class ModelClient:
    """One configured model in one role (agent, judge, user, proposer). Providers subclass it.

    Args:
        model: The model's config (litellm id, params, endpoint, provider options).
        runtime: Retries, backoff and timeouts.
        role: Which role this client plays; a replaying provider answers per role.
    """

    def __init__(self, model: ModelConfig, runtime: RuntimeConfig, role: str = "agent") -> None:
        self.model = model
        self.runtime = runtime
        self.role = role
        self.calls = 0

    async def complete(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None, *,
        max_tokens: int | None = None, response_format: dict[str, Any] | None = None,
        temperature: float | None = None,
    ) -> Completion:
        """One chat completion; raises ModelCallError when the call fails for good. ``temperature``
        overrides the model's own (a proposer samples its second and later candidates)."""
        raise NotImplementedError

    async def text(self, messages: list[dict[str, Any]]) -> tuple[str, Usage]:
        """A plain chat call returning (text, usage): the shape a judge or a simulated user needs."""
        completion = await self.complete(messages)
        return completion.content or "", completion.usage

    def bind(self, *, case: EvalCase | None = None, call: int = 0) -> ModelClient:
        """The client for one rollout of ``case``, or for the ``call``-th numbered call of a role.

        Real providers answer every request the same way and return themselves; a replaying provider
        (the scripted test double) returns a client holding that rollout's or that call's responses.
        """
        return self

    def warm_up(self) -> None:
        """Load whatever the first call would otherwise load (an in-process model); a no-op by default."""

    def concurrency_cap(self) -> int | None:
        """How many rollouts this model can usefully serve at once; None when the provider sets no cap."""
        return None
