"""The ``bfcl_calls`` assertion: expected calls in BFCL's ``possible_answer`` form.

Expected calls are ``{function: {argument: [acceptable values...]}}``; how the agent's calls are judged
against them (BFCL's AST checker rules) is in ``betterharness.scoring.checks.bfcl``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from betterharness.evals.assertions.base import Assertion, assertion


@assertion("bfcl_calls")
class BfclCalls(Assertion):
    """The agent's tool calls match the expected calls as BFCL's AST checker judges them."""

    calls: list[dict[str, dict[str, list[Any]]]] = Field(
        default_factory=list, description="Expected calls: [{function: {argument: [acceptable values]}}]."
    )
    order: Literal["any", "sequential"] = Field(
        default="any", description="any: a one-to-one match in any order; sequential: in the given order."
    )
    irrelevance: bool = Field(default=False, description="Pass only when the agent makes no tool call.")
    scope: Literal["first_step", "all"] = Field(
        default="first_step", description="Which calls count: the first step that has calls (BFCL), or all."
    )

    @model_validator(mode="after")
    def _well_formed(self) -> BfclCalls:
        if any(len(call) != 1 for call in self.calls):
            raise ValueError("each expected call is a one-key mapping {function: {argument: [values]}}")
        if self.irrelevance and self.calls:
            raise ValueError("irrelevance: true expects no calls; leave `calls` empty")
        if not self.irrelevance and not self.calls:
            raise ValueError("give the expected `calls`, or `irrelevance: true` for no call at all")
        return self
