"""How a rollout is judged against each assertion: one check function per assertion name.

An assertion in a case is data (``betterharness.evals.assertions``); its check lives here, registered
with ``@checks(AssertionClass)``. The built-in check modules are imported on the first lookup.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from betterharness.agent.trace import Trace
from betterharness.evals.assertions import Assertion
from betterharness.evals.case import EvalCase
from betterharness.registry import Registry
from betterharness.scoring.context import ScoringContext
from betterharness.scoring.score import Verdict

Check = Callable[[Any, Trace, EvalCase, ScoringContext], Awaitable[Verdict]]
"""``check(assertion, trace, case, ctx) -> Verdict``; a bad rollout is a failing Verdict, never an exception."""

CHECKS: Registry[Check] = Registry(
    "assertion check", key="success",
    modules=[f"betterharness.scoring.checks.{m}" for m in ("text", "state", "tools", "judge", "bfcl")],
)

F = TypeVar("F", bound=Check)


def checks(assertion: type[Assertion]) -> Callable[[F], F]:
    """Register the decorated function as the check of ``assertion``."""
    return CHECKS.register(assertion.name)  # type: ignore[return-value]


def verdict(assertion: Assertion, passed: bool, detail: str = "") -> Verdict:
    """A Verdict for ``assertion``."""
    return Verdict(assertion=assertion.name, passed=passed, detail=detail)


async def check(assertion: Assertion, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
    """Judge ``trace`` against one assertion with its registered check."""
    return await CHECKS.get(assertion.name)(assertion, trace, case, ctx)


__all__ = ["CHECKS", "Check", "check", "checks", "verdict"]
