"""Helpers to run ``python -m betterharness`` as a user would, in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CASES = ["tool_use/tool_use_weather_single_call.yaml", "file_operations/file_ops_edit_one_word.yaml",
         "followup_quality/followup_schedule_given.yaml"]


def bh(*args: str, cwd: Path | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the CLI with BH_OFFLINE=1 (no real model may be called)."""
    env = {**os.environ, "BH_OFFLINE": "1", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    env.pop("LANGSMITH_API_KEY", None)
    return subprocess.run([sys.executable, "-m", "betterharness", *args], cwd=cwd or ROOT, env=env, text=True,
                          capture_output=True, timeout=300, input=stdin)


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    """A small eval folder copied from the shipped examples (3 cases over 3 tags)."""
    folder = tmp_path / "evals"
    for rel in CASES:
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "evals" / rel, target)
    return folder
