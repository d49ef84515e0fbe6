"""ToolEnvironment: tool offering, description overrides, argument checking, isolation and the call log."""

from __future__ import annotations

import pytest

from betterharness.agent.tools import CallRecord, ToolEnvironment, ToolSpec
from betterharness.agent.tools.filesystem import VirtualFilesystem
from betterharness.evals.case import Environment
from betterharness.harness.templates import Harness

FS_TOOLS = ["ls", "read_file", "write_file", "edit_file", "glob", "grep"]
MEMORY_TOOLS = ["memory_list", "memory_read", "memory_write", "memory_delete"]
LOOKUP = {
    "name": "lookup",
    "description": "Look up an order.",
    "parameters": {
        "type": "object",
        "properties": {"order_id": {"type": "integer"}},
        "required": ["order_id"],
    },
    "responses": [{"default": "shipped"}],
}


def full_env(**extra: object) -> Environment:
    return Environment.model_validate(
        {
            "files": {"/a.txt": "alpha\n"},
            "memory": {"k": "v"},
            "toolsets": ["memory", "filesystem"],
            "tools": [LOOKUP],
            **extra,
        }
    )


def test_specs_order_filesystem_memory_then_mocks() -> None:
    names = [spec.name for spec in ToolEnvironment(full_env()).specs()]
    assert names == FS_TOOLS + MEMORY_TOOLS + ["lookup"]


def test_only_requested_toolsets_are_offered() -> None:
    env = ToolEnvironment(Environment.model_validate({"files": {"/a": "x"}, "tools": [LOOKUP]}))
    assert [spec.name for spec in env.specs()] == ["lookup"]
    assert env.files == {"/a": "x"}


def test_mock_tool_overrides_builtin_of_same_name() -> None:
    mock = {**LOOKUP, "name": "read_file", "description": "Read from the archive."}
    env = ToolEnvironment(full_env(tools=[mock]))
    specs = {spec.name: spec for spec in env.specs()}
    assert len(env.specs()) == 10
    assert specs["read_file"].description == "Read from the archive."
    assert specs["read_file"].parameters == LOOKUP["parameters"]


async def test_overridden_builtin_runs_the_mock() -> None:
    env = ToolEnvironment(full_env(tools=[{**LOOKUP, "name": "read_file"}]))
    result = await env.call("c1", "read_file", {"order_id": 4})
    assert (result.content, result.error) == ("shipped", False)


def test_the_harness_presents_every_tool() -> None:
    harness = Harness(name="h", sources={
        "system_prompt": "x",
        "tool:grep": "[grep] custom",
        "tool:lookup": "{{ tool.default }} Pass the number only.",
        "tool:lookup.order_id": "The order number, digits only (was: '{{ param.default }}').",
    })
    specs = {spec.name: spec for spec in ToolEnvironment(full_env(), view=harness).specs()}
    assert specs["grep"].description == "[grep] custom"
    assert specs["lookup"].description == "Look up an order. Pass the number only."
    assert specs["lookup"].parameters["properties"]["order_id"] == {
        "type": "integer", "description": "The order number, digits only (was: '')."}
    assert LOOKUP["parameters"]["properties"]["order_id"] == {"type": "integer"}  # type: ignore[index]
    assert specs["ls"].description.startswith("List the files and directories directly inside a directory")
    assert len(specs) == 11


async def test_the_tool_suite_orders_and_hides_tools() -> None:
    suite = "lookup\n*\n-grep\n-glob\n"
    env = ToolEnvironment(full_env(), view=Harness(name="h", sources={"system_prompt": "x", "tool_suite": suite}))
    names = [spec.name for spec in env.specs()]
    assert names[0] == "lookup" and "grep" not in names and "glob" not in names and len(names) == 9
    assert [spec.name for spec in env.defaults][-1] == "lookup" and len(env.defaults) == 11
    result = await env.call("c1", "grep", {"pattern": "a"})
    assert result.error and "unknown tool 'grep'" in result.content


def test_openai_format() -> None:
    spec = ToolSpec(name="t", description="d", parameters={"type": "object", "properties": {}})
    assert spec.openai() == {
        "type": "function",
        "function": {"name": "t", "description": "d", "parameters": {"type": "object", "properties": {}}},
    }


async def test_missing_required_argument() -> None:
    result = await ToolEnvironment(full_env()).call("c9", "lookup", {})
    assert result.model_dump() == {
        "call_id": "c9",
        "name": "lookup",
        "error": True,
        "content": "Error: invalid arguments for lookup: missing required argument 'order_id' (integer). "
        "Expected: order_id (integer, required).",
    }


async def test_wrong_type_argument() -> None:
    result = await ToolEnvironment(full_env()).call("c1", "lookup", {"order_id": "17"})
    assert result.error is True
    assert result.content == (
        "Error: invalid arguments for lookup: argument 'order_id' must be integer, got \"17\". "
        "Expected: order_id (integer, required)."
    )


async def test_unexpected_argument_for_builtin() -> None:
    result = await ToolEnvironment(full_env()).call("c1", "ls", {"dir": "/"})
    assert result.error is True
    assert result.content == (
        "Error: invalid arguments for ls: unexpected argument(s) 'dir'; allowed arguments: path. "
        "Expected: path (string)."
    )


async def test_string_arguments_are_parsed() -> None:
    env = ToolEnvironment(full_env())
    result = await env.call("c1", "read_file", '{"file_path": "/a.txt"}')
    assert (result.content, result.error) == ("     1\talpha", False)
    assert (await env.call("c2", "memory_list", "  ")).content == "- k: v"


async def test_bad_json_and_non_object_arguments() -> None:
    env = ToolEnvironment(full_env())
    bad = await env.call("c1", "read_file", '{"file_path": ')
    assert bad.error is True
    assert bad.content.startswith(
        "Error: arguments for read_file are not valid JSON (Expecting value at position"
    )
    listed = await env.call("c2", "read_file", '["/a.txt"]')
    assert (listed.content, listed.error) == (
        'Error: arguments for read_file must be a JSON object, got ["/a.txt"]',
        True,
    )


async def test_unknown_tool_lists_available_tools() -> None:
    env = ToolEnvironment(Environment.model_validate({"toolsets": ["memory"], "tools": [LOOKUP]}))
    result = await env.call("c1", "search", {"q": "x"})
    assert result.error is True
    assert result.content == (
        "Error: unknown tool 'search'. "
        "Available tools: memory_list, memory_read, memory_write, memory_delete, lookup."
    )


async def test_unexpected_exception_becomes_error_result(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: VirtualFilesystem, path: str = "/") -> str:
        raise KeyError("boom")

    monkeypatch.setattr(VirtualFilesystem, "ls", broken)
    env = ToolEnvironment(full_env())
    result = await env.call("c1", "ls", {})
    assert (result.content, result.error) == ("Error: ls failed: KeyError: 'boom'", True)


async def test_state_isolation_between_environments() -> None:
    case_env = full_env()
    first, second = ToolEnvironment(case_env), ToolEnvironment(case_env)
    await first.call("c1", "write_file", {"file_path": "/b.txt", "content": "beta"})
    await first.call("c2", "edit_file", {"file_path": "/a.txt", "old_string": "alpha", "new_string": "omega"})
    await first.call("c3", "memory_write", {"key": "k", "content": "changed"})
    assert first.files == {"/a.txt": "omega\n", "/b.txt": "beta"}
    assert first.memory == {"k": "changed"}
    assert second.files == {"/a.txt": "alpha\n"}
    assert second.memory == {"k": "v"}
    assert case_env.files == {"/a.txt": "alpha\n"}
    assert case_env.memory == {"k": "v"}


async def test_files_property_is_a_snapshot() -> None:
    env = ToolEnvironment(full_env())
    env.files["/a.txt"] = "tampered"
    env.memory["k"] = "tampered"
    assert (await env.call("c1", "read_file", {"file_path": "/a.txt"})).content == "     1\talpha"
    assert env.memory == {"k": "v"}


async def test_call_log() -> None:
    env = ToolEnvironment(full_env())
    await env.call("c1", "lookup", {"order_id": 1})
    await env.call("c2", "lookup", '{"order_id": "x"}')
    await env.call("c3", "nope", "{oops")
    assert env.calls == [
        CallRecord("lookup", {"order_id": 1}, False),
        CallRecord("lookup", {"order_id": "x"}, True),
        CallRecord("nope", "{oops", True),
    ]
    assert env.calls[0] == ("lookup", {"order_id": 1}, False)
