"""The embedded provider's JSON step protocol and litellm mapping, with a stub engine (no model, no network)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from betterharness.errors import ConfigError
from betterharness.models import embedded
from betterharness.models.embedded import (
    NEXT_STEP_HINT,
    build_request,
    build_step_schema,
    parse_options,
    parse_step,
    rewrite_history,
    sanitize_schema,
)

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City"}},
                   "required": ["city"]}}}
EMAIL = {"type": "function", "function": {
    "name": "send_email", "description": "Send an email.",
    "parameters": {"type": "object", "properties": {"to": {"type": "string", "format": "email"},
                                                    "body": {"type": "string"}}, "required": ["to", "body"]}}}
MODEL = "local/qwen2.5-coder-1.5b"


class FakeServer:
    """Stands in for xllamacpp.Server: records requests and answers with scripted contents."""

    def __init__(self, *replies: str | dict[str, Any] | Exception) -> None:
        self.replies = list(replies)
        self.requests: list[dict[str, Any]] = []

    def handle_chat_completions(self, body: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(body)
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, dict):
            return reply
        return {"choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": reply}}],
                "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}}


def _choice_names(schema: dict[str, Any]) -> list[str]:
    names = []
    for choice in schema["anyOf"]:
        props = choice["properties"]
        names.append(props["tool"]["const"] if "tool" in props else next(iter(props)))
    return names


# ---------- schema building ----------

def test_sanitize_schema_keeps_structure_and_drops_odd_keywords() -> None:
    schema = {
        "type": "object", "title": "T", "$defs": {"Unit": {"type": "string", "enum": ["c", "f"]}},
        "properties": {
            "city": {"type": "string", "format": "hostname", "pattern": "(?<=x)y", "default": "Paris"},
            "unit": {"$ref": "#/$defs/Unit"},
            "days": {"type": ["integer", "bogus"], "minimum": 1},
            "tags": {"type": "array", "items": {"type": "strng"}, "maxItems": 3},
            "any": {"oneOf": [{"type": "string"}, {"type": "null"}]},
            "missing": {"$ref": "#/$defs/Nope"},
        },
        "required": ["city"], "if": {"properties": {}}, "patternProperties": {"^x": {}},
    }
    out = sanitize_schema(schema)
    assert set(out) == {"type", "properties", "required", "additionalProperties"}
    assert out["additionalProperties"] is False
    assert out["properties"]["city"] == {"type": "string"}
    assert out["properties"]["unit"] == {"type": "string", "enum": ["c", "f"]}
    assert out["properties"]["days"] == {"type": ["integer"], "minimum": 1}
    assert out["properties"]["tags"] == {"type": "array", "items": {}, "maxItems": 3}
    assert out["properties"]["any"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert out["properties"]["missing"] == {}


def test_sanitize_schema_respects_explicit_additional_properties() -> None:
    out = sanitize_schema({"type": "object", "properties": {"a": {}}, "additionalProperties": {"type": "number"}})
    assert out["additionalProperties"] == {"type": "number"}


def test_step_schema_has_a_choice_per_tool_a_list_and_a_final_answer() -> None:
    schema = build_step_schema([WEATHER, EMAIL])
    assert _choice_names(schema) == ["get_weather", "send_email", "tool_calls", "final_answer"]
    weather = schema["anyOf"][0]["properties"]["arguments"]
    assert weather["properties"] == {"city": {"type": "string"}} and weather["required"] == ["city"]
    many = schema["anyOf"][2]["properties"]["tool_calls"]
    assert many["items"]["anyOf"] == schema["anyOf"][:2] and many["minItems"] == 1
    assert schema["x-guidance"] == {"whitespace_flexible": False}


@pytest.mark.parametrize(("choice", "parallel", "expected"), [
    ("required", True, ["get_weather", "send_email", "tool_calls"]),
    ({"type": "function", "function": {"name": "send_email"}}, True, ["send_email", "tool_calls"]),
    ("auto", False, ["get_weather", "send_email", "final_answer"]),
])
def test_step_schema_follows_tool_choice_and_parallel(choice: Any, parallel: bool, expected: list[str]) -> None:
    assert _choice_names(build_step_schema([WEATHER, EMAIL], choice, parallel)) == expected


def test_invalid_parameter_schema_degrades_to_any_object() -> None:
    broken = {"type": "function", "function": {"name": "odd", "parameters": {
        "type": "object", "properties": {"x": {"type": "string"}}, "required": "x"}}}
    schema = build_step_schema([broken])
    assert schema["anyOf"][0]["properties"]["arguments"] == {"type": "object"}
    loose = build_step_schema([WEATHER], loose=True)
    assert loose["anyOf"][0]["properties"]["arguments"] == {"type": "object"}


def test_tool_without_parameters_gets_an_object() -> None:
    bare = {"type": "function", "function": {"name": "now"}}
    assert build_step_schema([bare])["anyOf"][0]["properties"]["arguments"] == {"type": "object"}


# ---------- history rewriting and result parsing ----------

HISTORY = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": [{"type": "text", "text": "Weather in Rome and Oslo?"}]},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_0", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'}},
        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}]},
    {"role": "tool", "tool_call_id": "call_0", "content": "sunny"},
    {"role": "tool", "tool_call_id": "call_1", "content": "rain"},
    {"role": "assistant", "content": "Rome sunny, Oslo rain."},
    {"role": "user", "content": "And Paris?"},
]


def test_rewrite_history_in_tool_mode() -> None:
    out = rewrite_history(HISTORY, "TOOLS")
    assert [m["role"] for m in out] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert out[0]["content"] == "Be brief.\n\nTOOLS"
    assert out[1]["content"] == "Weather in Rome and Oslo?"
    assert json.loads(out[2]["content"]) == {"tool_calls": [
        {"tool": "get_weather", "arguments": {"city": "Rome"}}, {"tool": "get_weather", "arguments": {"city": "Oslo"}}]}
    assert out[3]["content"] == ("TOOL_RESULT (get_weather): sunny\nTOOL_RESULT (get_weather): rain\n"
                                 + NEXT_STEP_HINT)
    assert json.loads(out[4]["content"]) == {"final_answer": "Rome sunny, Oslo rain."}


def test_rewrite_history_single_call_and_plain_mode() -> None:
    history = [{"role": "user", "content": "hi"},
               {"role": "assistant", "content": "", "tool_calls": [
                   {"id": "x", "type": "function", "function": {"name": "get_weather", "arguments": "{bad"}}]},
               {"role": "tool", "tool_call_id": "x", "content": "ok"},
               {"role": "assistant", "content": "done"}]
    out = rewrite_history(history, None)
    assert out[0] == {"role": "user", "content": "hi"}
    assert json.loads(out[1]["content"]) == {"tool": "get_weather", "arguments": {}}
    assert out[2]["content"] == "TOOL_RESULT (get_weather): ok"
    assert out[3] == {"role": "assistant", "content": "done"}


def test_parse_step_maps_calls_answers_and_stray_text() -> None:
    content, calls = parse_step('{"tool":"get_weather","arguments":{"city":"Paris"}}', first_id=2)
    assert content is None
    assert calls == [{"id": "call_2", "type": "function",
                      "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]
    _, many = parse_step('{"tool_calls":[{"tool":"a","arguments":{}},{"tool":"b","arguments":{"x":1}}]}')
    assert [(c["id"], c["function"]["name"]) for c in many] == [("call_0", "a"), ("call_1", "b")]
    assert parse_step('{"final_answer":"42"}') == ("42", [])
    assert parse_step('{"tool":') == ('{"tool":', [])
    assert parse_step("[1, 2]") == ("[1, 2]", [])


def test_build_request_defaults_to_greedy_and_honours_max_tokens() -> None:
    plain = build_request([{"role": "user", "content": "hi"}], {"max_tokens": 12})
    assert plain["temperature"] == 0.0 and plain["top_k"] == 1 and plain["max_tokens"] == 12
    assert "grammar" not in plain and plain["messages"] == [{"role": "user", "content": "hi"}]
    sampled = build_request([{"role": "user", "content": "hi"}], {"temperature": 0.7, "seed": 3})
    assert sampled["top_k"] == 40 and sampled["seed"] == 3 and sampled["max_tokens"] == embedded.DEFAULT_MAX_TOKENS
    tools = build_request([{"role": "user", "content": "hi"}], {"tools": [WEATHER], "max_completion_tokens": 5})
    assert tools["max_tokens"] == 5 and tools["grammar"].startswith("%llguidance {}\nstart: %json {")
    assert "get_weather: Weather for a city." in tools["messages"][0]["content"]
    off = build_request([{"role": "user", "content": "hi"}], {"tools": [WEATHER], "tool_choice": "none"})
    assert "grammar" not in off


def test_parse_options_rejects_unknown_keys() -> None:
    assert parse_options({"n_ctx": 2048, "weights_path": None}).n_ctx == 2048
    with pytest.raises(ConfigError) as info:
        parse_options({"n_ctxx": 1})
    assert info.value.key == "model.options.n_ctxx"


def test_import_does_not_load_litellm() -> None:
    code = "import sys, betterharness.models.embedded; assert 'litellm' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------- through litellm with the stub registered ----------

@pytest.fixture
def use_stub() -> Iterator[Callable[..., FakeServer]]:
    import litellm

    saved = list(litellm.custom_provider_map)

    def install(*replies: str | dict[str, Any] | Exception) -> FakeServer:
        server = FakeServer(*replies)
        embedded.register({}, server=server)
        return server

    yield install
    litellm.custom_provider_map = saved


def test_tool_call_maps_to_openai_tool_calls(use_stub: Callable[..., FakeServer]) -> None:
    import litellm

    server = use_stub('{"tool":"get_weather","arguments":{"city":"Paris"}}')
    history = [{"role": "user", "content": "Weather?"},
               {"role": "assistant", "content": None, "tool_calls": [
                   {"id": "call_0", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
               {"role": "tool", "tool_call_id": "call_0", "content": "error: city missing"}]
    response = litellm.completion(model=MODEL, messages=history, tools=[WEATHER, EMAIL], max_tokens=33)
    choice = response.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    call = choice.message.tool_calls[0]
    assert (call.id, call.type, call.function.name) == ("call_1", "function", "get_weather")
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    assert response.usage.prompt_tokens == 11 and response.usage.completion_tokens == 7
    assert response.usage.total_tokens == 18 and response.model == MODEL
    assert response._hidden_params["response_cost"] == 0.0 and litellm.completion_cost(response) == 0.0
    request = server.requests[0]
    assert request["max_tokens"] == 33 and "grammar" in request
    assert request["messages"][-1]["content"].startswith("TOOL_RESULT (get_weather): error: city missing")


async def test_acompletion_final_answer_is_plain_content(use_stub: Callable[..., FakeServer]) -> None:
    import litellm

    use_stub('{"final_answer":"It is sunny."}')
    response = await litellm.acompletion(model=MODEL, messages=[{"role": "user", "content": "hi"}], tools=[WEATHER])
    assert response.choices[0].message.content == "It is sunny."
    assert response.choices[0].finish_reason == "stop" and not response.choices[0].message.tool_calls


async def test_plain_chat_is_forwarded(use_stub: Callable[..., FakeServer]) -> None:
    import litellm

    server = use_stub("Hello there")
    messages = [{"role": "system", "content": "sys"}, {"role": "user", "content": "hi"}]
    response = await litellm.acompletion(model=MODEL, messages=messages, max_tokens=8)
    assert response.choices[0].message.content == "Hello there"
    assert server.requests[0]["messages"] == messages and "grammar" not in server.requests[0]


def test_rejected_schema_retries_loose(use_stub: Callable[..., FakeServer]) -> None:
    import litellm

    server = use_stub(ValueError("JSON schema error"), '{"tool":"get_weather","arguments":{"town":"Rome"}}')
    response = litellm.completion(model=MODEL, messages=[{"role": "user", "content": "x"}], tools=[WEATHER])
    assert response.choices[0].message.tool_calls[0].function.name == "get_weather"
    assert '"arguments": {"type": "object"}' in server.requests[1]["grammar"]


def test_context_overflow_raises_context_window_error(use_stub: Callable[..., FakeServer]) -> None:
    import litellm

    use_stub({"error": {"code": 400, "type": "exceed_context_size_error", "message": "too long"}})
    with pytest.raises(litellm.ContextWindowExceededError):
        litellm.completion(model=MODEL, messages=[{"role": "user", "content": "x"}])


def test_register_keeps_other_providers_and_is_idempotent(use_stub: Callable[..., FakeServer]) -> None:
    import litellm

    other = {"provider": "scripted", "custom_handler": object()}
    litellm.custom_provider_map = [other]
    embedded.register({"n_ctx": 2048})
    embedded.register({"n_ctx": 2048})
    providers = [e["provider"] for e in litellm.custom_provider_map]
    assert providers == ["scripted", "local"] and litellm.custom_provider_map[0] is other
    first = litellm.custom_provider_map[1]["custom_handler"]
    embedded.register({"n_ctx": 2048})
    assert litellm.custom_provider_map[1]["custom_handler"] is first
    embedded.register({"n_ctx": 1024})
    assert litellm.custom_provider_map[1]["custom_handler"].options.n_ctx == 1024
    assert "local" in litellm.provider_list and "local" in litellm._custom_providers
