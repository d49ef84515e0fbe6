"""The proposer: current surfaces + diagnosis + history -> one targeted, checked harness edit."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from betterharness.errors import BHError
from betterharness.evals.case import EvalCase
from betterharness.harness.templates import SYSTEM_PROMPT, TOOL_PREFIX, Harness, parse_tool_surface
from betterharness.models.completion import ModelClient, Usage
from betterharness.optimize.diagnose import Diagnosis
from betterharness.optimize.leakage import leaks
from betterharness.optimize.surfaces import editable, of_tools
from betterharness.sandbox import render_text


class Edit(BaseModel):
    """One edit of one surface's template text."""

    surface: str = Field(description="system_prompt, tool:<name> (a tool's description), tool:<name>.<param> "
                                     "(a parameter's description) or tool_suite (which tools, in what order).")
    op: Literal["replace", "insert_after", "append", "rewrite"] = "append"
    find: str | None = Field(default=None, description="Exact text to replace or insert after.")
    text: str = Field(description="The new text.")


class Proposal(BaseModel):
    """The proposer's structured answer: one change (optionally a prompt + tool description together)."""

    edit: Edit
    also: Edit | None = Field(default=None, description="A second surface changed as part of the same change.")
    rationale: str = ""
    targets: list[str] = Field(default_factory=list, description="Failure clusters (tag/signature) targeted.")


class HistoryItem(BaseModel):
    """What the proposer is told about an earlier iteration."""

    iteration: int
    summary: str
    outcome: str
    regressions: list[str] = Field(default_factory=list)


class Rejected(BHError):
    """A proposal that cannot become a candidate (no JSON, bad edit, does not render, leaks)."""


MIN_NEW_WORDS = 3
MAX_EDIT_CHARS = 600
"""Edits are small by construction: constrained decoders stop a proposer from pasting the whole template."""

PROPOSAL_SCHEMA: dict[str, Any] = {
    "type": "json_schema",
    "json_schema": {"name": "proposal", "schema": {
        "type": "object",
        "properties": {
            "edit": {"type": "object", "properties": {
                "surface": {"type": "string"}, "op": {"enum": ["replace", "insert_after", "append", "rewrite"]},
                "find": {"type": ["string", "null"], "maxLength": MAX_EDIT_CHARS},
                "text": {"type": "string", "maxLength": MAX_EDIT_CHARS}},
                "required": ["surface", "op", "text"]},
            "also": {"anyOf": [{"type": "null"}, {"type": "object", "properties": {
                "surface": {"type": "string"}, "op": {"enum": ["replace", "insert_after", "append", "rewrite"]},
                "find": {"type": ["string", "null"]}, "text": {"type": "string"}},
                "required": ["surface", "op", "text"]}]},
            "rationale": {"type": "string", "maxLength": MAX_EDIT_CHARS},
            "targets": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["edit", "rationale"],
    }},
}


def apply_edit(source: str, edit: Edit) -> str:
    """The template source after ``edit``; raises Rejected when the edit cannot apply cleanly."""
    if edit.op == "rewrite":
        return edit.text
    if edit.op == "append":
        existing = {line.strip() for line in source.splitlines() if line.strip()}
        fresh = [line for line in edit.text.strip("\n").splitlines() if line.strip() not in existing]
        if len(re.findall(r"[A-Za-z]{2,}", "\n".join(fresh))) < MIN_NEW_WORDS:
            raise Rejected("the appended text adds no new rule (it repeats the surface or is too short)")
        return source.rstrip("\n") + "\n\n" + "\n".join(fresh).strip("\n") + "\n"
    if not edit.find:
        raise Rejected(f"a {edit.op} edit needs `find`: the exact text to {edit.op.replace('_', ' ')}")
    count = source.count(edit.find)
    if count != 1:
        raise Rejected(f"`find` must occur exactly once in {edit.surface}, it occurs {count} times",
                       value=edit.find[:80])
    if edit.op == "replace":
        return source.replace(edit.find, edit.text)
    return source.replace(edit.find, edit.find + edit.text)


def parse_proposal(text: str) -> Proposal:
    """Read the first JSON object in ``text`` as a Proposal (tolerates code fences and chatter)."""
    candidates = re.findall(r"```(?:json)?\s*(\{.*?\})\s*```", text, flags=re.S)
    start = text.find("{")
    if start >= 0:
        candidates.append(text[start: text.rfind("}") + 1])
    for candidate in candidates:
        try:
            data = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(data, dict) and "surface" in data and "edit" not in data:
            data = {"edit": {k: data.pop(k) for k in ("surface", "op", "find", "text") if k in data}, **data}
        try:
            return Proposal.model_validate(data)
        except ValidationError as exc:
            raise Rejected(f"the proposal does not match the expected form: {exc.errors()[0]['msg']}",
                           key=".".join(map(str, exc.errors()[0]["loc"]))) from None
    raise Rejected("the proposer's answer holds no JSON proposal", value=text[:200])


def one_idea(surfaces: Sequence[str], together: Sequence[Sequence[str]] = ()) -> bool:
    """True when two surfaces may change in one proposal: the system prompt and one tool surface, two
    surfaces of the same tool (its description and a parameter's), or a group in ``together``."""
    pair = set(surfaces)
    if len(pair) != 2:
        return False
    if any(pair <= set(group) for group in together):
        return True
    tools = [parse_tool_surface(s)[0] for s in pair if s.startswith(TOOL_PREFIX)]
    return (SYSTEM_PROMPT in pair and len(tools) == 1) or (len(tools) == 2 and tools[0] == tools[1])


def candidate_from(incumbent: Harness, proposal: Proposal, opt_cases: Sequence[EvalCase],
                   together: Sequence[Sequence[str]] = (), defaults: dict[str, str] | None = None) -> Harness:
    """Apply a proposal to the incumbent; enforce one change, rendering and the leakage check.

    ``defaults`` are the surfaces the harness does not hold yet, with their starting sources
    (``surfaces.tool_defaults``): an edit of one adds it to the candidate."""
    sources = editable(incumbent, defaults or {})
    edits = [proposal.edit, *([proposal.also] if proposal.also else [])]
    surfaces = [e.surface for e in edits]
    for surface in surfaces:
        if surface not in sources:
            raise Rejected(f"unknown surface {surface!r}", allowed=sorted(sources))
    if len(edits) == 2 and not one_idea(surfaces, together):
        raise Rejected("one change per iteration: two surfaces may change together only when they are the system "
                       "prompt and one tool's surface, a tool's description and one of its parameters, or a group "
                       "in optimizer.surfaces_together", value=surfaces)
    for edit in edits:
        longest = max(len(edit.text), len(edit.find or ""))
        if longest > MAX_EDIT_CHARS:
            raise Rejected(f"the edit of {edit.surface} is {longest} characters; an edit may have {MAX_EDIT_CHARS}",
                           fix="propose one targeted rule, not a new template")
    candidate = incumbent
    for edit in edits:
        old = candidate.sources.get(edit.surface, sources[edit.surface])
        new = apply_edit(old, edit)
        if new == old:
            raise Rejected(f"the edit leaves {edit.surface} unchanged")
        leaked = leaks(old, new, opt_cases)
        if leaked:
            raise Rejected("the edit copies literals from optimization cases (leakage)", value=leaked[:5],
                           fix="state a general rule instead of case-specific ids, answers or values")
        candidate = candidate.with_source(edit.surface, new)
    candidate = candidate.model_copy(update={"parent": incumbent.hash})
    candidate.check()
    return candidate


def render_prompt(template: Path, incumbent: Harness, diagnosis: Diagnosis, history: Sequence[HistoryItem],
                  rules: dict[str, Any], defaults: dict[str, str] | None = None,
                  focus: dict[str, Any] | None = None) -> str:
    """The proposer prompt from the user-editable Jinja template.

    It shows the system prompt and every surface of the tools the failing rollouts were offered (each
    description and parameter description, the harness's or the tool's own); the other surfaces are only
    named, to keep the prompt focused and small. ``focus`` is the failure cluster this draw should address
    (when an iteration draws several candidates, each gets a different one).
    """
    sources = editable(incumbent, defaults or {})
    shown = {SYSTEM_PROMPT: sources[SYSTEM_PROMPT], **of_tools(sorted(diagnosis.tools()), sources)}
    return render_text(template.read_text(encoding="utf-8"), {
        "surfaces": shown, "other_surfaces": sorted(set(sources) - set(shown)),
        "diagnosis": diagnosis.model_dump(),
        "history": [h.model_dump() for h in history],
        "rules": rules,
        "focus": focus,
    }, origin=str(template))


async def ask(client: ModelClient, prompt: str, temperature: float | None = None) -> tuple[str, Usage]:
    """Call the proposer model with a JSON-schema response format where the provider supports it."""
    completion = await client.complete([{"role": "user", "content": prompt}], response_format=PROPOSAL_SCHEMA,
                                       temperature=temperature)
    return completion.content or "", completion.usage
