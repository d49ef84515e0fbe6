"""LangSmith export: off without a key, best effort with one (a fake client stands in for the API)."""

from __future__ import annotations

from typing import Any

import pytest

from betterharness.agent.trace import Trace
from betterharness.integrations.langsmith import TraceSink
from betterharness.scoring.score import Score

TRACE = Trace(case_id="c", model="m", harness_hash="h", final_text="done", started_at=1_700_000_000.0, wall_s=1.5)
SCORE = Score(case_id="c", tags=["t"], tier="hillclimb", model="m", harness_hash="h", correctness=1.0)


class FakeClient:
    def __init__(self, fail: bool = False) -> None:
        self.runs: list[dict[str, Any]] = []
        self.feedback: list[tuple[Any, ...]] = []
        self.fail = fail

    def create_run(self, **kwargs: Any) -> None:
        if self.fail:
            raise ConnectionError("unreachable")
        self.runs.append(kwargs)

    def create_feedback(self, run_id: Any, key: str, score: float) -> None:
        self.feedback.append((run_id, key, score))


def test_disabled_without_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LANGSMITH_API_KEY", raising=False)
    sink = TraceSink("p", {})
    assert not sink.enabled
    sink.send(TRACE, SCORE)


def test_sends_run_and_feedback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANGSMITH_API_KEY", "test")
    fake = FakeClient()
    monkeypatch.setattr("langsmith.Client", lambda: fake)
    sink = TraceSink("proj", {"model": "m"})
    sink.send(TRACE, SCORE)
    run = fake.runs[0]
    assert run["project_name"] == "proj" and run["name"] == "c" and run["outputs"] == {"final_text": "done"}
    assert (run["end_time"] - run["start_time"]).total_seconds() == 1.5
    assert fake.feedback[0][1:] == ("correctness", 1.0)


def test_failure_disables_export_without_raising(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.setenv("LANGSMITH_API_KEY", "test")
    monkeypatch.setattr("langsmith.Client", lambda: FakeClient(fail=True))
    sink = TraceSink("proj", {})
    sink.send(TRACE, SCORE)
    sink.send(TRACE, SCORE)
    assert not sink.enabled
    assert capsys.readouterr().err.count("LangSmith export disabled") == 1
