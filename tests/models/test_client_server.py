"""ModelClient through the real litellm path against the local OpenAI-compatible server fixture."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from betterharness.config.schema import ExperimentConfig, HarnessConfig, ModelConfig, RuntimeConfig
from betterharness.errors import ModelCallError
from betterharness.evals.case import EvalCase
from betterharness.harness.templates import load_harness
from betterharness.models import connect
from betterharness.models import litellm_client as client_module
from betterharness.models.litellm_client import LiteLLMClient
from betterharness.runner import run_rollouts
from betterharness.store import RolloutStore
from tests.fixtures.openai_server import OpenAIServer, Reply

KEY_ENV = "BH_TEST_SERVER_KEY"
WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                       "required": ["city"]},
    },
}
HELLO = [{"role": "user", "content": "hello"}]


@pytest.fixture(autouse=True)
def _dummy_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-fixture")


def make_client(server: OpenAIServer, **runtime: Any) -> LiteLLMClient:
    model = ModelConfig(id="openai/test-model", api_base=server.api_base, api_key_env=KEY_ENV)
    settings = {"retries": 3, "backoff_s": 0.01, "request_timeout_s": 10.0, **runtime}
    return connect(model, RuntimeConfig(**settings))


def gaps(server: OpenAIServer) -> list[float]:
    """Seconds between consecutive chat requests, as the server saw them."""
    times = [r.received_at for r in server.chat_requests]
    return [b - a for a, b in zip(times, times[1:], strict=False)]


# ---------- responses ----------


async def test_plain_completion(openai_server: OpenAIServer) -> None:
    openai_server.queue(Reply.text("Hi there."))
    completion = await make_client(openai_server).complete(HELLO)
    assert completion.content == "Hi there."
    assert completion.tool_calls == []
    assert completion.finish_reason == "stop"
    assert completion.message == {"role": "assistant", "content": "Hi there."}
    [request] = openai_server.chat_requests
    assert request.model == "test-model"
    assert request.messages == HELLO
    assert request.tools == []
    assert request.headers["Authorization"] == "Bearer sk-fixture"


async def test_tool_call_arguments_are_parsed(openai_server: OpenAIServer) -> None:
    openai_server.queue(Reply.tools(("get_weather", {"city": "Paris", "days": 3})))
    completion = await make_client(openai_server).complete(HELLO, [WEATHER_TOOL])
    [call] = completion.tool_calls
    assert (call.name, call.arguments, call.raw_arguments) == ("get_weather", {"city": "Paris", "days": 3}, None)
    assert completion.finish_reason == "tool_calls"
    [sent] = completion.message["tool_calls"]
    assert sent["id"] == call.id and json.loads(sent["function"]["arguments"]) == call.arguments
    assert openai_server.chat_requests[0].tools == [WEATHER_TOOL]


async def test_several_tool_calls_in_one_response(openai_server: OpenAIServer) -> None:
    openai_server.queue(Reply.tools(("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Oslo"}),
                                    ("get_weather", "{not json")))
    completion = await make_client(openai_server).complete(HELLO, [WEATHER_TOOL])
    calls = completion.tool_calls
    assert [c.arguments for c in calls] == [{"city": "Paris"}, {"city": "Oslo"}, {}]
    assert calls[2].raw_arguments == "{not json"
    assert len({c.id for c in calls}) == 3
    assert [c["function"]["arguments"] for c in completion.message["tool_calls"]][2] == "{not json"


async def test_usage_tokens_are_recorded(openai_server: OpenAIServer) -> None:
    openai_server.queue(Reply.text("ok", usage={"prompt_tokens": 123, "completion_tokens": 45, "total_tokens": 168}))
    completion = await make_client(openai_server).complete(HELLO)
    usage = completion.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (123, 45, 168)
    assert completion.latency_s > 0


# ---------- retries ----------


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_transient_errors_are_retried_with_backoff(openai_server: OpenAIServer, status: int) -> None:
    openai_server.fail(status, times=2, retry_after=0)
    openai_server.queue(Reply.text("recovered"))
    client = make_client(openai_server, retries=3, backoff_s=0.05)
    completion = await client.complete(HELLO)
    assert completion.content == "recovered"
    assert len(openai_server.chat_requests) == 3
    first, second = gaps(openai_server)
    assert first >= 0.05 and second >= 0.10, "backoff doubles from runtime.backoff_s"
    assert first + second < 1.5, "small backoff_s keeps retries fast"


async def test_gives_up_after_retries_with_a_one_line_error(openai_server: OpenAIServer) -> None:
    openai_server.fail(503, times=10)
    client = make_client(openai_server, retries=2)
    with pytest.raises(ModelCallError) as caught:
        await client.complete(HELLO)
    assert len(openai_server.chat_requests) == 3
    message = str(caught.value)
    assert len(message.splitlines()) == 1 and "Traceback" not in message
    assert "openai/test-model" in message and "503" in message
    assert client.calls == 0


async def test_bad_request_is_not_retried(openai_server: OpenAIServer) -> None:
    openai_server.fail(400, message="unsupported parameter: frobnicate")
    openai_server.queue(Reply.text("never sent"))
    with pytest.raises(ModelCallError, match="unsupported parameter"):
        await make_client(openai_server, retries=3).complete(HELLO)
    assert len(openai_server.chat_requests) == 1
    assert openai_server.pending == 1


async def test_timeout_is_retried(openai_server: OpenAIServer) -> None:
    openai_server.queue(Reply.hang(5.0), Reply.text("in time"))
    client = make_client(openai_server, retries=2, request_timeout_s=0.5)
    start = time.perf_counter()
    completion = await client.complete(HELLO)
    assert completion.content == "in time"
    assert len(openai_server.chat_requests) == 2
    assert time.perf_counter() - start < 4.0, "the client gave up on the slow answer instead of waiting it out"


# ---------- offline guard ----------


@pytest.mark.parametrize("api_base", [None, "https://api.openai.com/v1", "http://10.1.2.3:8000/v1"])
async def test_offline_guard_refuses_non_local_hosts(monkeypatch: pytest.MonkeyPatch, api_base: str | None) -> None:
    def no_litellm() -> None:
        raise AssertionError("litellm was reached: the guard must refuse before any network use")

    monkeypatch.setenv("BH_OFFLINE", "1")
    monkeypatch.setattr(client_module, "litellm", no_litellm)
    client = connect(ModelConfig(id="openai/test-model", api_base=api_base, api_key_env=KEY_ENV),
                         RuntimeConfig(retries=0))
    with pytest.raises(ModelCallError, match="unplanned real model call"):
        await client.complete(HELLO)


# ---------- end to end: the runner against the server ----------


def make_case(index: int) -> EvalCase:
    return EvalCase.model_validate({
        "id": f"server_case_{index}",
        "description": "Looks the order up with the tool, then answers.",
        "tags": ["tool_use"],
        "input": {"messages": [{"role": "user", "content": f"Where is order {index}?"}]},
        "environment": {"tools": [{
            "name": "lookup_order",
            "description": "Look an order up by id.",
            "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}},
                           "required": ["order_id"]},
            "responses": [{"default": {"status": "shipped"}}],
        }]},
        "success": [{"tool_called": {"name": "lookup_order"}}, {"final_text_contains": f"order {index}"}],
        "ideal": {"steps": 2, "tool_calls": 1},
    })


async def test_run_rollouts_against_the_server(openai_server: OpenAIServer, tmp_path: Path) -> None:
    cases = [make_case(i) for i in range(3)]
    config = ExperimentConfig(
        model=ModelConfig(id="openai/test-model", api_base=openai_server.api_base, api_key_env=KEY_ENV),
        runtime=RuntimeConfig(concurrency=3, retries=1, backoff_s=0.01, progress=False, langsmith=False,
                              outputs=str(tmp_path / "outputs")),
    )
    harness = load_harness(HarnessConfig(vars={"agent_name": "Assistant"}))
    store = RolloutStore(tmp_path / "run")
    scores, stats = await run_rollouts(cases, harness, config, store, epochs=1)

    assert (stats.ran, stats.reused, stats.cached, stats.errors) == (3, 0, 0, [])
    assert [s.case_id for s in scores] == [c.id for c in cases]
    assert all(s.passed for s in scores), [s.model_dump() for s in scores if not s.passed]
    assert len(openai_server.chat_requests) == 6
    for request in openai_server.chat_requests:
        assert request.model == "test-model"
        assert request.messages[0]["role"] == "system"
        assert request.tool_names == ["lookup_order"]
    answers = [r for r in openai_server.chat_requests if r.messages[-1]["role"] == "tool"]
    assert len(answers) == 3 and all(json.loads(r.messages[-1]["content"]) == {"status": "shipped"}
                                     for r in answers)

    traces = [json.loads(line) for line in store.traces_path.read_text().splitlines()]
    stored = [json.loads(line) for line in store.scores_path.read_text().splitlines()]
    assert sorted(t["case_id"] for t in traces) == sorted(s["case_id"] for s in stored) == [c.id for c in cases]
    for trace in traces:
        assert [len(step["tool_calls"]) for step in trace["steps"]] == [1, 0]
        assert trace["stop_reason"] == "final" and trace["usage"]["total_tokens"] > 0

    again, stats = await run_rollouts(cases, harness, config, RolloutStore(tmp_path / "run"), epochs=1)
    assert (stats.ran, stats.reused) == (0, 3)
    assert len(openai_server.chat_requests) == 6, "finished rollouts are reused, not re-run"
    assert [s.passed for s in again] == [True] * 3

    fresh, stats = await run_rollouts(cases, harness, config, RolloutStore(tmp_path / "other"), epochs=1)
    assert (stats.ran, stats.cached) == (0, 3), "another folder under the same outputs root reuses the cache"
    assert len(openai_server.chat_requests) == 6
    assert [s.passed for s in fresh] == [True] * 3
