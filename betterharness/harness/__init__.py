"""Harness template sets rendered to surfaces (the system prompt, each tool's description), and their diffs."""

from betterharness.harness.diff import changed_surfaces, diff
from betterharness.harness.templates import SYSTEM_PROMPT, TOOL_PREFIX, Harness, load_harness, write_harness

__all__ = ["SYSTEM_PROMPT", "TOOL_PREFIX", "Harness", "changed_surfaces", "diff", "load_harness", "write_harness"]
