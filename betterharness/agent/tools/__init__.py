"""In-memory tool environments for rollouts: virtual filesystem, memory store and case-defined mock tools."""

from betterharness.agent.tools.base import Tool, ToolFailure, ToolSpec
from betterharness.agent.tools.environment import CallRecord, ToolEnvironment

__all__ = ["CallRecord", "Tool", "ToolEnvironment", "ToolFailure", "ToolSpec"]
