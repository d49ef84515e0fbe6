"""How a case is run: agent adapters (the built-in loop first), the simulated user, tool environments."""

from betterharness.agent.adapters import ADAPTERS, Adapter
from betterharness.agent.trace import Annotation, Step, StopReason, ToolResult, Trace

__all__ = ["ADAPTERS", "Adapter", "Annotation", "Step", "StopReason", "ToolResult", "Trace"]
