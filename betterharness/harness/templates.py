"""Harness template sets -> a Harness: named surfaces (system prompt, tool descriptions) with a hash."""

from __future__ import annotations

import hashlib
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field

from betterharness.config.identity import canonical_json
from betterharness.config.schema import HarnessConfig
from betterharness.errors import ConfigError, TemplateError
from betterharness.paths import templates_dir

SYSTEM_PROMPT = "system_prompt"
TOOL_PREFIX = "tool:"
SUFFIX = ".md.j2"


def surface_path(surface: str) -> str:
    """The template file (relative to the set) that holds ``surface``."""
    if surface.startswith(TOOL_PREFIX):
        return f"tools/{surface[len(TOOL_PREFIX):]}{SUFFIX}"
    return f"{surface}{SUFFIX}"


def surface_of(relative: str) -> str:
    """The surface name of a template file path relative to its set."""
    stem = relative[: -len(SUFFIX)]
    return TOOL_PREFIX + stem.split("/", 1)[1] if stem.startswith("tools/") else stem


_ENV = SandboxedEnvironment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False, autoescape=False)


@lru_cache(maxsize=512)
def _compile(source: str) -> jinja2.Template:
    return _ENV.from_string(source)


def render_text(source: str, context: dict[str, Any], origin: str = "<template>") -> str:
    """Render one Jinja source in the sandbox; errors become TemplateError naming origin and line."""
    try:
        return _compile(source).render(**context).strip()
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error: {exc.message}", file=f"{origin}:{exc.lineno}",
                            fix="fix the Jinja syntax") from None
    except jinja2.UndefinedError as exc:
        raise TemplateError(
            f"template uses an undefined variable: {exc.message}", file=origin,
            allowed=sorted(context), fix="use one of the allowed variables or add it under harness.vars",
        ) from None
    except jinja2.TemplateError as exc:
        raise TemplateError(f"template failed to render: {exc}", file=origin) from None


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
        return hashlib.sha256(canonical_json({"s": self.sources, "v": self.vars}).encode()).hexdigest()[:12]

    def render(self, surface: str, **context: Any) -> str:
        """Render ``surface`` with the harness variables plus ``context``."""
        return render_text(self.sources[surface], {**self.vars, "vars": self.vars, **context},
                           origin=f"{self.name}/{surface_path(surface)}")

    def system_prompt(self, tools: list[dict[str, str]], memory: dict[str, str]) -> str:
        """The rendered system prompt for an agent holding ``tools`` and ``memory``."""
        return self.render(SYSTEM_PROMPT, tools=tools, memory=memory)

    def tool_description(self, name: str, default: str) -> str:
        """The harness's description of tool ``name``, or ``default`` when the set has none."""
        surface = TOOL_PREFIX + name
        if surface not in self.sources:
            return default
        return self.render(surface, tool={"name": name, "default": default})

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
            else:
                self.tool_description(surface[len(TOOL_PREFIX):], "An example description.")


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
        path = folder / surface_path(surface)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source if source.endswith("\n") else source + "\n", encoding="utf-8")
