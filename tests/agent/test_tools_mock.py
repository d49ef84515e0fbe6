"""Case-defined mock tools: response matching, defaults, templates and serialisation."""

from __future__ import annotations

from typing import Any

from betterharness.agent.tools import ToolEnvironment
from betterharness.evals.case import Environment

WEATHER: dict[str, Any] = {
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "days": {"type": "integer"},
            "metric": {"type": "boolean"},
        },
        "required": ["city"],
    },
}


def make_env(*responses: dict[str, Any], **tool: Any) -> ToolEnvironment:
    return ToolEnvironment(
        Environment.model_validate({"tools": [{**WEATHER, **tool, "responses": list(responses)}]})
    )


async def run(env: ToolEnvironment, arguments: dict[str, Any]) -> tuple[str, bool]:
    result = await env.call("c1", "get_weather", arguments)
    return result.content, result.error


async def test_string_match_ignores_case_and_surrounding_space() -> None:
    env = make_env({"when": {"city": "Paris"}, "return": "sunny"})
    assert await run(env, {"city": "  pARIS "}) == ("sunny", False)


async def test_non_string_values_compare_by_equality() -> None:
    env = make_env(
        {"when": {"city": "Paris", "days": 3}, "return": "three days"},
        {"when": {"city": "Paris", "metric": True}, "return": "metric"},
        {"default": "fallback"},
    )
    assert await run(env, {"city": "paris", "days": 3}) == ("three days", False)
    assert await run(env, {"city": "paris", "days": 4}) == ("fallback", False)
    assert await run(env, {"city": "paris", "metric": True}) == ("metric", False)
    assert await run(env, {"city": "paris", "metric": False}) == ("fallback", False)


async def test_missing_argument_does_not_match() -> None:
    env = make_env({"when": {"days": 3}, "return": "three"}, {"default": "none"})
    assert await run(env, {"city": "Oslo"}) == ("none", False)


async def test_first_match_wins() -> None:
    env = make_env(
        {"when": {"city": "Paris"}, "return": "first"},
        {"when": {"city": "paris"}, "return": "second"},
    )
    assert await run(env, {"city": "Paris"}) == ("first", False)


async def test_default_used_when_nothing_matches_even_if_listed_first() -> None:
    env = make_env({"default": {"error": "unknown city"}}, {"when": {"city": "Rome"}, "return": "hot"})
    assert await run(env, {"city": "Rome"}) == ("hot", False)
    assert await run(env, {"city": "Bern"}) == ('{"error": "unknown city"}', False)


async def test_no_match_and_no_default_is_an_error() -> None:
    env = make_env({"when": {"city": "Rome"}, "return": "hot"})
    assert await run(env, {"city": "Bern"}) == (
        'Error: get_weather has no result for arguments {"city": "Bern"}.',
        True,
    )


async def test_json_values_are_serialised() -> None:
    env = make_env(
        {"when": {"city": "Rome"}, "return": {"temp_c": 31, "sky": "clear", "alerts": []}}, {"default": 7}
    )
    assert await run(env, {"city": "rome"}) == ('{"temp_c": 31, "sky": "clear", "alerts": []}', False)
    assert await run(env, {"city": "Oslo"}) == ("7", False)


async def test_templated_response_uses_call_arguments() -> None:
    env = make_env(
        {"default": "Weather in {{ city | title }} for {{ arguments.days }} days: mild", "template": True}
    )
    assert await run(env, {"city": "new york", "days": 2}) == ("Weather in New York for 2 days: mild", False)


async def test_templated_json_response_renders_each_string() -> None:
    env = make_env({"when": {"city": "Oslo"}, "return": {"city": "{{ city }}", "n": 1}, "template": True})
    assert await run(env, {"city": "oslo"}) == ('{"city": "oslo", "n": 1}', False)


async def test_untemplated_response_is_returned_verbatim() -> None:
    env = make_env({"default": "{{ city }}"})
    assert await run(env, {"city": "Oslo"}) == ("{{ city }}", False)


async def test_template_with_unknown_variable_is_an_error_result() -> None:
    env = make_env({"default": "{{ country }}", "template": True})
    content, error = await run(env, {"city": "Oslo"})
    assert error is True
    assert content.startswith("Error: get_weather failed: template uses an undefined variable:")
    assert "country" in content


async def test_first_default_wins_when_several_are_given() -> None:
    env = make_env({"default": "first default"}, {"default": "second default"})
    assert await run(env, {"city": "Oslo"}) == ("first default", False)
