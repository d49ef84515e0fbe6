"""Recorded rollouts -> draft eval cases: failures and user corrections become cases for human review.

A rollout is mined when it failed (its score, a run error or negative feedback says so) or when the
user corrected the agent (see ``is_correction``). The draft's input is the conversation up to and
including the last user turn before that point; its mock tools replay what the tools returned.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from pydantic import ValidationError

from betterharness.evals.case import TAG_PATTERN, EvalCase, slug
from betterharness.evals.transcripts import Observation, text_of

CORRECTION_OPENERS = ("no,", "no.", "no!", "nope")
"""A later user message starting with one of these corrects the agent."""
CORRECTION_PHRASES = ("that's not", "that is not", "thats not", "not what i asked", "not what i wanted",
                      "i said", "i asked for", "i meant", "actually,", "you misunderstood", "wrong")
"""A later user message containing one of these (as whole words) corrects the agent."""
TOOLSET_TOOLS = {"filesystem": ("ls", "read_file", "write_file", "edit_file", "glob", "grep"),
                 "memory": ("memory_list", "memory_read", "memory_write", "memory_delete")}
"""Tool names served by the built-in toolsets rather than by mock tools."""
SIMILARITY = 0.9
"""User turns at least this similar (difflib ratio) to an existing case's make a draft a duplicate."""
_TOOL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_\-]{0,63}$")


@dataclass
class Rollout:
    """One recorded conversation to mine, whatever its source (own traces or LangSmith runs)."""

    source: str
    ref: str
    digest: str
    messages: list[dict[str, Any]]
    """Normalised messages (see ``betterharness.evals.transcripts``)."""
    failed: bool
    reason: str = ""
    tags: list[str] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    tool_names: list[str] = field(default_factory=list)
    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    environment: dict[str, Any] | None = None
    """The exact environment the rollout started from, when known (it then replaces the rebuilt one)."""
    files: dict[str, str] = field(default_factory=dict)
    memory: dict[str, str] = field(default_factory=dict)
    success: list[dict[str, Any]] | None = None
    """The original case's assertions, when known; used when there is no correction to judge by."""
    notes: list[str] = field(default_factory=list)


def digest_of(record: Any) -> str:
    """A stable sha256 hex digest of a JSON-like record."""
    return hashlib.sha256(json.dumps(record, sort_keys=True, default=str).encode()).hexdigest()


def one_line(text: str | None, limit: int | None = None) -> str:
    """``text`` on one line, whitespace collapsed, cut to ``limit`` characters with an ellipsis."""
    flat = " ".join((text or "").split())
    return flat if limit is None or len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def is_correction(text: str | None) -> bool:
    """True when a user message corrects the agent (a small heuristic: see the CORRECTION_* markers)."""
    lowered = one_line(text).lower().replace("\u2019", "'")
    if lowered.startswith(CORRECTION_OPENERS):
        return True
    return any(re.search(rf"(?<!\w){re.escape(p)}(?!\w)", lowered) for p in CORRECTION_PHRASES)


def cut_point(messages: list[dict[str, Any]]) -> tuple[int, int | None] | None:
    """(index of the last user turn to keep, index of the correcting user turn or None); None: no user turn.

    The first user turn that follows an agent reply and corrects it marks the cut; without one, the
    draft keeps the whole conversation up to its last user turn.
    """
    users = [i for i, m in enumerate(messages) if m["role"] == "user"]
    if not users:
        return None
    for i in users[1:]:
        replied = any(m["role"] == "assistant" for m in messages[users[0]:i])
        if replied and is_correction(messages[i]["content"]):
            return max(u for u in users if u < i), i
    return users[-1], None


def _case_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    ids: dict[str, str] = {}
    for message in messages:
        item: dict[str, Any] = {"role": message["role"]}
        if message["content"] is not None or message["role"] in ("user", "tool"):
            item["content"] = message["content"] or ""
        if message["role"] == "assistant" and message["tool_calls"]:
            item["tool_calls"] = [{"name": c["name"], "arguments": c["arguments"]}
                                  for c in message["tool_calls"]]
            # the agent loop replays history tool calls as hist_<index>; tool results must point at those
            ids.update((c["id"], f"hist_{i}") for i, c in enumerate(message["tool_calls"]))
        elif message["role"] == "assistant" and "content" not in item:
            item["content"] = ""
        if message["role"] == "tool":
            item["tool_call_id"] = ids.get(message["tool_call_id"] or "", message["tool_call_id"] or "")
            if message["name"]:
                item["name"] = message["name"]
        out.append(item)
    return out


def _json_value(text: str) -> Any:
    if text.strip()[:1] in ("{", "["):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            pass
    return text


def _parameters(schema: dict[str, Any] | None) -> dict[str, Any]:
    params = (schema or {}).get("parameters")
    try:
        jsonschema.Draft202012Validator.check_schema(params)
    except (jsonschema.SchemaError, TypeError):
        return {"type": "object"}
    return params if isinstance(params, dict) and params.get("type") == "object" else {"type": "object"}


def mock_tool(name: str, observations: list[Observation], schema: dict[str, Any] | None, origin: str) -> dict:
    """A mock tool replaying each observed (arguments -> output) pair, most specific first, then an error."""
    responses: dict[str, dict[str, Any]] = {}
    for seen in observations:
        if seen.name == name and not seen.error:
            responses.setdefault(json.dumps(seen.arguments, sort_keys=True),
                                 {"when": seen.arguments, "return": _json_value(seen.output)})
    ordered = sorted(responses.values(), key=lambda r: -len(r["when"]))
    description = (schema or {}).get("description") or f"Observed in {origin}; no description was recorded."
    fallback = {"default": {"error": f"no recorded result of {name} for these arguments"}}
    return {"name": name, "description": description, "parameters": _parameters(schema),
            "responses": [*ordered, fallback]}


def _environment(rollout: Rollout) -> tuple[dict[str, Any], str]:
    if rollout.environment is not None:
        return rollout.environment, "environment: copied from the original case"
    called = [c["name"] for m in rollout.messages for c in m["tool_calls"]]
    names = list(dict.fromkeys([*rollout.tool_names, *rollout.schemas,
                                *(o.name for o in rollout.observations), *called]))
    toolsets = [s for s, tools in TOOLSET_TOOLS.items() if set(tools) & set(names)]
    served = {t for s in toolsets for t in TOOLSET_TOOLS[s]}
    origin = f"{rollout.source} {rollout.ref}"
    tools = [mock_tool(n, rollout.observations, rollout.schemas.get(n), origin)
             for n in names if n not in served and _TOOL_NAME.match(n)]
    env = {"files": rollout.files, "memory": rollout.memory, "toolsets": toolsets, "tools": tools}
    note = "environment: rebuilt from observed tool calls"
    unnamed = [n for n in names if n not in served and not _TOOL_NAME.match(n)]
    note += f" (not mockable, invalid tool names: {', '.join(unnamed)})" if unnamed else ""
    note += "; add the seed files the rollout read" if "filesystem" in toolsets and not rollout.files else ""
    return {k: v for k, v in env.items() if v}, note


def draft_case(rollout: Rollout) -> dict[str, Any] | None:
    """The draft case (YAML-ready data) of a failed or corrected rollout; None when nothing is to be mined."""
    cut = cut_point(rollout.messages)
    if cut is None:
        return None
    keep, correction = cut
    if correction is None and not rollout.failed:
        return None
    users = [m for m in rollout.messages if m["role"] == "user"]
    first = one_line(users[0]["content"])
    observed = [m for m in rollout.messages[keep + 1: correction] if m["role"] == "assistant"]
    environment, env_note = _environment(rollout)
    notes = list(rollout.notes)
    if correction is not None:
        said = one_line(rollout.messages[correction]["content"], 300)
        success = [{"llm_judge": {"criteria": [f"The agent does what the user asked: {said}"]}}]
        notes.append(f"user correction: {said}")
    else:
        asked = one_line(rollout.messages[keep]["content"], 300)
        success = rollout.success or [
            {"llm_judge": {"criteria": [f"The agent correctly does what the user asked: {asked}"]}}]
    if rollout.failed:
        notes.append(f"failed: {rollout.reason}")
    if any(m["role"] == "system" for m in rollout.messages[: keep + 1]):
        notes.append("system messages dropped (the harness supplies the system prompt)")
    tags = ["mined", *(t for t in rollout.tags if re.match(TAG_PATTERN, t) and t != "mined")]
    data: dict[str, Any] = {
        "id": f"mined_{slug(first)[:40].strip('_') or 'case'}_{rollout.digest[:6]}",
        "description": f"Mined from {rollout.source}: {one_line(first, 80)}",
        "tags": list(dict.fromkeys(tags)),
        "tier": "hillclimb",
        "status": "draft",
        "input": {"messages": _case_messages([m for m in rollout.messages[: keep + 1]
                                              if m["role"] != "system"])},
        "environment": environment,
        "success": success,
        "ideal": {"steps": max(1, len(observed)), "tool_calls": sum(len(m["tool_calls"]) for m in observed)},
        "provenance": {"source": rollout.source, "ref": rollout.ref, "digest": rollout.digest,
                       "notes": "; ".join([*notes, env_note])},
    }
    if not environment:
        del data["environment"]
    return data


def _normalized(text: str) -> str:
    return " ".join(text.casefold().split())


def user_text(case: EvalCase | dict[str, Any]) -> str:
    """The normalised text of a case's user turns (a simulated user's opening counts as one)."""
    if isinstance(case, dict):
        turns = [m.get("content") or "" for m in case["input"]["messages"] if m["role"] == "user"]
    else:
        turns = [m.content or "" for m in case.input.messages if m.role == "user"]
        turns += [case.input.user.opening] if case.input.user else []
    return _normalized("\n".join(text_of(t) or "" for t in turns))


class Deduplicator:
    """Known cases by provenance digest and by user turns; ``check`` says why a draft is a duplicate."""

    def __init__(self, cases: list[EvalCase]) -> None:
        self.digests: dict[str, str] = {c.provenance.digest: c.id for c in cases if c.provenance and
                                        c.provenance.digest}
        self.texts: list[tuple[str, str]] = [(user_text(c), c.id) for c in cases]

    def check(self, data: dict[str, Any]) -> str | None:
        """Why ``data`` duplicates a known case (naming it), or None when it is new."""
        digest = data["provenance"]["digest"]
        if digest in self.digests:
            return f"same source digest as {self.digests[digest]}"
        text = user_text(data)
        for known, case_id in self.texts:
            if known == text:
                return f"same user turns as {case_id}"
            matcher = difflib.SequenceMatcher(None, known, text, autojunk=False)
            if matcher.real_quick_ratio() >= SIMILARITY and matcher.quick_ratio() >= SIMILARITY \
                    and matcher.ratio() >= SIMILARITY:
                return f"user turns {matcher.ratio():.0%} similar to {case_id}"
        return None

    def add(self, data: dict[str, Any]) -> None:
        """Remember a drafted case so later drafts in the same import are checked against it."""
        self.digests[data["provenance"]["digest"]] = data["id"]
        self.texts.append((user_text(data), data["id"]))


class _Dumper(yaml.SafeDumper):
    """Block YAML; short flat collections inline, multi-line strings as literal blocks."""


def _inline(items: list[Any]) -> bool:
    scalars = all(not isinstance(i, dict | list) and "\n" not in str(i) for i in items)
    return scalars and len(json.dumps(items, ensure_ascii=False, default=str)) <= 70


_Dumper.add_representer(str, lambda d, s: d.represent_scalar(
    "tag:yaml.org,2002:str", s, style="|" if "\n" in s else None))
_Dumper.add_representer(dict, lambda d, v: d.represent_mapping(
    "tag:yaml.org,2002:map", v, flow_style=_inline([*v, *v.values()])))
_Dumper.add_representer(list, lambda d, v: d.represent_sequence(
    "tag:yaml.org,2002:seq", v, flow_style=_inline(v)))


def case_yaml(data: dict[str, Any], schema_ref: str) -> str:
    """The text of a case file: the editor schema line, then ``data`` as block YAML in field order."""
    body = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)
    return f"# yaml-language-server: $schema={schema_ref}\n{body}"


@dataclass
class MineResult:
    """What an import did: files written, duplicates skipped (with the reason), rollouts not mined."""

    drafted: list[Path] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    """(source ref, why it duplicates a known case)."""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(source ref, why it was not mined: it passed, had no user turn, or its draft did not validate)."""


def mine(rollouts: list[Rollout], dest: Path, known: list[EvalCase], schema: Path,
         dry_run: bool = False) -> MineResult:
    """Draft a case per failed or corrected rollout; skip duplicates; validate and write the rest to ``dest``.

    ``known`` are the cases to de-duplicate against; ``schema`` is ``schema.json`` (for the editor line).
    """
    result = MineResult()
    dedup = Deduplicator(known)
    schema_ref = Path(os.path.relpath(schema, dest)).as_posix()
    for rollout in rollouts:
        data = draft_case(rollout)
        if data is None:
            why = "no user turn" if cut_point(rollout.messages) is None else "passing, no user correction"
            result.skipped.append((rollout.ref, why))
            continue
        reason = dedup.check(data)
        if reason is not None:
            result.duplicates.append((rollout.ref, reason))
            continue
        try:
            EvalCase.model_validate(data)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(map(str, error["loc"]))
            result.skipped.append((rollout.ref, f"draft did not validate: {where}: {error['msg']}"))
            continue
        dedup.add(data)
        path = dest / f"{data['id']}.yaml"
        if not dry_run:
            dest.mkdir(parents=True, exist_ok=True)
            path.write_text(case_yaml(data, schema_ref), encoding="utf-8")
        result.drafted.append(path)
    return result
