"""Harness template sets -> a Harness: named surfaces with a hash.

Surfaces, and the template file of each in a set:

- ``system_prompt``: ``system_prompt.md.j2``.
- ``tool:<name>``: ``tools/<name>.md.j2``, the description of tool ``<name>`` (built in or declared by a
  case); ``tool.default`` is the tool's own description.
- ``tool:<name>.<param>``: ``tools/<name>.<param>.md.j2``, the description of one top-level parameter;
  ``param.default`` is its own description ('' when it has none).
- ``tool_suite``: ``tool_suite.md.j2``, which tools are offered and in what order: it renders to one
  entry per line, a tool name or ``*`` (every tool not named elsewhere, in the default order); a line
  ``-<name>`` hides a tool. ``tools`` (the default order) is in its context. Without it, every tool is
  offered in the default order.

A tool without a template keeps its own text; the optimizer starts such a surface from that text.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from betterharness.atomic import write_text
from betterharness.config.schema import HarnessConfig
from betterharness.digest import digest_of
from betterharness.errors import ConfigError, TemplateError
from betterharness.paths import templates_dir
from betterharness.sandbox import render_text

SYSTEM_PROMPT = "system_prompt"
TOOL_SUITE = "tool_suite"
TOOL_PREFIX = "tool:"
SUFFIX = ".md.j2"
DEFAULT_SOURCE = "{{ tool.default }}"
"""The source of a tool surface that keeps each tool's own text."""


def tool_surface(tool: str, param: str | None = None) -> str:
    """The surface name of a tool's description, or of one of its parameters' descriptions."""
    return f"{TOOL_PREFIX}{tool}" + (f".{param}" if param else "")


def parse_tool_surface(surface: str) -> tuple[str, str | None]:
    """(tool, param or None) of a ``tool:`` surface name."""
    tool, _, param = surface[len(TOOL_PREFIX):].partition(".")
    return tool, param or None


def surface_path(surface: str) -> str:
    """The template file (relative to the set) that holds ``surface``."""
    if surface.startswith(TOOL_PREFIX):
        return f"tools/{surface[len(TOOL_PREFIX):]}{SUFFIX}"
    return f"{surface}{SUFFIX}"


def surface_of(relative: str) -> str:
    """The surface name of a template file path relative to its set."""
    stem = relative[: -len(SUFFIX)]
    return TOOL_PREFIX + stem.split("/", 1)[1] if stem.startswith("tools/") else stem


class Harness(BaseModel):
    """A harness version: the template source of every surface, its parent and its variables."""

    model_config = ConfigDict(frozen=True)

    name: str
    sources: dict[str, str] = Field(description="Surface name -> Jinja template source.")
    vars: dict[str, Any] = Field(default_factory=dict)
    parent: str | None = None

    @cached_property
    def hash(self) -> str:
        """Content hash of the sources and variables: the version's identity."""
        return digest_of({"s": self.sources, "v": self.vars})[:12]

    def render(self, surface: str, **context: Any) -> str:
        """Render ``surface`` with the harness variables plus ``context``."""
        return render_text(self.sources[surface], {**self.vars, "vars": self.vars, **context},
                           origin=f"{self.name}/{surface_path(surface)}")

    def system_prompt(self, tools: list[dict[str, str]], memory: dict[str, str]) -> str:
        """The rendered system prompt for an agent holding ``tools`` and ``memory``."""
        return self.render(SYSTEM_PROMPT, tools=tools, memory=memory)

    def tool_description(self, name: str, default: str) -> str:
        """The harness's description of tool ``name``, or ``default`` when the set has none."""
        surface = tool_surface(name)
        if surface not in self.sources:
            return default
        return self.render(surface, tool={"name": name, "default": default})

    def parameter_description(self, tool: str, param: str, default: str) -> str:
        """The harness's description of parameter ``param`` of ``tool``, or ``default``."""
        surface = tool_surface(tool, param)
        if surface not in self.sources:
            return default
        return self.render(surface, tool={"name": tool, "default": ""}, param={"name": param, "default": default})

    def offered(self, names: list[str]) -> list[str]:
        """The tools offered, in order, out of ``names`` (the default order): see ``tool_suite``."""
        if TOOL_SUITE not in self.sources:
            return list(names)
        lines = [line.strip() for line in self.render(TOOL_SUITE, tools=list(names)).splitlines()]
        hidden = {line[1:].strip() for line in lines if line.startswith("-")}
        named = [line for line in lines if line and not line.startswith(("-", "#")) and line != "*"]
        order: list[str] = []
        for line in lines if "*" in lines else [*lines, "*"]:
            if line == "*":
                order += [n for n in names if n not in named and n not in order]
            elif line in names and line not in order:
                order.append(line)
        return [n for n in order if n not in hidden]

    def with_source(self, surface: str, source: str) -> Harness:
        """A child version with one surface's source replaced (or added)."""
        return Harness(name=self.name, sources={**self.sources, surface: source}, vars=self.vars,
                       parent=self.hash)

    def check(self) -> None:
        """Render every surface once with sample values; raise TemplateError on the first failure."""
        sample_tools = [{"name": "example_tool", "description": "An example tool."}]
        for surface in sorted(self.sources):
            if surface == SYSTEM_PROMPT:
                self.system_prompt(sample_tools, {"example": "an example memory"})
            elif surface == TOOL_SUITE:
                self.offered(["example_tool", "other_tool"])
            elif surface.startswith(TOOL_PREFIX):
                tool, param = parse_tool_surface(surface)
                if param:
                    self.parameter_description(tool, param, "An example parameter.")
                else:
                    self.tool_description(tool, "An example description.")


def load_harness(config: HarnessConfig) -> Harness:
    """Read the template set named by ``config`` into a Harness and check that it renders."""
    root = Path(config.dir).expanduser() if config.dir else templates_dir()
    folder = root / config.name
    if not folder.is_dir():
        available = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        raise ConfigError(f"harness template set {config.name!r} not found in {root}", key="harness.name",
                          value=config.name, allowed=available,
                          fix="pick an existing set, or export one with the optimizer (harness=<name>)")
    sources = {
        surface_of(path.relative_to(folder).as_posix()): path.read_text(encoding="utf-8")
        for path in sorted(folder.rglob(f"*{SUFFIX}"))
    }
    if SYSTEM_PROMPT not in sources:
        raise TemplateError(f"template set {folder} has no {SYSTEM_PROMPT}{SUFFIX}", file=folder,
                            fix=f"add {SYSTEM_PROMPT}{SUFFIX} to the set")
    harness = Harness(name=config.name, sources=sources, vars=dict(config.vars))
    harness.check()
    return harness


def write_harness(harness: Harness, folder: Path) -> None:
    """Write ``harness`` as a template set, usable later as ``harness=<folder name>``."""
    for surface, source in harness.sources.items():
        write_text(folder / surface_path(surface), source if source.endswith("\n") else source + "\n")
