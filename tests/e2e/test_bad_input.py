"""Bad input: a clear error (file, key, value, allowed, fix), no traceback, no misleading output left."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import bh


def _runs(outputs: Path) -> list[Path]:
    return [p for p in outputs.iterdir() if p.is_dir() and not p.name.startswith("_")] if outputs.exists() else []


def test_unknown_key(tmp_path: Path, suite: Path) -> None:
    outputs = tmp_path / "out"
    result = bh("model=scripted", f"evals.root={suite}", f"runtime.outputs={outputs}", "+runtime.concurency=2")
    assert result.returncode == 2
    assert "unknown config key `runtime.concurency`" in result.stderr
    assert "did you mean `runtime.concurrency`" in result.stderr
    assert "Traceback" not in result.stderr
    assert _runs(outputs) == []


def test_bad_value_names_source_and_allowed(tmp_path: Path, suite: Path) -> None:
    outputs = tmp_path / "out"
    result = bh("model=scripted", f"evals.root={suite}", f"runtime.outputs={outputs}", "review.mode=sometimes")
    assert result.returncode == 2
    assert "key:     review.mode" in result.stderr and "'sometimes'" in result.stderr
    assert "'auto'" in result.stderr and "the command line (review.mode=sometimes)" in result.stderr
    assert "Traceback" not in result.stderr
    assert _runs(outputs) == []


def test_unknown_tag(tmp_path: Path, suite: Path) -> None:
    outputs = tmp_path / "out"
    result = bh("model=scripted", f"evals.root={suite}", f"runtime.outputs={outputs}", "evals.include_tags=[nope]")
    assert result.returncode == 2
    assert "unknown tag 'nope'" in result.stderr and "tool_use" in result.stderr
    assert "Traceback" not in result.stderr
    assert _runs(outputs) == []


def test_bad_group_option(tmp_path: Path) -> None:
    outputs = tmp_path / "out"
    result = bh("model=sonet", f"runtime.outputs={outputs}")
    assert result.returncode == 2  # one exit code for every user error, Hydra's own included (issue 9)
    assert "Could not find 'model/sonet'" in result.stderr and "sonnet" in result.stderr
    assert "Traceback" not in result.stderr
    assert _runs(outputs) == []


def test_malformed_case_is_skipped_with_a_clear_warning(tmp_path: Path, suite: Path) -> None:
    (suite / "tool_use" / "broken.yaml").write_text("id: broken\ndescription: [oops\n")
    outputs = tmp_path / "out"
    result = bh("model=scripted", "roles=scripted", f"evals.root={suite}", f"runtime.outputs={outputs}")
    assert result.returncode == 0, result.stderr
    assert "skipped case file" in result.stderr and "broken.yaml:" in result.stderr
    run = _runs(outputs)[0]
    report = (run / "report.md").read_text()
    assert "## Invalid case files (skipped)" in report and "broken.yaml" in report
    assert "correctness 1.00 over 3 cases" in result.stdout


def test_debug_switch_shows_traceback(tmp_path: Path, suite: Path) -> None:
    import os

    os.environ["BH_DEBUG"] = "1"
    try:
        result = bh("model=scripted", f"evals.root={suite}", f"runtime.outputs={tmp_path}", "review.mode=x")
    finally:
        del os.environ["BH_DEBUG"]
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_bad_interpolation(tmp_path: Path, suite: Path) -> None:
    outputs = tmp_path / "out"
    result = bh("model=scripted", f"evals.root={suite}", f"runtime.outputs={outputs}", "model.id=${nope}")
    assert result.returncode == 2
    assert "does not resolve" in result.stderr and "the command line (model.id=${nope})" in result.stderr
    assert "Traceback" not in result.stderr
    assert _runs(outputs) == []


def test_a_filter_that_selects_no_case_is_an_error_naming_it(tmp_path: Path, suite: Path) -> None:
    result = bh("model=scripted", "roles=scripted", f"evals.root={suite}", "evals=all", "evals.ids=[nothing_*]",
                f"runtime.outputs={tmp_path / 'out'}")
    assert result.returncode == 2 and "evals.ids matches none of the 3 cases" in result.stderr
    assert "correctness" not in result.stdout and "All rollouts passed" not in result.stdout
    assert not (tmp_path / "out").exists()


def test_unwritable_outputs_and_escaping_globs_get_clear_errors(tmp_path: Path, suite: Path) -> None:
    a_file = tmp_path / "not_a_folder"
    a_file.write_text("x")
    result = bh("model=scripted", "roles=scripted", f"evals.root={suite}", "evals=all", f"runtime.outputs={a_file}")
    assert result.returncode == 2 and "cannot write the run folder" in result.stderr
    assert "Traceback" not in result.stderr
    result = bh("model=scripted", "roles=scripted", f"evals.root={suite}", "evals=all", "evals.files=[/etc/**/*.yaml]",
                f"runtime.outputs={tmp_path / 'out'}")
    assert result.returncode == 2 and "leaves evals.root" in result.stderr and "Traceback" not in result.stderr
    assert _runs(tmp_path / "out") == []


def test_a_yml_case_file_is_loaded_and_a_broken_mock_template_is_caught_at_load(tmp_path: Path, suite: Path) -> None:
    from betterharness.evals.load import load_all

    case = next(suite.rglob("*.yaml"))
    case.rename(case.with_suffix(".yml"))
    assert len(load_all(suite).cases) == 3
    text = (suite / "followup_quality" / "followup_schedule_given.yaml").read_text()
    broken = text.replace("return: {status: scheduled, id: job-17}", "return: '{{ oops('\n          template: true")
    (suite / "followup_quality" / "followup_schedule_given.yaml").write_text(broken)
    found = load_all(suite)
    assert len(found.cases) == 2 and "template syntax error" in found.errors[0].problem
