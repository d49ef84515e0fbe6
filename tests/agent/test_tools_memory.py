"""The memory store tools."""

from __future__ import annotations

import pytest

from betterharness.agent.tools import ToolEnvironment
from betterharness.evals.case import Environment


@pytest.fixture
def env() -> ToolEnvironment:
    seed = {"user_name": "Ada", "style": "Prefers short answers.\nNo emoji."}
    return ToolEnvironment(Environment(memory=seed, toolsets=["memory"]))


async def test_memory_list(env: ToolEnvironment) -> None:
    result = await env.call("c1", "memory_list", {})
    assert (result.content, result.error) == (
        "- style: Prefers short answers. No emoji.\n- user_name: Ada",
        False,
    )


async def test_memory_list_empty_and_preview_truncation() -> None:
    env = ToolEnvironment(Environment(toolsets=["memory"]))
    assert (await env.call("c1", "memory_list", {})).content == "Memory is empty."
    await env.call("c2", "memory_write", {"key": "long", "content": "x" * 100})
    assert (await env.call("c3", "memory_list", "")).content == "- long: " + "x" * 77 + "..."


async def test_memory_read(env: ToolEnvironment) -> None:
    result = await env.call("c1", "memory_read", {"key": " style "})
    assert (result.content, result.error) == ("Prefers short answers.\nNo emoji.", False)


async def test_memory_read_missing_lists_keys(env: ToolEnvironment) -> None:
    result = await env.call("c1", "memory_read", {"key": "name"})
    assert result.error is True
    assert result.content == "Error: no memory under key 'name'. Existing keys: style, user_name."


async def test_memory_write_creates_and_updates(env: ToolEnvironment) -> None:
    created = await env.call("c1", "memory_write", {"key": "city", "content": "Paris"})
    updated = await env.call("c2", "memory_write", {"key": "city", "content": "Lyon"})
    assert (created.content, updated.content) == ("Saved memory 'city'.", "Updated memory 'city'.")
    assert env.memory["city"] == "Lyon"


async def test_memory_write_rejects_blank_key(env: ToolEnvironment) -> None:
    result = await env.call("c1", "memory_write", {"key": "   ", "content": "x"})
    assert (result.content, result.error) == ("Error: key must not be empty.", True)
    assert "   " not in env.memory


async def test_memory_delete(env: ToolEnvironment) -> None:
    result = await env.call("c1", "memory_delete", {"key": "user_name"})
    assert (result.content, result.error) == ("Deleted memory 'user_name'.", False)
    assert env.memory == {"style": "Prefers short answers.\nNo emoji."}
    again = await env.call("c2", "memory_delete", {"key": "user_name"})
    assert (again.content, again.error) == (
        "Error: no memory under key 'user_name'. Existing keys: style.",
        True,
    )


async def test_memory_key_schema(env: ToolEnvironment) -> None:
    result = await env.call("c1", "memory_read", {"key": ""})
    assert result.error is True
    assert result.content.startswith("Error: invalid arguments for memory_read: argument 'key' is invalid:")
