"""Every surface a proposal may edit: the harness's own, plus one for each tool the cases offer.

A tool without a template in the harness set (a case's mock tool, or a parameter of a built-in tool) is
still a surface: it starts from the tool's own text. The text is copied literally when every case that
offers the tool agrees on it (and it holds no Jinja markup); otherwise the surface starts from
``{{ tool.default }}`` / ``{{ param.default }}``, which keeps each case's own text.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from betterharness.agent.tools import ToolEnvironment
from betterharness.evals.case import EvalCase
from betterharness.harness.templates import (
    DEFAULT_SOURCE,
    SYSTEM_PROMPT,
    TOOL_SUITE,
    Harness,
    parse_tool_surface,
    tool_surface,
)

PARAM_DEFAULT_SOURCE = "{{ param.default }}"
SUITE_DEFAULT_SOURCE = "*\n"
"""Every tool in its default order (see ``harness.templates``)."""


def _starting_source(texts: set[str], fallback: str) -> str:
    if len(texts) == 1:
        (text,) = texts
        if text and not any(mark in text for mark in ("{{", "{%", "{#")):
            return text
    return fallback


def tool_defaults(cases: Iterable[EvalCase]) -> dict[str, str]:
    """Surface -> starting source for every tool (and top-level parameter) the cases offer, plus the suite."""
    descriptions: dict[str, set[str]] = defaultdict(set)
    params: dict[str, set[str]] = defaultdict(set)
    for case in cases:
        for spec in ToolEnvironment(case.environment).defaults:
            descriptions[tool_surface(spec.name)].add(spec.description)
            for name, schema in (spec.parameters.get("properties") or {}).items():
                text = schema.get("description", "") if isinstance(schema, dict) else ""
                params[tool_surface(spec.name, name)].add(str(text))
    out = {surface: _starting_source(texts, DEFAULT_SOURCE) for surface, texts in descriptions.items()}
    out |= {surface: _starting_source(texts, PARAM_DEFAULT_SOURCE) for surface, texts in params.items()}
    out[TOOL_SUITE] = SUITE_DEFAULT_SOURCE
    return out


def editable(harness: Harness, defaults: dict[str, str]) -> dict[str, str]:
    """Every surface a proposal may edit, with its current source (the harness's own wins)."""
    return {**defaults, **harness.sources}


def of_tools(tools: Sequence[str] | set[str], surfaces: dict[str, str]) -> dict[str, str]:
    """The surfaces of ``tools``: each one's description and its parameters' descriptions."""
    prefixes = tuple(tool_surface(tool) for tool in tools)
    return {s: source for s, source in surfaces.items()
            if s in prefixes or s.startswith(tuple(p + "." for p in prefixes))}


CHARS_PER_TOKEN = 4


def rendered(harness: Harness, surface: str, defaults: dict[str, str]) -> str:
    """What ``surface`` puts in front of the model under ``harness`` ('' for the suite, which adds no text)."""
    if surface == SYSTEM_PROMPT:
        return harness.system_prompt([], {})
    if surface == TOOL_SUITE or not surface.startswith("tool:"):
        return ""
    own = defaults.get(surface, "")
    tool, param = parse_tool_surface(surface)
    own = own if DEFAULT_SOURCE not in own and "{{ param.default }}" not in own else ""
    if param:
        return harness.parameter_description(tool, param, own)
    return harness.tool_description(tool, own)


def tokens_added(incumbent: Harness, candidate: Harness, defaults: dict[str, str]) -> int:
    """About how many tokens the candidate adds to every prompt that holds the surfaces it changed
    (rendered text, 4 characters per token; negative when it shortens them)."""
    changed = {s for s in set(incumbent.sources) | set(candidate.sources)
               if incumbent.sources.get(s) != candidate.sources.get(s)}
    delta = sum(len(rendered(candidate, s, defaults)) - len(rendered(incumbent, s, defaults)) for s in changed)
    return round(delta / CHARS_PER_TOKEN)
