"""evals/schema.json is generated from the pydantic model and every shipped case validates against it."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from betterharness.evals.schema import render
from betterharness.paths import evals_dir, shipped_suite


def test_schema_file_matches_the_model() -> None:
    current = (evals_dir() / "schema.json").read_text(encoding="utf-8")
    assert current == render(), "evals/schema.json drifted: run python -m betterharness schema"


@pytest.mark.parametrize("path", sorted([*evals_dir().glob("**/*.yaml"),
                                         *shipped_suite("evals_learnable").glob("**/*.yaml")]), ids=lambda p: p.stem)
def test_shipped_case_validates_against_schema(path) -> None:
    schema = json.loads((evals_dir() / "schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def test_schema_rejects_unknown_assertion() -> None:
    schema = json.loads((evals_dir() / "schema.json").read_text(encoding="utf-8"))
    bad = {"id": "x", "description": "d", "tags": ["t"], "input": {"messages": [{"role": "user", "content": "hi"}]},
           "success": [{"tool_caled": {"name": "x"}}], "ideal": {"steps": 1, "tool_calls": 0}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(bad)


def test_help_prints_usage_and_writes_nothing(tmp_path, capsys) -> None:
    from betterharness.cli.schema import main

    target = tmp_path / "schema.json"
    target.write_text("untouched", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        main(["--help", "--out", str(target)])
    assert exit_info.value.code == 0 and "--check" in capsys.readouterr().out
    assert target.read_text(encoding="utf-8") == "untouched"  # --help used to rewrite the schema file
    assert main(["--out", str(target), "--check"]) == 1
    assert main(["--out", str(target)]) == 0 and main(["--out", str(target), "--check"]) == 0
