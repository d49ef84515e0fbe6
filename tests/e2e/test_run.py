"""End to end through ``python -m betterharness`` with the scripted model."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import ROOT, bh


def _only_run(outputs: Path) -> Path:
    runs = [p for p in outputs.iterdir() if p.is_dir() and not p.name.startswith("_")]
    assert len(runs) == 1, runs
    return runs[0]


def test_run_writes_everything_and_resumes(tmp_path: Path, suite: Path) -> None:
    outputs = tmp_path / "out"
    args = ["model=scripted", "roles=scripted", f"evals.root={suite}", "evals=all", f"runtime.outputs={outputs}"]
    first = bh(*args)
    assert first.returncode == 0, first.stderr
    run = _only_run(outputs)
    for name in ("config.yaml", "experiment.json", "traces.jsonl", "scores.jsonl", "metrics.json", "report.md"):
        assert (run / name).is_file(), name
    record = json.loads((run / "experiment.json").read_text())
    assert record["hash"] == run.name and record["status"] == "complete"
    assert record["packages"]["hydra-core"] and record["ended_at"]
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["overall"]["correctness"] == 1.0 and metrics["overall"]["cases"] == 3
    assert set(metrics["per_tag"]) == {"tool_use", "file_operations", "followup_quality"}
    assert len((run / "traces.jsonl").read_text().splitlines()) == 3
    report = (run / "report.md").read_text()
    assert "## Per tag" in report and "| tool_use | 1 | 1 | 1.00" in report

    # runtime settings don't change identity: same folder, nothing re-run
    again = bh(*args, "runtime.concurrency=1", "runtime.progress=false")
    assert again.returncode == 0, again.stderr
    assert _only_run(outputs) == run
    assert len((run / "traces.jsonl").read_text().splitlines()) == 3
    assert json.loads((run / "experiment.json").read_text())["reused"] == 3


def test_interrupted_run_resumes_only_the_missing(tmp_path: Path, suite: Path) -> None:
    outputs = tmp_path / "out"
    args = ["model=scripted", "roles=scripted", f"evals.root={suite}", "evals=all", f"runtime.outputs={outputs}",
            "epochs=2"]
    assert bh(*args).returncode == 0
    run = _only_run(outputs)
    scores = (run / "scores.jsonl").read_text().splitlines()
    assert len(scores) == 6
    (run / "scores.jsonl").write_text("\n".join(scores[:4]) + "\n" + scores[4][:30])  # torn last line
    assert bh(*args, "runtime.cache=false").returncode == 0
    record = json.loads((run / "experiment.json").read_text())
    assert (record["ran"], record["reused"], record["cached"]) == (2, 4, 0)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["overall"]["rollouts"] == 6 and metrics["overall"]["pass_hat_k"] == 1.0


def test_failing_case_scores_zero_without_stopping(tmp_path: Path, suite: Path) -> None:
    case = suite / "tool_use" / "tool_use_weather_single_call.yaml"
    text = case.read_text().replace('content: "It\'s 14°C with light rain in Paris."', "content: No idea.")
    case.write_text(text)
    outputs = tmp_path / "out"
    result = bh("model=scripted", "roles=scripted", f"evals.root={suite}", f"runtime.outputs={outputs}")
    assert result.returncode == 0, result.stderr
    run = _only_run(outputs)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["per_tag"]["tool_use"]["correctness"] == 0.0
    assert metrics["per_tag"]["file_operations"]["correctness"] == 1.0
    assert "`tool_use_weather_single_call`" in (run / "report.md").read_text()


def test_unplanned_request_fails_loudly(tmp_path: Path, suite: Path) -> None:
    case = suite / "tool_use" / "tool_use_weather_single_call.yaml"
    lines = case.read_text().splitlines()
    case.write_text("\n".join(lines[: lines.index("  trajectory:")]).replace("steps: 2", "steps: 1")
                    .replace("tool_calls: 1", "tool_calls: 0") + "\n")
    outputs = tmp_path / "out"
    assert bh("model=scripted", "roles=scripted", f"evals.root={suite}", f"runtime.outputs={outputs}").returncode == 0
    scores = [json.loads(x) for x in (_only_run(outputs) / "scores.jsonl").read_text().splitlines()]
    failed = next(s for s in scores if s["case_id"] == "tool_use_weather_single_call")
    assert failed["correctness"] == 0.0 and "unplanned agent request" in failed["error"]


def test_shared_cache_reuses_rollouts_across_experiments(tmp_path: Path, suite: Path) -> None:
    outputs = tmp_path / "out"
    base = ["model=scripted", "roles=scripted", f"evals.root={suite}", "evals=all", f"runtime.outputs={outputs}"]
    assert bh(*base).returncode == 0
    assert bh(*base, "epochs=2").returncode == 0  # a new experiment (new hash) that needs epoch 0 again
    records = [json.loads(p.read_text()) for p in outputs.glob("*/experiment.json")]
    second = next(r for r in records if r["config"]["epochs"] == 2)
    assert (second["ran"], second["cached"]) == (3, 3)
    forced = bh(*base, "epochs=2", "runtime.force=true")
    assert forced.returncode == 0
    record = json.loads((outputs / second["hash"] / "experiment.json").read_text())
    assert (record["ran"], record["cached"], record["reused"]) == (6, 0, 0)


def test_scores_are_final_when_written_so_they_agree_with_metrics(tmp_path: Path, suite: Path) -> None:
    """Latency ratios used to be filled in after scores.jsonl was written, so the two disagreed."""
    from betterharness.scoring.aggregate import aggregate
    from betterharness.scoring.score import Score

    outputs = tmp_path / "out"
    args = ["model=scripted", "roles=scripted", f"evals.root={suite}", "evals=all", f"runtime.outputs={outputs}",
            "epochs=3"]
    assert bh(*args).returncode == 0
    run = _only_run(outputs)
    scores = [Score.model_validate_json(line) for line in (run / "scores.jsonl").read_text().splitlines()]
    assert all(s.latency_ratio is not None for s in scores if s.wall_s > 0)
    metrics = json.loads((run / "metrics.json").read_text())
    recomputed = json.loads(aggregate(scores).model_dump_json())
    assert metrics["overall"] == recomputed["overall"] and metrics["per_tag"] == recomputed["per_tag"]


def test_a_run_of_the_same_experiment_by_an_earlier_release_is_pointed_out(tmp_path: Path, suite: Path) -> None:
    outputs = tmp_path / "out"
    args = ["model=scripted", "roles=scripted", f"evals.root={suite}", "evals=all", f"runtime.outputs={outputs}"]
    assert bh(*args).returncode == 0
    record = json.loads((_only_run(outputs) / "experiment.json").read_text())
    old = outputs / "0123456789ab"
    old.mkdir()
    (old / "experiment.json").write_text(json.dumps({"hash_version": 1, "config": record["config"]}))
    again = bh(*args)
    assert again.returncode == 0 and f"note: {old} holds this experiment from an earlier betterharness" in again.stderr


def test_a_secret_on_the_command_line_reaches_no_file(tmp_path: Path, suite: Path) -> None:
    import stat

    outputs = tmp_path / "out"
    secret = "sk-do-not-write-9f3a"
    args = ["model=scripted", "roles=scripted", f"evals.root={suite}", "evals=all", f"runtime.outputs={outputs}",
            f"+model.params.api_key={secret}", f"+model.options.token={secret}"]
    result = bh(*args)
    assert result.returncode == 0, result.stderr
    assert "`model.params.api_key` holds a secret" in result.stderr
    files = [p for p in outputs.rglob("*") if p.is_file()]
    assert files and not [p for p in files if secret in p.read_text(errors="replace")]
    assert not (ROOT / ".hydra").exists() and not list(Path.cwd().glob(".hydra"))
    run = _only_run(outputs)
    modes = {stat.S_IMODE((run / name).stat().st_mode) for name in ("experiment.json", "config.yaml", "metrics.json",
                                                                     "report.md", "scores.jsonl", "traces.jsonl")}
    assert len(modes) == 1  # metrics.json and report.md used to be 0600 among 0644 files
    other = bh(*[a.replace(secret, "sk-another-key") for a in args])
    assert _only_run(outputs) == run and other.returncode == 0  # the key is not part of the identity
