"""BFCL import: schema conversion, inline BFCL-format fixtures, dedup, the CLI, and the real wheel data."""

from __future__ import annotations

import asyncio
import importlib.util
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from betterharness.agent.trace import Step, ToolCall, Trace
from betterharness.cli.import_cases import main
from betterharness.errors import BHError
from betterharness.evals.case import EvalCase
from betterharness.evals.importers import bfcl
from betterharness.evals.load import load_all, load_case_file
from betterharness.scoring.checks import check
from betterharness.scoring.context import ScoringContext


def fn(name: str, props: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "name": name,
        "description": f"The {name} function.",
        "parameters": {"type": "dict", "properties": props, "required": required},
    }


INT = {"type": "integer", "description": "An integer."}
FLOAT = {"type": "float", "description": "A float."}
STR = {"type": "string", "description": "A string."}
AREA = fn("geometry.area", {"radius": FLOAT, "unit": STR}, ["radius"])
HOTEL = fn(
    "book_hotel",
    {
        "city": STR,
        "nights": INT,
        "guest": {"type": "dict", "description": "Guest.", "properties": {"name": STR, "age": INT}},
    },
    ["city", "nights"],
)
ASK = [[{"role": "user", "content": "Please help."}]]

FIXTURES: dict[str, list[tuple[dict[str, Any], dict[str, Any] | None]]] = {
    "simple_python": [
        (
            {"id": "simple_python_0", "question": ASK, "function": [AREA]},
            {
                "id": "simple_python_0",
                "ground_truth": [{"geometry.area": {"radius": [5.0], "unit": ["cm", ""]}}],
            },
        ),
    ],
    "multiple": [
        (
            {"id": "multiple_0", "question": ASK, "function": [AREA, HOTEL]},
            {
                "id": "multiple_0",
                "ground_truth": [
                    {
                        "book_hotel": {
                            "city": ["Rome"],
                            "nights": [2],
                            "guest": [{"name": ["Ann"], "age": ["", 30]}],
                        }
                    }
                ],
            },
        ),
    ],
    "parallel": [
        (
            {"id": "parallel_0", "question": ASK, "function": [AREA]},
            {
                "id": "parallel_0",
                "ground_truth": [{"geometry.area": {"radius": [1.0]}}, {"geometry.area": {"radius": [2.0]}}],
            },
        ),
    ],
    "parallel_multiple": [
        (
            {"id": "parallel_multiple_0", "question": ASK, "function": [AREA, HOTEL]},
            {
                "id": "parallel_multiple_0",
                "ground_truth": [
                    {"geometry.area": {"radius": [1.0]}},
                    {"book_hotel": {"city": ["Oslo"], "nights": [1, ""]}},
                ],
            },
        ),
    ],
    "irrelevance": [({"id": "irrelevance_0", "question": ASK, "function": [HOTEL]}, None)],
}


def write_fixtures(
    root: Path, fixtures: dict[str, list[tuple[dict[str, Any], dict[str, Any] | None]]]
) -> Path:
    (root / "possible_answer").mkdir(parents=True, exist_ok=True)
    for category, records in fixtures.items():
        lines = "".join(json.dumps(entry) + "\n" for entry, _ in records)
        (root / f"BFCL_v4_{category}.json").write_text(lines)
        answers = "".join(json.dumps(answer) + "\n" for _, answer in records if answer)
        if answers:
            (root / "possible_answer" / f"BFCL_v4_{category}.json").write_text(answers)
    return root


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return write_fixtures(tmp_path / "bfcl_data", FIXTURES)


def replay(case: EvalCase, trajectory: list[Any] | None = None) -> Trace:
    steps = [
        Step(
            index=i,
            content=s.content,
            tool_calls=[
                ToolCall(id=f"{i}{j}", name=c.name, arguments=c.arguments) for j, c in enumerate(s.tool_calls)
            ],
        )
        for i, s in enumerate(trajectory or case.ideal.trajectory or [])
    ]
    return Trace(
        case_id=case.id, model="m", harness_hash="h", steps=steps, final_text=steps[-1].content or ""
    )


def passes(case: EvalCase, trace: Trace) -> bool:
    return all(asyncio.run(check(a, trace, case, ScoringContext())).passed for a in case.success)


def test_schema_conversion_gives_valid_json_schema() -> None:
    source = {
        "type": "dict",
        "optional": ["x"],
        "properties": {
            "f": {"type": "float", "description": "kept"},
            "t": {"type": "tuple", "items": {"type": "float"}},
            "a": {"type": "any", "description": "anything"},
            "d": {"type": "dict", "properties": {"i": INT}},
            "o": {"type": "string", "optional": True, "enum": ["x", "y"], "default": "x"},
        },
        "required": ["f"],
    }
    converted = bfcl.convert_schema(source)
    assert converted == {
        "type": "object",
        "properties": {
            "f": {"type": "number", "description": "kept"},
            "t": {"type": "array", "items": {"type": "number"}},
            "a": {"description": "anything"},
            "d": {"type": "object", "properties": {"i": INT}},
            "o": {"type": "string", "enum": ["x", "y"], "default": "x"},
        },
        "required": ["f"],
    }
    jsonschema.Draft202012Validator.check_schema(converted)


@pytest.mark.parametrize("category", list(FIXTURES))
def test_each_category_imports_and_its_ideal_replay_passes(data: Path, tmp_path: Path, category: str) -> None:
    dest = tmp_path / "imported"
    report = bfcl.import_category(category, dest, source=data)
    assert (len(report.created), len(report.updated), len(report.unchanged)) == (1, 0, 0)
    path = report.created[0]
    assert path.parent == dest / "bfcl" / category
    assert path.read_text().splitlines()[0] == "# yaml-language-server: $schema=../../../schema.json"
    case = load_case_file(path)
    assert case.id == f"bfcl_{category}_0" and path.stem == case.id
    assert case.tags == ["tool_use", "bfcl", f"bfcl_{category}"]
    assert (case.tier, case.status) == ("hillclimb", "active")
    assert case.provenance and case.provenance.source == "bfcl" and case.provenance.ref == f"{category}_0"
    assert case.provenance.digest and case.provenance.digest.startswith("sha256:")
    assert [m.content for m in case.input.messages] == ["Please help."]
    assert all(t.responses[0].value == {"status": "ok"} for t in case.environment.tools)
    assert passes(case, replay(case))
    assert yaml.safe_load(path.read_text()) == case.model_dump(
        mode="json", by_alias=True, exclude_none=True, exclude_defaults=True
    ) | _defaults(case)


def _defaults(case: EvalCase) -> dict[str, Any]:
    """Fields the importer writes although they equal the model defaults."""
    return {"tier": case.tier, "status": case.status}


def test_expected_calls_ideal_and_tools_follow_bfcl(data: Path, tmp_path: Path) -> None:
    bfcl.import_category("parallel_multiple", tmp_path, source=data)
    case = load_case_file(tmp_path / "bfcl" / "parallel_multiple" / "bfcl_parallel_multiple_0.yaml")
    assert [t.name for t in case.environment.tools] == ["geometry_area", "book_hotel"]
    assert case.environment.tools[0].parameters["properties"]["radius"]["type"] == "number"
    assert case.success[0].to_yaml() == {
        "bfcl_calls": {
            "calls": [{"geometry_area": {"radius": [1.0]}}, {"book_hotel": {"city": ["Oslo"], "nights": [1]}}]
        }
    }
    assert (case.ideal.steps, case.ideal.tool_calls) == (2, 2)
    first = case.ideal.trajectory[0].tool_calls  # type: ignore[index]
    assert [(c.name, c.arguments) for c in first] == [
        ("geometry_area", {"radius": 1.0}),
        ("book_hotel", {"city": "Oslo", "nights": 1}),
    ]
    wrong = replay(case, [type(case.ideal.trajectory[0])(tool_calls=first[:1])])  # type: ignore[index]
    assert not passes(case, wrong)


def test_nested_dict_answer_gives_a_concrete_ideal_argument(data: Path, tmp_path: Path) -> None:
    bfcl.import_category("multiple", tmp_path, source=data)
    case = load_case_file(tmp_path / "bfcl" / "multiple" / "bfcl_multiple_0.yaml")
    call = case.ideal.trajectory[0].tool_calls[0]  # type: ignore[index]
    assert call.arguments == {"city": "Rome", "nights": 2, "guest": {"name": "Ann"}}


def test_irrelevance_case_expects_no_call(data: Path, tmp_path: Path) -> None:
    bfcl.import_category("irrelevance", tmp_path, source=data)
    case = load_case_file(tmp_path / "bfcl" / "irrelevance" / "bfcl_irrelevance_0.yaml")
    assert case.success[0].to_yaml() == {"bfcl_calls": {"irrelevance": True}}
    assert (case.ideal.steps, case.ideal.tool_calls) == (1, 0)


def test_unpassable_answers_are_quarantined_and_required_blanks_dropped(tmp_path: Path) -> None:
    fixtures = {
        "simple_python": [
            (
                {"id": "simple_python_0", "question": ASK, "function": [HOTEL]},
                {
                    "id": "simple_python_0",
                    "ground_truth": [{"book_hotel": {"city": ["Rome", ""], "nights": []}}],
                },
            ),
            (
                {"id": "simple_python_1", "question": ASK, "function": [HOTEL]},
                {
                    "id": "simple_python_1",
                    "ground_truth": [{"book_hotel": {"city": ["Rome", ""], "nights": [3]}}],
                },
            ),
        ]
    }
    source = write_fixtures(tmp_path / "data", fixtures)
    bfcl.import_category("simple", tmp_path / "out", source=source)
    folder = tmp_path / "out" / "bfcl" / "simple_python"
    bad, good = (load_case_file(folder / f"bfcl_simple_python_{i}.yaml") for i in (0, 1))
    assert bad.status == "quarantined" and "no value for book_hotel.nights" in (bad.provenance.notes or "")
    assert good.status == "active"
    assert good.success[0].to_yaml()["bfcl_calls"]["calls"] == [
        {"book_hotel": {"city": ["Rome"], "nights": [3]}}
    ]


def test_importing_twice_changes_nothing(data: Path, tmp_path: Path) -> None:
    dest = tmp_path / "imported"
    for category in FIXTURES:
        bfcl.import_category(category, dest, source=data)
    before = {p: p.read_bytes() for p in dest.rglob("*.yaml")}
    again = [bfcl.import_category(category, dest, source=data) for category in FIXTURES]
    assert all(not r.created and not r.updated and len(r.unchanged) == 1 for r in again)
    assert {p: p.read_bytes() for p in dest.rglob("*.yaml")} == before


def test_a_changed_source_record_updates_its_file_and_hand_edits_survive_otherwise(
    data: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "imported"
    bfcl.import_category("simple", dest, source=data)
    bfcl.import_category("parallel", dest, source=data)
    edited = dest / "bfcl" / "parallel" / "bfcl_parallel_0.yaml"
    edited.write_text(edited.read_text().replace("status: active", "status: quarantined"))
    changed = json.loads(json.dumps(FIXTURES["simple_python"]))
    changed[0][0]["question"] = [[{"role": "user", "content": "Area of a circle of radius 5 cm?"}]]
    write_fixtures(data, {"simple_python": [tuple(changed[0])]})  # type: ignore[list-item]
    report = bfcl.import_category("simple", dest, source=data)
    assert [p.stem for p in report.updated] == ["bfcl_simple_python_0"]
    assert "radius 5 cm" in report.updated[0].read_text()
    assert bfcl.import_category("parallel", dest, source=data).unchanged == [edited]
    assert "status: quarantined" in edited.read_text()
    assert bfcl.import_category("parallel", dest, source=data, force=True).updated == [edited]
    assert "status: active" in edited.read_text()


def test_cli_prints_counts_per_category(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["bfcl", "--categories", ",".join(FIXTURES), "--data-dir", str(data), "--dest", str(tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "bfcl simple_python: 1 created, 0 updated, 0 unchanged" in out
    assert "total: 5 created, 0 updated, 0 unchanged" in out
    assert main(argv) == 0
    assert "total: 0 created, 0 updated, 5 unchanged" in capsys.readouterr().out


def test_cli_unknown_category_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["bfcl", "--categories", "simple,bogus", "--dest", str(tmp_path)])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "unknown BFCL category 'bogus'" in err and "parallel_multiple" in err and "Traceback" not in err


def test_missing_bfcl_package_names_the_pip_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(BHError, match="not installed"):
        bfcl.data_dir()
    with pytest.raises(SystemExit):
        main(["bfcl", "--categories", "simple", "--dest", str(tmp_path)])
    assert "pip install --no-deps bfcl-eval==2026.3.23" in capsys.readouterr().err


def test_bad_bfcl_line_names_file_and_line(data: Path, tmp_path: Path) -> None:
    path = data / "BFCL_v4_parallel.json"
    path.write_text(path.read_text() + "{not json\n")
    with pytest.raises(BHError) as info:
        bfcl.import_category("parallel", tmp_path, source=data)
    assert info.value.file == f"{path}:2"


REAL = importlib.util.find_spec("bfcl_eval") is not None


@pytest.mark.skipif(
    not REAL, reason="bfcl-eval is not installed (pip install --no-deps bfcl-eval==2026.3.23)"
)
def test_real_bfcl_data_imports_and_every_ideal_replay_passes(tmp_path: Path) -> None:
    for category in bfcl.DEFAULT_CATEGORIES:
        assert bfcl.import_category(category, tmp_path, limit=4).total == 4
    cases = load_all(tmp_path)
    assert not cases.errors and len(cases.cases) == 20
    assert all(passes(case, replay(case)) for case in cases.cases)
    assert any(t.name == "math_factorial" for c in cases.cases for t in c.environment.tools)


def test_a_missing_possible_answer_is_an_error(tmp_path: Path) -> None:
    fixtures = {"parallel": [({"id": "parallel_0", "question": ASK, "function": [AREA]}, None)]}
    source = write_fixtures(tmp_path / "data", fixtures)
    (source / "possible_answer" / "BFCL_v4_parallel.json").write_text("")
    with pytest.raises(BHError, match="no possible answer for parallel_0"):
        bfcl.import_category("parallel", tmp_path / "out", source=source)
