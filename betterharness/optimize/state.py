"""The optimizer's persisted state: iterations, decisions, the incumbent and what is pending review."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from betterharness.optimize.gate import GateResult
from betterharness.optimize.propose import Proposal
from betterharness.optimize.search import SearchRecord

STATE_FILE = "optimize_state.json"
Outcome = Literal["accepted", "rejected", "gate_failed", "screened_out", "no_candidate", "pending_review"]


class Decision(BaseModel):
    """A review decision on a gated proposal: who decided, what, and why."""

    verdict: Literal["approve", "reject", "edit"]
    reason: str
    by: str = Field(description="policy:<name> or human:<user>")
    at: str
    edited_sources: dict[str, str] | None = None


class Iteration(BaseModel):
    """Everything one iteration produced. ``proposal``, ``candidate`` and ``gate`` are those of the candidate
    it chose (the best that passed the gate, else the best gated or screened one); ``search`` holds every
    candidate it drew."""

    index: int
    incumbent: str
    proposal: Proposal | None = None
    candidate: str | None = None
    rejection: str | None = Field(default=None, description="Why the proposal could not become a candidate.")
    gate: GateResult | None = None
    decision: Decision | None = None
    outcome: Outcome = "no_candidate"
    search: SearchRecord | None = None
    tokens_added: int | None = Field(default=None, description="About how many tokens the candidate adds to "
                                     "every prompt holding the surfaces it changed (4 characters per token).")


class OptimizeState(BaseModel):
    """The whole optimize run so far; saved after every step so the same command resumes it."""

    baseline: str
    incumbent: str
    iterations: list[Iteration] = Field(default_factory=list)
    status: Literal["running", "waiting_for_review", "complete"] = "running"
    stop_reason: str | None = None
    proposer_cost_usd: float = 0.0
    holdout_consultations: int = Field(default=0, description="How often the holdout gated a candidate.")
    gate_tests: int = Field(default=0, description="Full-gate tests so far (alpha spending counts them).")
    power: str | None = Field(default=None, description="The gate's power on the baseline's pass rates.")

    @property
    def pending(self) -> Iteration | None:
        """The iteration waiting for a review decision, if any."""
        return next((it for it in self.iterations if it.outcome == "pending_review"), None)
