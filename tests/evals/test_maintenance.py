"""The maintenance report: saturated, flaky and never-passing cases over 2 models × 3 epochs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from betterharness.cli import maintain
from betterharness.evals.load import load_case_file
from betterharness.evals.status import set_status
from betterharness.report.maintenance import classify, collect

# case -> model -> pass/fail per epoch
OUTCOMES = {
    "always_green": {"gpt": [1, 1, 1], "sonnet": [1, 1, 1]},
    "coin_flip": {"gpt": [1, 0, 1], "sonnet": [1, 1, 1]},
    "never_green": {"gpt": [0, 0, 0], "sonnet": [0, 0, 0]},
    "model_split": {"gpt": [1, 1, 1], "sonnet": [0, 0, 0]},
}

CASE = """\
# yaml-language-server: $schema=../schema.json
id: {id}
description: A case.   # keep this comment
tags: [tool_use]
tier: hillclimb
{status}input:
  messages:
    - {{role: user, content: "hi"}}
success:
  - final_text_contains: hi
ideal: {{steps: 1, tool_calls: 0}}
"""


def _outputs(root: Path) -> Path:
    for folder, model in (("aaa111", "gpt"), ("bbb222", "sonnet")):
        run = root / folder
        run.mkdir(parents=True)
        record = {"hash": folder, "config": {"model": {"id": model}, "harness": {"name": "default"}}}
        (run / "experiment.json").write_text(json.dumps(record))
        lines = []
        for case_id, per_model in OUTCOMES.items():
            for epoch, passed in enumerate(per_model[model]):
                lines.append(json.dumps({
                    "case_id": case_id, "epoch": epoch, "tags": ["tool_use"], "tier": "hillclimb",
                    "model": model, "harness_hash": "f" * 16, "correctness": float(passed),
                    "verdicts": [{"assertion": "final_text_contains", "passed": bool(passed)}]}))
        if model == "gpt":  # one rollout only: too little evidence to call it saturated
            lines.append(json.dumps({"case_id": "thin", "tags": ["memory"], "tier": "regression",
                                     "model": model, "harness_hash": "f" * 16, "correctness": 1.0}))
        (run / "scores.jsonl").write_text("\n".join(lines) + "\n")
    return root


def test_classes(tmp_path: Path) -> None:
    histories, sources = collect(_outputs(tmp_path / "outputs"))
    assert len(sources) == 2
    classes = classify(histories, min_epochs=2)
    assert {k: [h.case_id for h in v] for k, v in classes.items()} == {
        "saturated": ["always_green"], "flaky": ["coin_flip"], "never_passed": ["never_green"]}
    flaky = classes["flaky"][0]
    assert flaky.per_model() == {"gpt": (2, 3), "sonnet": (3, 3)}
    assert flaky.flaky_under() == [("gpt", "default@ffffffff")]
    assert classify(histories, min_epochs=7)["saturated"] == []
    assert [h.case_id for h in classify(histories, min_epochs=1)["saturated"]] == ["always_green", "thin"]


def test_report_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outputs = _outputs(tmp_path / "outputs")
    assert maintain.main(["--outputs", str(outputs)]) == 0
    out = capsys.readouterr().out
    report = (outputs / "_maintenance.md").read_text()
    assert report in out
    assert "1 saturated, 1 flaky, 1 never passed" in report
    assert "| `always_green` | hillclimb | tool_use | 6 | 2 | retire or move to regression tier |" in report
    assert "| `coin_flip` | hillclimb | `gpt` 2/3 (67%), `sonnet` 3/3 (100%) | `gpt` × default@ffffffff | " \
           "investigate nondeterminism |" in report
    assert "| `never_green` | hillclimb | 6 | 2 | final_text_contains | " \
           "check the case's assertions / quarantine |" in report
    assert "model_split" not in report


def test_quarantine_edits_only_the_status_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outputs = _outputs(tmp_path / "outputs")
    root = tmp_path / "evals" / "tool_use"
    root.mkdir(parents=True)
    never = root / "never_green.yaml"
    never.write_text(CASE.format(id="never_green", status=""))
    green = root / "always_green.yaml"
    green.write_text(CASE.format(id="always_green", status=""))
    before_green = green.read_bytes()
    args = ["--outputs", str(outputs), "--root", str(tmp_path / "evals"), "--quarantine-never-passed"]
    assert maintain.main(args) == 0
    assert f"quarantined: {never}" in capsys.readouterr().out
    assert never.read_text() == CASE.format(id="never_green", status="status: quarantined\n")
    assert load_case_file(never).status == "quarantined"
    assert green.read_bytes() == before_green
    assert maintain.main(args) == 0
    assert f"already quarantined: {never}" in capsys.readouterr().out


def test_set_status_replaces_in_place() -> None:
    text = "id: x\ntier: regression\nstatus: active  # reviewed\r\ninput: {}\n"
    edited = "id: x\ntier: regression\nstatus: quarantined  # reviewed\r\ninput: {}\n"
    assert set_status(text, "quarantined") == edited
    assert set_status("id: x\ntier: hillclimb", "draft") == "id: x\ntier: hillclimb\nstatus: draft\n"
    assert set_status("id: x\nsuccess: []\n", "draft") == "id: x\nstatus: draft\nsuccess: []\n"


@pytest.mark.parametrize("setup, message", [
    (lambda p: None, "no outputs folder"),
    (lambda p: p.mkdir(), "no */scores.jsonl"),
    (lambda p: ((p / "r").mkdir(parents=True), (p / "r" / "scores.jsonl").write_text("{bad\n{}\n")),
     "line 1 is not a valid Score"),
])
def test_bad_outputs_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], setup, message: str) -> None:
    outputs = tmp_path / "outputs"
    setup(outputs)
    with pytest.raises(SystemExit) as exited:
        maintain.main(["--outputs", str(outputs)])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "fix:" in err and "Traceback" not in err
