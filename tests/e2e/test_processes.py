"""Two processes, signals and locks: one writer per run folder, and SIGTERM stops a run as Ctrl-C does."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, bh
from tests.fixtures.openai_server import OpenAIServer

GUARD_S = 60


def _start(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "BH_OFFLINE": "1", "LITELLM_LOCAL_MODEL_COST_MAP": "True", "BH_TEST_KEY": "sk-test"}
    return subprocess.Popen([sys.executable, "-m", "betterharness", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for(predicate: object, what: str) -> None:
    deadline = time.monotonic() + GUARD_S
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _running(outputs: Path) -> Path | None:
    for record in outputs.glob("*/experiment.json"):
        if json.loads(record.read_text()).get("status") == "running":
            return record.parent
    return None


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BH_TEST_KEY", "sk-test")


@pytest.fixture
def slow_server() -> object:
    with OpenAIServer(delay_s=1.0) as server:
        yield server


def _args(server: OpenAIServer, suite: Path, outputs: Path) -> list[str]:
    return ["model=vllm", "model.id=openai/test-model", f"model.api_base={server.api_base}",
            "model.api_key_env=BH_TEST_KEY", "roles=default", f"evals.root={suite}", "evals=all",
            f"runtime.outputs={outputs}", "runtime.cache=false", "runtime.progress=false", "runtime.concurrency=1"]


def test_a_second_process_on_the_same_experiment_refuses_clearly(slow_server: OpenAIServer, suite: Path,
                                                                 tmp_path: Path) -> None:
    outputs = tmp_path / "out"
    first = _start(*_args(slow_server, suite, outputs))
    try:
        _wait_for(lambda: _running(outputs) is not None, "the first run to start")
        second = bh(*_args(slow_server, suite, outputs))
        assert second.returncode == 2
        assert f"already running in PID {first.pid}" in second.stderr and "Traceback" not in second.stderr
    finally:
        first.wait(GUARD_S)
    assert first.returncode == 0, first.stderr
    folder = next(outputs.glob("*/experiment.json")).parent
    keys = [(s["case_id"], s["epoch"]) for s in map(json.loads, (folder / "scores.jsonl").read_text().splitlines())]
    assert len(keys) == len(set(keys)) == 3  # every row once


def test_sigterm_marks_the_run_interrupted_and_keeps_what_finished(slow_server: OpenAIServer, suite: Path,
                                                                   tmp_path: Path) -> None:
    outputs = tmp_path / "out"
    run = _start(*_args(slow_server, suite, outputs))
    found: list[Path] = []
    _wait_for(lambda: bool(found.append(f) if (f := _running(outputs)) else False) or bool(found), "the run to start")
    folder = found[0]
    _wait_for(lambda: bool(slow_server.chat_requests), "the first model call")
    run.send_signal(signal.SIGTERM)
    _, stderr = run.communicate(timeout=GUARD_S)
    assert run.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert json.loads((folder / "experiment.json").read_text())["status"] == "interrupted"
    again = bh(*_args(slow_server, suite, outputs))
    assert again.returncode == 0, again.stderr  # the lock was released; the run resumes


def test_a_refused_key_stops_the_run_with_one_message_and_a_nonzero_exit(
        openai_server: OpenAIServer, suite: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outputs = tmp_path / "out"
    monkeypatch.delenv("BH_TEST_KEY")
    unset = bh(*_args(openai_server, suite, outputs))
    assert unset.returncode == 2 and "key variable BH_TEST_KEY is not set" in unset.stderr
    assert not openai_server.chat_requests  # refused before any case ran
    monkeypatch.setenv("BH_TEST_KEY", "sk-wrong")
    openai_server.fail(401, times=100, message="Incorrect API key provided")
    result = bh(*_args(openai_server, suite, outputs))
    assert result.returncode == 3 and "Traceback" not in result.stderr
    assert "openai/test-model refused the run" in result.stderr and "api_key_env" in result.stderr
    assert len(openai_server.chat_requests) == 1  # stopped at the first refusal, not scored as 0 on every case
    record = json.loads(next(outputs.glob("*/experiment.json")).read_text())
    assert record["status"] == "failed" and "refused" in record["error"]
    assert "correctness" not in result.stdout


def test_a_provider_that_is_down_is_not_a_score(suite: Path, tmp_path: Path) -> None:
    outputs = tmp_path / "out"
    args = ["model=vllm", "model.id=openai/test-model", "model.api_base=http://127.0.0.1:9/v1", "roles=default",
            f"evals.root={suite}", "evals=all", f"runtime.outputs={outputs}", "runtime.retries=0",
            "runtime.progress=false"]
    result = bh(*args)
    assert result.returncode == 3 and "no rollout could reach openai/test-model" in result.stderr
    assert "correctness 0.00" not in result.stdout
