"""Chat transcripts from OpenAI- or LangChain-format messages and from LangSmith runs, in one plain form.

A normalised message is a dict with ``role`` (system, user, assistant, tool), ``content`` (text or
None), ``tool_calls`` (a list of ``{id, name, arguments}``), ``tool_call_id`` and ``name``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

ROLES = {"human": "user", "user": "user", "ai": "assistant", "assistant": "assistant", "tool": "tool",
         "function": "tool", "system": "system", "developer": "system"}
"""Message ``type``/``role`` values of OpenAI and LangChain, mapped to the case roles."""

_LC_CLASSES = {"HumanMessage": "human", "AIMessage": "ai", "ToolMessage": "tool", "SystemMessage": "system",
               "FunctionMessage": "function", "ChatMessage": "user"}


def text_of(content: Any) -> str | None:
    """Plain text of a message content: a string, or the text parts of a list of content blocks."""
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p if isinstance(p, str) else p.get("text", "") for p in content
                 if isinstance(p, str) or (isinstance(p, dict) and p.get("type") in ("text", None))]
        return "\n".join(p for p in parts if p) or None
    if isinstance(content, dict):
        return text_of(content.get("content", content.get("text")))
    return json.dumps(content, ensure_ascii=False)


def parse_arguments(raw: Any) -> dict[str, Any]:
    """Tool-call arguments as a dict: JSON text is parsed; anything else is wrapped as ``{"input": ...}``."""
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str):
        try:
            parsed = json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError:
            return {"input": raw}
        return parsed if isinstance(parsed, dict) else {"input": parsed}
    return {} if raw is None else {"input": raw}


def _tool_call(raw: dict[str, Any], index: int) -> dict[str, Any]:
    function = raw.get("function") if isinstance(raw.get("function"), dict) else None
    name = (function or raw).get("name", "")
    args = function.get("arguments") if function else raw.get("args", raw.get("arguments"))
    return {"id": str(raw.get("id") or f"call_{index}"), "name": name, "arguments": parse_arguments(args)}


def normalize_message(raw: Any) -> dict[str, Any] | None:
    """One message in any supported format as a normalised dict; None when it is not a message."""
    if isinstance(raw, str):
        return {"role": "user", "content": raw, "tool_calls": [], "tool_call_id": None, "name": None}
    if not isinstance(raw, dict):
        return None
    kind = raw.get("role") or raw.get("type")
    if raw.get("lc") == 1 and isinstance(raw.get("kwargs"), dict):
        cls = str((raw.get("id") or [""])[-1]).removesuffix("Chunk")
        kind = raw["kwargs"].get("type") or _LC_CLASSES.get(cls)
        raw = raw["kwargs"]
    elif isinstance(raw.get("data"), dict) and "content" in raw["data"]:
        raw = {**raw["data"], "type": kind}
    if kind == "chat":
        kind = raw.get("role")
    role = ROLES.get(str(kind))
    if role is None:
        return None
    calls = raw.get("tool_calls") or (raw.get("additional_kwargs") or {}).get("tool_calls") or []
    return {
        "role": role,
        "content": text_of(raw.get("content")),
        "tool_calls": [_tool_call(c, i) for i, c in enumerate(calls) if isinstance(c, dict)],
        "tool_call_id": raw.get("tool_call_id"),
        "name": raw.get("name"),
    }


def normalize_messages(raw: Any) -> list[dict[str, Any]]:
    """A list of messages (or a batch: a list holding one list) normalised; non-messages are dropped."""
    if isinstance(raw, list) and raw and isinstance(raw[0], list):
        raw = raw[0]
    if not isinstance(raw, list):
        raw = [raw]
    return [m for m in (normalize_message(item) for item in raw) if m is not None]


@dataclass
class Observation:
    """One tool call seen in a rollout: tool name, arguments, output text, and whether it failed."""

    name: str
    arguments: dict[str, Any]
    output: str
    error: bool = False


@dataclass
class RunView:
    """What mining needs from one LangSmith run: its transcript, tool calls, tool schemas and state."""

    messages: list[dict[str, Any]]
    observations: list[Observation] = field(default_factory=list)
    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Tool name -> ``{description, parameters}`` from the model calls' tool definitions."""
    files: dict[str, str] = field(default_factory=dict)
    memory: dict[str, str] = field(default_factory=dict)


def _messages_in(io: Any, keys: tuple[str, ...], role: str) -> list[dict[str, Any]]:
    """Messages under ``messages``, or one ``role`` message from the first of ``keys`` holding text."""
    if isinstance(io, str):
        return [{"role": role, "content": io, "tool_calls": [], "tool_call_id": None, "name": None}]
    if not isinstance(io, dict):
        return normalize_messages(io) if io else []
    if io.get("messages"):
        return normalize_messages(io["messages"])
    for key in keys:
        if io.get(key):
            value = io[key]
            return _messages_in(value, (), role) if isinstance(value, str) else normalize_messages(value)
    generations = io.get("generations")
    if isinstance(generations, list) and generations:
        first = generations[0][0] if isinstance(generations[0], list) else generations[0]
        if isinstance(first, dict):
            fallback = {"role": "assistant", "content": first.get("text")}
            return normalize_messages(first.get("message") or fallback)
    return []


def _same_prefix(prefix: list[dict[str, Any]], messages: list[dict[str, Any]]) -> bool:
    pairs = zip(prefix, messages, strict=False)
    return len(messages) >= len(prefix) and all((a["role"], a["content"]) == (b["role"], b["content"])
                                                for a, b in pairs)


def _order(run: dict[str, Any]) -> str:
    return str(run.get("dotted_order") or run.get("start_time"))


def _walk(run: dict[str, Any]) -> list[dict[str, Any]]:
    children = sorted(run.get("child_runs") or [], key=_order)
    return [item for child in children for item in (child, *_walk(child))]


def _tool_output(outputs: Any) -> str:
    if isinstance(outputs, dict) and set(outputs) == {"output"}:
        outputs = outputs["output"]
    is_message = isinstance(outputs, dict) and ("lc" in outputs or "type" in outputs)
    message = normalize_message(outputs) if is_message else None
    if message is not None:
        return message["content"] or ""
    return outputs if isinstance(outputs, str) else json.dumps(outputs, ensure_ascii=False, default=str)


def _tool_inputs(inputs: Any) -> dict[str, Any]:
    if isinstance(inputs, dict) and set(inputs) == {"input"}:
        return parse_arguments(inputs["input"])
    return parse_arguments(inputs)


def _state(value: Any) -> dict[str, str]:
    """A files/memory mapping of Deep Agents state: values are text or ``{content: [lines]}``."""
    if not isinstance(value, dict):
        return {}
    out = {}
    for key, item in value.items():
        if isinstance(item, dict) and "content" in item:
            item = item["content"]
        out[str(key)] = "\n".join(map(str, item)) if isinstance(item, list) else str(item)
    return out


def run_view(run: dict[str, Any]) -> RunView:
    """The transcript, tool observations, tool schemas and seed state of one serialised LangSmith run."""
    inputs, outputs = run.get("inputs") or {}, run.get("outputs") or {}
    given = _messages_in(inputs, ("input", "question", "query", "prompt"), "user")
    produced = _messages_in(outputs, ("output", "answer"), "assistant")
    # a graph's output state repeats the whole conversation; a chain's output is only the reply
    messages = produced if _same_prefix(given, produced) and produced else given + produced
    view = RunView(messages=messages, files=_state(inputs.get("files") if isinstance(inputs, dict) else None),
                   memory=_state(inputs.get("memory") if isinstance(inputs, dict) else None))
    for child in _walk(run):
        if child.get("run_type") == "tool":
            view.observations.append(Observation(
                name=str(child.get("name", "")), arguments=_tool_inputs(child.get("inputs")),
                output=_tool_output(child.get("outputs")) if not child.get("error") else str(child["error"]),
                error=bool(child.get("error"))))
        elif child.get("run_type") in ("llm", "chat_model"):
            params = (child.get("extra") or {}).get("invocation_params") or {}
            for tool in params.get("tools") or []:
                spec = tool.get("function", tool) if isinstance(tool, dict) else {}
                if spec.get("name"):
                    parameters = spec.get("parameters") or spec.get("input_schema") or {"type": "object"}
                    view.schemas.setdefault(spec["name"], {"description": spec.get("description") or "",
                                                           "parameters": parameters})
    return view


def observations_from_messages(messages: list[dict[str, Any]]) -> list[Observation]:
    """Tool calls paired with their results by call id, when a transcript carries both."""
    calls = {c["id"]: c for m in messages if m["role"] == "assistant" for c in m["tool_calls"]}
    found = []
    for message in messages:
        call = calls.get(message.get("tool_call_id") or "") if message["role"] == "tool" else None
        if call is not None:
            found.append(Observation(call["name"], call["arguments"], message["content"] or ""))
    return found
