"""The score of one rollout: assertion verdicts and the five metrics of DESIGN.md."""

from __future__ import annotations

from pydantic import BaseModel, Field

from betterharness.errors import is_infrastructure
from betterharness.formats import FORMAT_VERSION


class Verdict(BaseModel):
    """The outcome of one assertion on one rollout."""

    assertion: str
    passed: bool
    detail: str = ""


class Score(BaseModel):
    """One rollout's verdicts and metrics; ratios are None when the case declares no ideal for them."""

    format_version: int = Field(default=FORMAT_VERSION, description="The stored format (formats.py).")
    case_id: str
    epoch: int = 0
    tags: list[str]
    tier: str
    model: str
    harness_hash: str
    correctness: float = Field(description="1.0 if every success assertion holds, else 0.0.")
    verdicts: list[Verdict] = Field(default_factory=list)
    steps: int = 0
    tool_calls: int = 0
    wall_s: float = 0.0
    ideal_steps: int | None = None
    ideal_tool_calls: int | None = None
    ideal_latency_s: float | None = None
    step_ratio: float | None = None
    tool_call_ratio: float | None = None
    latency_ratio: float | None = None
    solve_rate: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost_usd: float | None = None
    aux_cost_usd: float | None = Field(default=None, description="Judge and simulated-user cost of the rollout.")
    error: str | None = None
    error_kind: str | None = Field(default=None, description="Whose fault ``error`` is (errors.is_infrastructure).")
    stop_reason: str = "final"

    @property
    def errored(self) -> bool:
        """True when infrastructure ended the rollout (a failed model or judge call, a crash of ours): it is
        counted apart, left out of correctness, and run again on resume."""
        return is_infrastructure(self.error_kind)

    @property
    def total_cost_usd(self) -> float:
        """What the rollout cost in all (agent, judge, simulated user); unknown costs count as 0."""
        return (self.cost_usd or 0.0) + (self.aux_cost_usd or 0.0)

    @property
    def passed(self) -> bool:
        """True when the rollout is correct."""
        return self.correctness >= 1.0
