"""JSON-lines import: expected calls and answers, recorded tool outputs, dedup, and clear errors."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest

from betterharness.agent.tools.base import ToolFailure
from betterharness.agent.tools.mock import MockToolRunner
from betterharness.agent.trace import Step, ToolCall, Trace
from betterharness.cli.import_cases import main
from betterharness.errors import BHError, CaseError
from betterharness.evals.case import EvalCase
from betterharness.evals.importers.jsonl import import_jsonl
from betterharness.evals.load import load_case_file
from betterharness.scoring.checks import check
from betterharness.scoring.context import ScoringContext

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
        "required": ["city"],
    },
}
USER_TOOL = {
    "type": "function",
    "function": {
        "name": "find_user",
        "description": "Find a user by email.",
        "parameters": {"type": "object", "properties": {"email": {"type": "string"}}},
    },
}

WEATHER = {
    "id": "weather_paris",
    "tags": ["tool_use"],
    "messages": [{"role": "user", "content": "What's the weather in Paris?"}],
    "tools": [WEATHER_TOOL],
    "expected": {
        "tool_calls": [
            {
                "name": "get_weather",
                "arguments": {"city": "Paris"},
                "acceptable": {"city": ["Paris, France"], "unit": ["c"]},
                "optional": ["unit"],
            }
        ],
        "answer": "14",
    },
    "tool_outputs": [
        {"name": "get_weather", "arguments": {"city": "Paris"}, "output": {"temp_c": 14}},
        {"name": "get_weather", "output": {"error": "unknown city"}},
    ],
}
ORDERS = {
    "id": "orders",
    "description": "Looks the user up before listing orders.",
    "tier": "regression",
    "messages": "List the orders of ann@x.test.",
    "tools": [
        USER_TOOL,
        {
            "name": "list_orders",
            "description": "Orders of a user.",
            "parameters": {"type": "object", "properties": {"user_id": {"type": "integer"}}},
        },
    ],
    "expected": {
        "tool_calls": [
            {"name": "find_user", "arguments": {"email": "ann@x.test"}},
            {"name": "list_orders", "arguments": {"user_id": 7}},
        ],
        "order": "sequential",
    },
    "tool_outputs": [{"name": "find_user", "arguments": {"email": "ann@x.test"}, "output": {"id": 7}}],
}
DECLINE = {
    "id": "no_tool",
    "messages": "Tell me a joke.",
    "tools": [WEATHER_TOOL],
    "expected": {"tool_calls": [], "answer": ["joke"]},
    "ideal": {"steps": 1, "tool_calls": 0},
}


def write_lines(path: Path, *records: Any) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


def replay(case: EvalCase) -> Trace:
    steps = [
        Step(
            index=i,
            content=s.content,
            tool_calls=[
                ToolCall(id=f"{i}{j}", name=c.name, arguments=c.arguments) for j, c in enumerate(s.tool_calls)
            ],
        )
        for i, s in enumerate(case.ideal.trajectory or [])
    ]
    return Trace(
        case_id=case.id, model="m", harness_hash="h", steps=steps, final_text=steps[-1].content or ""
    )


def verdicts(case: EvalCase, trace: Trace) -> list[bool]:
    return [asyncio.run(check(a, trace, case, ScoringContext())).passed for a in case.success]


@pytest.fixture
def imported(tmp_path: Path) -> dict[str, EvalCase]:
    source = write_lines(tmp_path / "mine.jsonl", WEATHER, "", ORDERS, DECLINE)
    report = import_jsonl(source, tmp_path / "imported", name="mydata")
    assert len(report.created) == 3
    return {path.stem: load_case_file(path) for path in report.created}


def test_cases_land_in_their_folder_with_provenance(imported: dict[str, EvalCase], tmp_path: Path) -> None:
    assert sorted(imported) == ["mydata_no_tool", "mydata_orders", "mydata_weather_paris"]
    path = tmp_path / "imported" / "mydata" / "mydata_weather_paris.yaml"
    assert path.read_text().startswith("# yaml-language-server: $schema=../../schema.json\n")
    case = imported["mydata_weather_paris"]
    assert case.tags == ["tool_use", "mydata"]
    assert case.description == "mydata weather_paris - What's the weather in Paris?"
    assert case.provenance and (case.provenance.source, case.provenance.ref) == ("jsonl", "mine.jsonl:1")
    assert imported["mydata_orders"].provenance.ref == "mine.jsonl:3"  # type: ignore[union-attr]
    assert (imported["mydata_orders"].tier, imported["mydata_orders"].tags) == ("regression", ["mydata"])


def test_expected_calls_become_bfcl_calls_over_the_whole_rollout(imported: dict[str, EvalCase]) -> None:
    weather, orders, decline = (imported[f"mydata_{k}"] for k in ("weather_paris", "orders", "no_tool"))
    assert [a.to_yaml() for a in weather.success] == [
        {
            "bfcl_calls": {
                "calls": [{"get_weather": {"city": ["Paris", "Paris, France"], "unit": ["c", ""]}}],
                "scope": "all",
            }
        },
        {"final_text_contains": {"text": ["14"]}},
    ]
    assert orders.success[0].to_yaml()["bfcl_calls"]["order"] == "sequential"
    assert [a.to_yaml() for a in decline.success] == [
        {"bfcl_calls": {"irrelevance": True}},
        {"final_text_contains": {"text": ["joke"]}},
    ]


def test_ideal_and_trajectory_replay_passes(imported: dict[str, EvalCase]) -> None:
    weather, orders, decline = (imported[f"mydata_{k}"] for k in ("weather_paris", "orders", "no_tool"))
    assert (weather.ideal.steps, weather.ideal.tool_calls) == (2, 1)
    assert (orders.ideal.steps, orders.ideal.tool_calls) == (3, 2)
    assert (decline.ideal.steps, decline.ideal.tool_calls) == (1, 0)
    assert weather.ideal.trajectory[-1].content == "14"  # type: ignore[index]
    for case in imported.values():
        assert all(verdicts(case, replay(case))), case.id


def test_tool_outputs_become_mock_responses(imported: dict[str, EvalCase]) -> None:
    weather = MockToolRunner(imported["mydata_weather_paris"].environment.tools[0])
    assert json.loads(asyncio.run(weather.run({"city": "paris"}))) == {"temp_c": 14}
    assert json.loads(asyncio.run(weather.run({"city": "Oslo"}))) == {"error": "unknown city"}
    find_user, list_orders = (MockToolRunner(t) for t in imported["mydata_orders"].environment.tools)
    assert json.loads(asyncio.run(find_user.run({"email": "ann@x.test"}))) == {"id": 7}
    with pytest.raises(ToolFailure):
        asyncio.run(find_user.run({"email": "bob@x.test"}))
    assert json.loads(asyncio.run(list_orders.run({"user_id": 7}))) == {"status": "ok"}


def test_importing_twice_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_lines(tmp_path / "mine.jsonl", WEATHER, ORDERS, DECLINE)
    argv = ["jsonl", str(source), "--dest", str(tmp_path / "out"), "--name", "mydata"]
    assert main(argv) == 0
    assert "jsonl mydata: 3 created, 0 updated, 0 unchanged" in capsys.readouterr().out
    before = {p: p.read_bytes() for p in (tmp_path / "out").rglob("*.yaml")}
    assert main(argv) == 0
    assert "jsonl mydata: 0 created, 0 updated, 3 unchanged" in capsys.readouterr().out
    assert {p: p.read_bytes() for p in (tmp_path / "out").rglob("*.yaml")} == before
    write_lines(source, {**WEATHER, "messages": "Weather in Paris, please."}, ORDERS, DECLINE)
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert (
        "1 created" not in out and "1 updated, 2 unchanged" in out and "updated mydata_weather_paris" in out
    )


@pytest.mark.parametrize(
    ("line", "problem", "key"),
    [
        ('{"id": "x", "messages": "hi", "expected": {"answer": "a"}', "line 2 is not valid JSON", None),
        ({"id": "x", "messages": "hi"}, "line 2: Field required", "expected"),
        ({"id": "x", "messages": "hi", "expected": {}}, "give `tool_calls`", "expected"),
        ({"id": "x", "messages": "hi", "expected": {"answer": "a"}, "colour": 1}, "Extra inputs", "colour"),
        (
            {"id": "x", "messages": [{"role": "robot", "content": "hi"}], "expected": {"answer": "a"}},
            "line 2: Input should be",
            "messages.list[Message].0.role",
        ),
        (
            {"id": "x", "messages": "hi", "expected": {"tool_calls": [{"name": "nope"}]}},
            "not in `tools`",
            None,
        ),
        (
            {
                "id": "x",
                "messages": "hi",
                "tools": [{"name": "t", "parameters": {"type": "object", "properties": 3}}],
                "expected": {"answer": "a"},
            },
            "not a valid JSON Schema",
            "tools.0.parameters",
        ),
        (
            {
                "id": "x",
                "messages": "hi",
                "tools": [WEATHER_TOOL],
                "expected": {
                    "tool_calls": [
                        {"name": "get_weather", "arguments": {"city": "Rome"}, "optional": ["unit"]}
                    ]
                },
            },
            "optional argument 'unit' lists no value",
            "expected.tool_calls",
        ),
        ({**DECLINE, "id": "no_tool"}, "repeats id 'no_tool' (first used at", "id"),
    ],
)
def test_a_bad_line_names_the_file_line_and_field(
    tmp_path: Path, line: Any, problem: str, key: str | None
) -> None:
    source = write_lines(tmp_path / "bad.jsonl", DECLINE, line)
    with pytest.raises(CaseError) as info:
        import_jsonl(source, tmp_path / "out")
    assert problem in info.value.problem
    assert info.value.file == f"{source}:2"
    if key:
        assert info.value.key == key
    assert not (tmp_path / "out").exists()


def test_cli_bad_line_prints_a_clear_error_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_lines(tmp_path / "bad.jsonl", DECLINE, {"id": "x", "messages": "hi"})
    with pytest.raises(SystemExit) as info:
        main(["jsonl", str(source), "--dest", str(tmp_path / "out")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"file:    {source}:2" in err and "key:     expected" in err and "Traceback" not in err


def test_a_name_that_is_no_tag_is_refused(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "x.jsonl", DECLINE)
    with pytest.raises(BHError, match="does not make a valid tag"):
        import_jsonl(source, tmp_path / "out", name="2024")


def test_the_documented_example_imports(tmp_path: Path) -> None:
    doc = (Path(__file__).parents[2] / "docs" / "import_format.md").read_text()
    example = json.loads(re.search(r"```json\n(.*?)```", doc, re.S).group(1))  # type: ignore[union-attr]
    source = write_lines(tmp_path / "doc.jsonl", example)
    (path,) = import_jsonl(source, tmp_path / "out", name="mydata").created
    case = load_case_file(path)
    assert all(verdicts(case, replay(case)))


def test_a_line_that_nests_too_deeply_is_refused(tmp_path: Path) -> None:
    deep: Any = "x"
    for _ in range(100):
        deep = [deep]
    source = write_lines(tmp_path / "deep.jsonl", DECLINE, {**DECLINE, "id": "deep", "metadata": deep})
    with pytest.raises(CaseError) as info:
        import_jsonl(source, tmp_path / "out")
    assert "nests" in info.value.problem and info.value.file == f"{source}:2"
