"""What assertions may use besides the trace: a way to ask a model (the judge role)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from betterharness.models.completion import Usage

Complete = Callable[[list[dict[str, str]]], Awaitable[tuple[str, Usage]]]
"""An async chat call: messages in, (text, usage) out. Raises on a failed call."""


async def _no_judge(messages: list[dict[str, str]]) -> tuple[str, Usage]:
    raise RuntimeError("no judge model configured for this scoring context")


@dataclass
class ScoringContext:
    """Services for assertions: the judge-role model and where user-editable prompt templates live."""

    judge: Complete = _no_judge
    prompts_dir: Path | None = None
    usage: Usage = field(default_factory=Usage)
    """Judge usage summed over this context's calls."""
