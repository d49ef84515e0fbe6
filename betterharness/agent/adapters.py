"""Agent adapters by name: how one case is run. ``builtin`` is our own loop (``agent/loop.py``).

An adapter is ``async (case, harness, agent, limits, *, epoch, user) -> Trace`` and never raises.
Adapters for the user's own agents register here too, or through the ``betterharness.agent_adapter``
entry-point group.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Protocol

from betterharness.agent.trace import Trace
from betterharness.config.schema import LimitsConfig
from betterharness.evals.case import EvalCase
from betterharness.harness.templates import Harness
from betterharness.models.completion import ModelClient
from betterharness.registry import Registry


class Adapter(Protocol):
    """Runs one rollout of a case under a harness; every failure is recorded in the returned trace."""

    def __call__(self, case: EvalCase, harness: Harness, agent: ModelClient, limits: LimitsConfig, *,
                 epoch: int = 0, user: ModelClient | None = None) -> Awaitable[Trace]:
        """One rollout."""
        ...


ADAPTERS: Registry[Adapter] = Registry("agent adapter", key="agent")
ADAPTERS.lazy("builtin", "betterharness.agent.loop:run_case")
