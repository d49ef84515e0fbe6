"""Tool sources by name: where the tools of a rollout come from (a built-in toolset, the case's mocks).

A source builds its tools over one rollout's ``World`` (its private files and memory). Built-in
toolsets are named in a case's ``environment.toolsets``; ``mock`` serves the case's declared tools.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from betterharness.agent.tools.base import Tool
from betterharness.agent.tools.filesystem import VirtualFilesystem
from betterharness.agent.tools.memory import MemoryStore
from betterharness.agent.tools.mock import MockToolRunner
from betterharness.evals.case import Environment
from betterharness.registry import Registry


@dataclass
class World:
    """The state one rollout's tools act on: fresh copies of the case's seed files and memory."""

    environment: Environment
    fs: VirtualFilesystem
    memory: MemoryStore


ToolSource = Callable[[World], list[Tool]]
"""A source: the world of one rollout in, its tools out."""

BUILTIN_ORDER = ("filesystem", "memory")
"""Built-in toolsets are offered in this order, whatever order a case lists them in."""


def toolset_rank(name: str) -> tuple[int, str]:
    """Sort key of a toolset: the built-ins in their order, then any other source by name."""
    return (BUILTIN_ORDER.index(name) if name in BUILTIN_ORDER else len(BUILTIN_ORDER), name)


TOOL_SOURCES: Registry[ToolSource] = Registry("tool source", key="environment.toolsets")
TOOL_SOURCES.register("filesystem", lambda world: world.fs.tools())
TOOL_SOURCES.register("memory", lambda world: world.memory.tools())
TOOL_SOURCES.register("mock", lambda world: [MockToolRunner(mock) for mock in world.environment.tools])
