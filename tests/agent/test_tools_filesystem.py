"""The virtual filesystem tools, called through a ToolEnvironment as the agent loop calls them."""

from __future__ import annotations

import pytest

from betterharness.agent.tools import ToolEnvironment
from betterharness.agent.tools.base import ToolFailure
from betterharness.agent.tools.virtual_paths import glob_match, normalize_path
from betterharness.evals.case import Environment

SEED = {
    "README.md": "# Demo\nTODO: write docs\n",
    "/src/app.py": "import os\n\ndef main():\n    print('hi')  # TODO\n",
    "/src/util/helpers.py": "def helper():\n    return 1\n",
    "/notes/long.txt": "\n".join(f"line {i}" for i in range(1, 11)),
    "/empty.txt": "",
}


@pytest.fixture
def env() -> ToolEnvironment:
    return ToolEnvironment(Environment(files=SEED, toolsets=["filesystem"]))


async def ok(env: ToolEnvironment, name: str, **arguments: object) -> str:
    result = await env.call("c1", name, arguments)
    assert result.error is False, result.content
    return result.content


async def fail(env: ToolEnvironment, name: str, **arguments: object) -> str:
    result = await env.call("c1", name, arguments)
    assert result.error is True, result.content
    return result.content


@pytest.mark.parametrize(
    ("raw", "normal"),
    [("a/b", "/a/b"), ("/a/./b/", "/a/b"), ("/a/x/../b", "/a/b"), ("//a//b", "/a/b"), ("", "/"), (".", "/")],
)
def test_normalize_path(raw: str, normal: str) -> None:
    assert normalize_path(raw) == normal


def test_normalize_path_rejects_escaping_root() -> None:
    with pytest.raises(ToolFailure, match="escapes the root"):
        normalize_path("/a/../../etc/passwd")


def test_seed_paths_are_normalised(env: ToolEnvironment) -> None:
    assert sorted(env.files) == [
        "/README.md",
        "/empty.txt",
        "/notes/long.txt",
        "/src/app.py",
        "/src/util/helpers.py",
    ]


async def test_ls_root_and_subdir(env: ToolEnvironment) -> None:
    assert await ok(env, "ls") == "/README.md\n/empty.txt\n/notes/\n/src/"
    assert await ok(env, "ls", path="src") == "/src/app.py\n/src/util/"


async def test_ls_errors(env: ToolEnvironment) -> None:
    assert await fail(env, "ls", path="/nope") == (
        "Error: directory not found: /nope. Nearby paths: /README.md, /empty.txt."
    )
    assert await fail(env, "ls", path="/README.md") == (
        "Error: /README.md is a file, not a directory; use read_file to read it."
    )


async def test_ls_empty_root() -> None:
    env = ToolEnvironment(Environment(toolsets=["filesystem"]))
    assert await ok(env, "ls") == "/ is empty."


async def test_read_file_numbers_lines(env: ToolEnvironment) -> None:
    assert await ok(env, "read_file", file_path="README.md") == "     1\t# Demo\n     2\tTODO: write docs"


async def test_read_file_pagination(env: ToolEnvironment) -> None:
    first = await ok(env, "read_file", file_path="/notes/long.txt", limit=3)
    assert (
        first
        == "     1\tline 1\n     2\tline 2\n     3\tline 3\n... (7 more lines; read again with offset=3)"
    )
    middle = await ok(env, "read_file", file_path="/notes/long.txt", offset=3, limit=6)
    assert middle.splitlines()[0] == "     4\tline 4"
    assert middle.splitlines()[-1] == "... (1 more line; read again with offset=9)"
    last = await ok(env, "read_file", file_path="/notes/long.txt", offset=9)
    assert last == "    10\tline 10"


async def test_read_file_errors(env: ToolEnvironment) -> None:
    assert await fail(env, "read_file", file_path="/src/ap.py") == (
        "Error: file not found: /src/ap.py. Nearby paths: /src/app.py, /src/util/helpers.py."
    )
    assert await fail(env, "read_file", file_path="/src") == (
        "Error: /src is a directory, not a file; use ls to list it."
    )
    assert await fail(env, "read_file", file_path="/notes/long.txt", offset=10) == (
        "Error: offset 10 is past the end of /notes/long.txt, which has 10 line(s)."
    )
    assert "escapes the root" in await fail(env, "read_file", file_path="../secret")


async def test_read_empty_file(env: ToolEnvironment) -> None:
    assert (
        await ok(env, "read_file", file_path="/empty.txt")
        == "System reminder: File exists but has empty contents"
    )


async def test_write_file_creates(env: ToolEnvironment) -> None:
    assert (
        await ok(env, "write_file", file_path="docs/new.md", content="a\nb\n")
        == "Created file /docs/new.md (2 lines)."
    )
    assert env.files["/docs/new.md"] == "a\nb\n"
    assert await ok(env, "ls", path="/docs") == "/docs/new.md"


async def test_write_file_refuses_existing_and_bad_targets(env: ToolEnvironment) -> None:
    message = await fail(env, "write_file", file_path="/README.md", content="x")
    assert message == (
        "Error: cannot write to /README.md because it already exists. "
        "Read it and then use edit_file to change it."
    )
    assert env.files["/README.md"] == SEED["README.md"]
    assert (
        await fail(env, "write_file", file_path="/src", content="x")
        == "Error: /src is a directory; give a file path."
    )
    assert await fail(env, "write_file", file_path="/README.md/x", content="x") == (
        "Error: cannot create /README.md/x: /README.md is a file, not a directory."
    )


async def test_edit_file_unique_replacement(env: ToolEnvironment) -> None:
    result = await ok(
        env, "edit_file", file_path="/src/app.py", old_string="print('hi')", new_string="print('bye')"
    )
    assert result == "Replaced 1 occurrence(s) in /src/app.py."
    assert env.files["/src/app.py"] == "import os\n\ndef main():\n    print('bye')  # TODO\n"


async def test_edit_file_uniqueness_and_replace_all() -> None:
    env = ToolEnvironment(Environment(files={"/a.txt": "x = 1\nx = 1\n"}, toolsets=["filesystem"]))
    message = await fail(env, "edit_file", file_path="/a.txt", old_string="x = 1", new_string="x = 2")
    assert message.startswith("Error: old_string appears 2 times in /a.txt.")
    assert "replace_all=true" in message
    assert env.files["/a.txt"] == "x = 1\nx = 1\n"
    result = await ok(
        env, "edit_file", file_path="/a.txt", old_string="x = 1", new_string="x = 2", replace_all=True
    )
    assert result == "Replaced 2 occurrence(s) in /a.txt."
    assert env.files["/a.txt"] == "x = 2\nx = 2\n"


async def test_edit_file_errors(env: ToolEnvironment) -> None:
    assert (
        await fail(env, "edit_file", file_path="/README.md", old_string="nope", new_string="x")
    ).startswith("Error: old_string not found in /README.md.")
    assert (await fail(env, "edit_file", file_path="/README.md", old_string="", new_string="x")).startswith(
        "Error: old_string not found"
    )
    assert await fail(env, "edit_file", file_path="/README.md", old_string="Demo", new_string="Demo") == (
        "Error: old_string and new_string are identical; there is nothing to change."
    )
    assert (await fail(env, "edit_file", file_path="/missing.md", old_string="a", new_string="b")).startswith(
        "Error: file not found: /missing.md."
    )


async def test_glob(env: ToolEnvironment) -> None:
    assert await ok(env, "glob", pattern="**/*.py") == "/src/app.py\n/src/util/helpers.py"
    assert await ok(env, "glob", pattern="*.py", path="/src") == "/src/app.py"
    assert await ok(env, "glob", pattern="*.md") == "/README.md"
    assert await ok(env, "glob", pattern="/src/**") == "/src/app.py\n/src/util/helpers.py"
    assert await ok(env, "glob", pattern="*.{md,txt}") == "/README.md\n/empty.txt"
    assert await ok(env, "glob", pattern="*.rs") == "No files match '*.rs' under /."
    assert (await fail(env, "glob", pattern="*", path="/nowhere")).startswith(
        "Error: directory not found: /nowhere."
    )


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("a?c.txt", "/abc.txt", True),
        ("a?c.txt", "/abbc.txt", False),
        ("[ab]*.py", "/b1.py", True),
        ("[!ab]*.py", "/b1.py", False),
        ("**/x", "/x", True),
        ("src/*.py", "/src/u/a.py", False),
    ],
)
def test_glob_match_syntax(pattern: str, path: str, expected: bool) -> None:
    assert glob_match(pattern, path, "/") is expected


async def test_grep_modes(env: ToolEnvironment) -> None:
    assert await ok(env, "grep", pattern="TODO") == "/README.md\n/src/app.py"
    assert await ok(env, "grep", pattern="TODO", output_mode="content") == (
        "/README.md:2:TODO: write docs\n/src/app.py:4:    print('hi')  # TODO"
    )
    assert await ok(env, "grep", pattern=r"line \d$", output_mode="count") == "/notes/long.txt:9"


async def test_grep_filters(env: ToolEnvironment) -> None:
    assert await ok(env, "grep", pattern="def ", glob="*.py") == "/src/app.py\n/src/util/helpers.py"
    assert await ok(env, "grep", pattern="def ", path="/src/util") == "/src/util/helpers.py"
    assert await ok(env, "grep", pattern="TODO", glob="*.md") == "/README.md"
    assert await ok(env, "grep", pattern="TODO", path="/src/app.py", output_mode="count") == "/src/app.py:1"
    assert await ok(env, "grep", pattern="TODO", glob=None) == "/README.md\n/src/app.py"
    assert await ok(env, "grep", pattern="zebra") == "No matches for 'zebra' under /."


async def test_grep_invalid_regex(env: ToolEnvironment) -> None:
    assert (await fail(env, "grep", pattern="print(")).startswith("Error: invalid regex 'print(': missing ),")


def test_read_file_caps_one_read_so_long_files_must_be_paged() -> None:
    from betterharness.agent.tools.filesystem import MAX_LIMIT, VirtualFilesystem

    fs = VirtualFilesystem({"/big.txt": "\n".join(f"line {i}" for i in range(1000))})
    out = fs.read_file("/big.txt", offset=0, limit=1000).splitlines()
    assert len(out) == MAX_LIMIT + 1
    assert out[-1] == f"... ({1000 - MAX_LIMIT} more lines; read again with offset={MAX_LIMIT})"
