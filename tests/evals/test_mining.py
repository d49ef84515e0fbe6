"""Mining draft cases from own traces and LangSmith runs: cuts, mock tools, dedup, CLI errors."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from betterharness.agent.trace import Trace
from betterharness.cli import mine
from betterharness.evals.case import EvalCase
from betterharness.evals.load import load_case_file
from betterharness.evals.mining import Deduplicator, cut_point, draft_case, is_correction
from betterharness.evals.transcripts import normalize_messages
from betterharness.integrations.langsmith import fetch_runs
from betterharness.scoring.score import Score
from betterharness.store.mining_input import from_trace

SCHEMA_LINE = "# yaml-language-server: $schema=../schema.json"

SEED_CASE = """\
id: weather_lookup
description: Looks up the weather for the city the user names.
tags: [tool_use]
input:
  messages:
    - {role: user, content: "What's the weather in Paris?"}
environment:
  tools:
    - name: get_weather
      description: Current weather for a city.
      parameters: {type: object, properties: {city: {type: string}}, required: [city]}
      responses:
        - when: {city: paris}
          return: {temp_c: 18}
        - default: {error: unknown city}
success:
  - tool_called: {name: get_weather, arguments: {city: Paris}}
ideal: {steps: 2, tool_calls: 1}
"""


def _trace(case_id: str, epoch: int, messages: list[dict[str, Any]], steps: list[dict[str, Any]]) -> dict:
    return {"case_id": case_id, "epoch": epoch, "model": "openai/gpt-test", "harness_hash": "h" * 16,
            "messages": [{"role": "system", "content": "You are a helpful agent."}, *messages],
            "tools": ["get_weather", "send_email"], "steps": steps, "final_text": messages[-1]["content"],
            "files": {"/out.txt": "final state"}}


def _call(call_id: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}


def _score(case_id: str, epoch: int, correctness: float) -> dict:
    return {"case_id": case_id, "epoch": epoch, "tags": ["tool_use"], "tier": "hillclimb",
            "model": "openai/gpt-test", "harness_hash": "h" * 16, "correctness": correctness,
            "verdicts": [{"assertion": "tool_called", "passed": correctness == 1.0}]}


def _own_run(folder: Path) -> Path:
    """A run folder with a corrected (but passing) rollout, a failing one and a passing one."""
    corrected = _trace("email_report", 0, [
        {"role": "user", "content": "Email the Q3 report to ana@acme.test"},
        {"role": "assistant", "content": None,
         "tool_calls": [_call("c1", "send_email", {"to": "ana@acme.test", "subject": "Q2 report"})]},
        {"role": "tool", "tool_call_id": "c1", "name": "send_email", "content": '{"status": "sent"}'},
        {"role": "assistant", "content": "Sent the Q2 report."},
        {"role": "user", "content": "No, I said the Q3 report, not Q2."},
        {"role": "assistant", "content": "Sorry, sending Q3 now."},
    ], [{"index": 0, "tool_calls": [{"id": "c1", "name": "send_email", "arguments": {
        "to": "ana@acme.test", "subject": "Q2 report"}}], "tool_results": [
        {"call_id": "c1", "name": "send_email", "content": '{"status": "sent"}'}]},
        {"index": 1, "content": "Sent the Q2 report."}, {"index": 2, "content": "Sorry, sending Q3 now."}])
    failing = _trace("weather_lookup", 1, [
        {"role": "user", "content": "What's the weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [_call("w1", "get_weather", {"city": "Lyon"})]},
        {"role": "tool", "tool_call_id": "w1", "name": "get_weather", "content": '{"temp_c": 21}'},
        {"role": "assistant", "content": "It is 21°C."},
    ], [{"index": 0, "tool_calls": [{"id": "w1", "name": "get_weather", "arguments": {"city": "Lyon"}}],
         "tool_results": [{"call_id": "w1", "name": "get_weather", "content": '{"temp_c": 21}'}]},
        {"index": 1, "content": "It is 21°C."}])
    passing = _trace("greeting", 0, [{"role": "user", "content": "Say hi"},
                                     {"role": "assistant", "content": "hi"}], [{"index": 0, "content": "hi"}])
    folder.mkdir(parents=True)
    lines = [json.dumps(t) for t in (corrected, failing, passing)]
    (folder / "traces.jsonl").write_text("\n".join(lines) + "\n")
    scores = [_score("email_report", 0, 1.0), _score("weather_lookup", 1, 0.0), _score("greeting", 0, 1.0)]
    (folder / "scores.jsonl").write_text("\n".join(json.dumps(s) for s in scores) + "\n")
    return folder / "traces.jsonl"


def _suite(root: Path, with_seed: bool = False) -> Path:
    root.mkdir(parents=True)
    (root / "schema.json").write_text("{}")
    if with_seed:
        (root / "tool_use").mkdir()
        (root / "tool_use" / "weather_lookup.yaml").write_text(SEED_CASE)
    return root


def _drafts(dest: Path) -> dict[str, EvalCase]:
    return {c.id: c for c in (load_case_file(p) for p in sorted(dest.glob("*.yaml")))}


def test_correction_heuristic() -> None:
    assert is_correction("No, I said the Q3 report")
    assert is_correction("That's not what I asked for")
    assert is_correction("Actually, use Celsius")
    assert is_correction("this is wrong")
    assert not is_correction("Thanks! Now email it to Bob.")
    assert not is_correction("Nothing else, thanks")
    messages = normalize_messages([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                                   {"role": "user", "content": "wrong file"}])
    assert cut_point(messages) == (0, 2)


def test_own_traces_draft_failures_and_corrections(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    root = _suite(tmp_path / "evals")
    traces = _own_run(tmp_path / "outputs" / "abc")
    assert mine.main(["traces", str(traces), "--root", str(root), "--dest", str(root / "mined")]) == 0
    out = capsys.readouterr().out
    assert "2 drafted, 0 duplicate, 1 skipped (passing)" in out
    drafts = _drafts(root / "mined")
    assert len(drafts) == 2
    corrected = next(c for c in drafts.values() if c.provenance.ref == "email_report#0")
    assert corrected.id.startswith("mined_email_the_q3_report_to_ana_acme_test_")
    assert corrected.status == "draft" and corrected.tier == "hillclimb"
    assert corrected.tags == ["mined", "tool_use"]
    assert corrected.description == "Mined from traces: Email the Q3 report to ana@acme.test"
    # cut at the last user turn before the correction; the system prompt is dropped
    assert [(m.role, m.content) for m in corrected.input.messages] == [
        ("user", "Email the Q3 report to ana@acme.test")]
    assert corrected.success[0].to_yaml() == {"llm_judge": {"criteria": [
        "The agent does what the user asked: No, I said the Q3 report, not Q2."]}}
    assert (corrected.ideal.steps, corrected.ideal.tool_calls) == (2, 1)
    email = {t.name: t for t in corrected.environment.tools}["send_email"]
    assert email.parameters == {"type": "object"}
    assert email.responses[0].when == {"to": "ana@acme.test", "subject": "Q2 report"}
    assert email.responses[0].value == {"status": "sent"}
    assert "default" in email.responses[-1].model_fields_set
    # no original case: the final files stand in for the seed, and the notes say so
    assert corrected.environment.files == {"/out.txt": "final state"}
    assert "final state" in corrected.provenance.notes
    assert len(corrected.provenance.digest) == 64 and corrected.id.endswith(corrected.provenance.digest[:6])
    text = (root / "mined" / f"{corrected.id}.yaml").read_text()
    assert text.splitlines()[0] == SCHEMA_LINE
    failing = next(c for c in drafts.values() if c.provenance.ref == "weather_lookup#1")
    assert "correctness 0; failed tool_called" in failing.provenance.notes
    assert failing.success[0].name == "llm_judge"


def test_original_case_supplies_environment_and_second_import_is_all_duplicates(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _suite(tmp_path / "evals", with_seed=True)
    traces = _own_run(tmp_path / "outputs" / "abc")
    assert mine.main(["traces", str(traces), "--root", str(root), "--dest", str(root / "mined")]) == 0
    out = capsys.readouterr().out
    # the failing weather rollout repeats the existing case's input: a duplicate, not a new draft
    assert "duplicate  weather_lookup#1: same user turns as weather_lookup" in out
    assert "1 drafted, 1 duplicate, 1 skipped (passing)" in out
    assert mine.main(["traces", str(traces), "--root", str(root), "--dest", str(root / "mined")]) == 0
    out = capsys.readouterr().out
    assert "0 drafted, 2 duplicate, 1 skipped (passing)" in out
    assert "same source digest as mined_email_the_q3_report" in out
    assert len(list((root / "mined").glob("*.yaml"))) == 1


def _langsmith_runs() -> list[dict[str, Any]]:
    """Two runs as LangSmith serialises them: one in LangChain lc-format, one in OpenAI format."""
    lc_human = {"lc": 1, "type": "constructor", "id": ["langchain", "schema", "messages", "HumanMessage"],
                "kwargs": {"content": "Find flights from Oslo to Rome on May 3"}}
    lc_ai = {"lc": 1, "type": "constructor", "id": ["langchain", "schema", "messages", "AIMessage"],
             "kwargs": {"content": "", "type": "ai", "tool_calls": [
                 {"name": "search_flights", "args": {"origin": "OSL", "dest": "FCO", "date": "2025-05-03"},
                  "id": "tc1", "type": "tool_call"}]}}
    lc_tool = {"lc": 1, "type": "constructor", "id": ["langchain", "schema", "messages", "ToolMessage"],
               "kwargs": {"content": '[{"flight": "SK123"}]', "type": "tool", "tool_call_id": "tc1",
                          "name": "search_flights"}}
    lc_answer = {"type": "ai", "content": [{"type": "text", "text": "Flight SK123 leaves at 9:00."}]}
    failing = {
        "id": "run-lc-1", "run_type": "chain", "error": None,
        "feedback_stats": {"correctness": {"n": 1, "avg": 0.0}},
        "inputs": {"messages": [lc_human]},
        "outputs": {"messages": [lc_human, lc_ai, lc_tool, lc_answer]},
        "child_runs": [
            {"id": "llm-1", "run_type": "llm", "dotted_order": "1", "extra": {"invocation_params": {"tools": [
                {"type": "function", "function": {"name": "search_flights", "description": "Search flights.",
                                                  "parameters": {"type": "object", "properties": {
                                                      "origin": {"type": "string"}}}}}]}}},
            {"id": "tool-1", "run_type": "tool", "name": "search_flights", "dotted_order": "2",
             "inputs": {"input": json.dumps({"origin": "OSL", "dest": "FCO", "date": "2025-05-03"})},
             "outputs": {"output": lc_tool}},
        ],
    }
    corrected = {
        "id": "run-oa-2", "run_type": "chain", "error": None, "feedback_stats": {},
        "inputs": {"messages": [
            {"role": "system", "content": "You book travel."},
            {"role": "user", "content": "Book a table for 2 at Nora tonight"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "b1", "type": "function",
                 "function": {"name": "book_table", "arguments": '{"name": "Nora", "people": 4}'}}]},
            {"role": "tool", "tool_call_id": "b1", "content": "booked for 4"},
            {"role": "assistant", "content": "Booked for 4 at Nora."},
            {"role": "user", "content": "That's not what I asked, it was 2 people"}]},
        "outputs": {"messages": [{"role": "assistant", "content": "Fixed: 2 people."}]},
        "child_runs": [],
    }
    passing = {"id": "run-ok-3", "inputs": {"input": "hello"}, "outputs": {"output": "hi"},
               "feedback_stats": {"user_score": {"n": 2, "avg": 1.0}}}
    return [failing, corrected, passing]


def test_langsmith_export_in_both_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _suite(tmp_path / "evals")
    export = tmp_path / "runs.json"
    export.write_text(json.dumps(_langsmith_runs()))
    assert mine.main(["langsmith", str(export), "--root", str(root)]) == 0
    assert "2 drafted, 0 duplicate, 1 skipped (passing)" in capsys.readouterr().out
    drafts = {c.provenance.ref: c for c in _drafts(root / "mined").values()}
    flights = drafts["run-lc-1"]
    assert flights.provenance.source == "langsmith"
    assert "feedback correctness=0" in flights.provenance.notes
    assert [m.content for m in flights.input.messages] == ["Find flights from Oslo to Rome on May 3"]
    (tool,) = flights.environment.tools
    assert (tool.name, tool.description) == ("search_flights", "Search flights.")
    assert tool.parameters["properties"] == {"origin": {"type": "string"}}
    assert tool.responses[0].when == {"origin": "OSL", "dest": "FCO", "date": "2025-05-03"}
    assert tool.responses[0].value == [{"flight": "SK123"}]
    assert (flights.ideal.steps, flights.ideal.tool_calls) == (2, 1)
    booking = drafts["run-oa-2"]
    assert [m.role for m in booking.input.messages] == ["user"]
    assert booking.success[0].to_yaml()["llm_judge"]["criteria"] == [
        "The agent does what the user asked: That's not what I asked, it was 2 people"]
    (book,) = booking.environment.tools
    assert book.responses[0].when == {"name": "Nora", "people": 4}
    assert book.responses[0].value == "booked for 4"
    assert "system messages dropped" in booking.provenance.notes


def test_near_identical_first_message_is_a_duplicate(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    root = _suite(tmp_path / "evals", with_seed=True)
    run = {"id": "r1", "error": "Timeout", "inputs": {"messages": [
        {"type": "human", "content": "  what's the weather in   PARIS? "}]}, "outputs": {}}
    export = tmp_path / "runs.json"
    export.write_text(json.dumps([run]))
    assert mine.main(["langsmith", str(export), "--root", str(root), "--dest", str(tmp_path / "out")]) == 0
    assert "duplicate  r1: same user turns as weather_lookup" in capsys.readouterr().out
    assert not (tmp_path / "out").exists()


def test_draft_round_trips_through_yaml(tmp_path: Path) -> None:
    root = _suite(tmp_path / "evals")
    export = tmp_path / "runs.json"
    export.write_text(json.dumps(_langsmith_runs()[:1]))
    mine.main(["langsmith", str(export), "--root", str(root)])
    (path,) = (root / "mined").glob("*.yaml")
    data = yaml.safe_load(path.read_text())
    assert list(data)[:5] == ["id", "description", "tags", "tier", "status"]
    assert EvalCase.model_validate(data).provenance.digest == data["provenance"]["digest"]


def test_run_id_fetch_uses_client_with_child_runs() -> None:
    calls: list[tuple[str, bool]] = []

    class Client:
        def read_run(self, run_id: str, load_child_runs: bool = False) -> SimpleNamespace:
            calls.append((run_id, load_child_runs))
            return SimpleNamespace(model_dump=lambda mode: {"id": run_id, "inputs": {}, "child_runs": []})

    assert fetch_runs(["abc"], client=Client()) == [{"id": "abc", "inputs": {}, "child_runs": []}]
    assert calls == [("abc", True)]


def test_run_id_without_api_key_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        mine.main(["langsmith", "--run-id", "abc"])
    assert exited.value.code == 2
    assert "LANGSMITH_API_KEY is not set" in capsys.readouterr().err


@pytest.mark.parametrize("content, message", [(None, "no traces file"),
                                              ("{oops\n{}\n", "line 1 is not a valid")])
def test_bad_traces_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None,
                                  message: str) -> None:
    path = tmp_path / "traces.jsonl"
    if content is not None:
        path.write_text(content)
    with pytest.raises(SystemExit) as exited:
        mine.main(["traces", str(path), "--root", str(_suite(tmp_path / "evals"))])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert message in err and str(path) in err and "fix:" in err


def test_malformed_langsmith_export_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "runs.json"
    path.write_text("[{")
    with pytest.raises(SystemExit) as exited:
        mine.main(["langsmith", str(path), "--root", str(_suite(tmp_path / "evals"))])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "malformed JSON" in err and f"{path}:1" in err


def test_original_case_environment_is_copied_for_a_multi_turn_correction() -> None:
    original = EvalCase.model_validate(yaml.safe_load(SEED_CASE))
    trace = Trace.model_validate(_trace("weather_lookup", 3, [
        {"role": "user", "content": "What's the weather in Paris?"},
        {"role": "assistant", "content": "Which Paris do you mean?"},
        {"role": "user", "content": "The one in Texas, for my cousin's wedding this weekend"},
        {"role": "assistant", "content": None, "tool_calls": [_call("w1", "get_weather", {"city": "Paris"})]},
        {"role": "tool", "tool_call_id": "w1", "name": "get_weather", "content": '{"temp_c": 18}'},
        {"role": "assistant", "content": "18°C in Paris, France."},
        {"role": "user", "content": "Wrong Paris: I said Texas."},
    ], []))
    data = draft_case(from_trace(trace, Score.model_validate(_score("weather_lookup", 3, 1.0)), original))
    case = EvalCase.model_validate(data)
    assert [m.role for m in case.input.messages] == ["user", "assistant", "user"]
    assert case.environment == original.environment
    assert case.success[0].to_yaml()["llm_judge"]["criteria"] == [
        "The agent does what the user asked: Wrong Paris: I said Texas."]
    assert (case.ideal.steps, case.ideal.tool_calls) == (2, 1)
    assert "copied from the original case" in case.provenance.notes
    assert Deduplicator([original]).check(data) is None


def test_run_id_cli_reads_runs_through_the_langsmith_client(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import datetime
    import uuid

    import langsmith
    from langsmith import schemas

    run_id = uuid.UUID(int=7)
    start = datetime.datetime(2026, 1, 1)
    question = {"type": "human", "content": "Search the docs for rate limits"}
    tool_run = schemas.Run(id=uuid.UUID(int=8), name="search_docs", start_time=start, run_type="tool",
                           trace_id=run_id, inputs={"query": "rate limits"}, outputs={"output": "60/min"})
    run = schemas.Run(
        id=run_id, name="agent", start_time=start, run_type="chain", trace_id=run_id,
        error="RateLimitError: 429", inputs={"messages": [question]},
        outputs={"messages": [question, {"type": "ai", "content": "Error."}]}, child_runs=[tool_run])
    asked: list[tuple[str, bool]] = []

    class FakeClient:
        def read_run(self, rid: str, load_child_runs: bool = False) -> schemas.Run:
            asked.append((rid, load_child_runs))
            return run

    monkeypatch.setenv("LANGSMITH_API_KEY", "test-key")
    monkeypatch.setattr(langsmith, "Client", FakeClient)
    root = _suite(tmp_path / "evals")
    assert mine.main(["langsmith", "--run-id", str(run_id), "--root", str(root)]) == 0
    assert asked == [(str(run_id), True)]
    assert "1 drafted" in capsys.readouterr().out
    (case,) = _drafts(root / "mined").values()
    assert case.provenance.ref == str(run_id)
    assert "run error: RateLimitError: 429" in case.provenance.notes
    assert case.environment.tools[0].responses[0].when == {"query": "rate limits"}
    assert case.environment.tools[0].responses[0].value == "60/min"
