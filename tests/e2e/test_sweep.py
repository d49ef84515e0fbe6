"""A two-model sweep writes one folder per job and a summary comparing them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import bh


def test_two_model_sweep(tmp_path: Path, suite: Path) -> None:
    outputs = tmp_path / "out"
    bad = suite / "tool_use" / "tool_use_weather_single_call.yaml"
    result = bh("-m", "model=scripted", "roles=scripted", "model.id=scripted/replay,scripted/other",
                f"evals.root={suite}", f"runtime.outputs={outputs}")
    assert result.returncode == 0, result.stderr
    jobs = [p for p in outputs.iterdir() if p.is_dir() and (p / "experiment.json").exists()]
    assert len(jobs) == 2
    summaries = list((outputs / "_sweeps").glob("*.json"))
    assert len(summaries) == 1
    rows = json.loads(summaries[0].read_text())
    assert {r["model"] for r in rows} == {"scripted/replay", "scripted/other"}
    assert all(r["overall"]["correctness"] == 1.0 for r in rows)
    text = summaries[0].with_suffix(".md").read_text()
    assert "Ranked by correctness" in text and "scripted/other" in text
    assert bad.exists()
