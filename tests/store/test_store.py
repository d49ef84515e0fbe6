"""The store: format versions on every file, rollouts with an index, and scores final when written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from betterharness.agent.trace import Trace
from betterharness.formats import FORMAT_VERSION
from betterharness.scoring.score import Score
from betterharness.store import LatencyBook, RolloutKey, RolloutStore, RunFolder, StoreError
from betterharness.store.format import load_json, read_jsonl, save_json


def _pair(case_id: str, epoch: int = 0, passed: bool = True, wall_s: float = 2.0) -> tuple[Trace, Score]:
    trace = Trace(case_id=case_id, epoch=epoch, model="m", harness_hash="h", final_text=f"answer {case_id}",
                  wall_s=wall_s)
    score = Score(case_id=case_id, epoch=epoch, tags=["t"], tier="hillclimb", model="m", harness_hash="h",
                  correctness=1.0 if passed else 0.0, wall_s=wall_s)
    return trace, score


def test_every_json_document_carries_the_format_version(tmp_path: Path) -> None:
    save_json(tmp_path / "doc.json", {"a": 1})
    assert json.loads((tmp_path / "doc.json").read_text())["format_version"] == FORMAT_VERSION
    assert load_json(tmp_path / "doc.json") == {"a": 1}


def test_a_file_from_a_newer_release_is_refused_and_an_old_one_is_read(tmp_path: Path) -> None:
    (tmp_path / "new.json").write_text(json.dumps({"format_version": FORMAT_VERSION + 1, "a": 1}))
    with pytest.raises(StoreError) as info:
        load_json(tmp_path / "new.json")
    assert "newer betterharness" in info.value.problem and info.value.fix
    (tmp_path / "old.json").write_text(json.dumps({"a": 1}))  # written before versioning
    assert load_json(tmp_path / "old.json") == {"a": 1}
    trace, _ = _pair("c")
    newer = trace.model_copy(update={"format_version": FORMAT_VERSION + 1})
    (tmp_path / "traces.jsonl").write_text(newer.model_dump_json() + "\n")
    with pytest.raises(StoreError, match="newer betterharness"):
        read_jsonl(tmp_path / "traces.jsonl", Trace)
    reshaped = {"format_version": FORMAT_VERSION + 1, "case": "c", "renamed_field": 1}  # no longer validates
    (tmp_path / "scores.jsonl").write_text(json.dumps(reshaped) + "\n")
    with pytest.raises(StoreError, match="newer betterharness"):
        RolloutStore(tmp_path)  # refused, not skipped and silently re-run


def test_rollouts_are_indexed_and_read_back_after_reopening(tmp_path: Path) -> None:
    store = RolloutStore(tmp_path)
    for case_id in ("a", "b", "c"):
        store.add(*_pair(case_id))
    assert store.trace(RolloutKey("h", "m", "b", 0)).final_text == "answer b"  # type: ignore[union-attr]
    store.add(*_pair("d"))
    assert store.trace(RolloutKey("h", "m", "d", 0)).final_text == "answer d"  # type: ignore[union-attr]
    store.close()
    again = RolloutStore(tmp_path)
    assert len(again) == 4 and [s.case_id for s in again.scores(case_ids=["a", "c"])] == ["a", "c"]
    assert again.trace(RolloutKey("h", "m", "c", 0)).final_text == "answer c"  # type: ignore[union-attr]
    assert again.trace(RolloutKey("h", "m", "zz", 0)) is None
    lines = (tmp_path / "traces.jsonl").read_text().splitlines()
    assert len(lines) == 4 and all(json.loads(line)["format_version"] == FORMAT_VERSION for line in lines)


def test_a_torn_last_line_is_skipped_and_the_next_append_starts_a_new_line(tmp_path: Path) -> None:
    store = RolloutStore(tmp_path)
    store.add(*_pair("a"))
    store.close()
    with (tmp_path / "scores.jsonl").open("a") as f:
        f.write('{"case_id": "torn')  # killed mid-write
    with (tmp_path / "traces.jsonl").open("a") as f:
        f.write('{"case_id": "torn')
    store = RolloutStore(tmp_path)
    assert len(store) == 1
    store.add(*_pair("b"))
    store.close()
    reopened = RolloutStore(tmp_path)
    assert sorted(s.case_id for s in reopened.scores()) == ["a", "b"]
    assert reopened.trace(RolloutKey("h", "m", "b", 0)) is not None


def test_the_latency_book_rates_a_score_before_it_is_written(tmp_path: Path) -> None:
    book = LatencyBook(tmp_path)
    _, slow = _pair("a", wall_s=4.0)
    _, fast = _pair("a", epoch=1, wall_s=2.0)
    _, failed = _pair("a", epoch=2, passed=False, wall_s=1.0)
    assert book.rate(slow).latency_ratio == 1.0  # the first correct rollout is the ideal so far
    assert book.rate(fast).latency_ratio == 1.0
    assert book.rate(failed).latency_ratio == 0.5  # a failing rollout never sets the ideal
    book.save()
    assert LatencyBook(tmp_path).fastest("m", "a") == 2.0


def test_run_folder_documents_round_trip(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path / "run")
    folder.start({"config": {"epochs": 1}, "hash": "abc"})
    folder.finish(status="complete", ran=1)
    record = folder.read_record()
    assert record is not None and record["status"] == "complete" and record["hash"] == "abc"
    folder.save_step(3, "note.txt", "hello")
    assert folder.load_step_text(3, "note.txt") == "hello"
    assert (tmp_path / "run" / "iterations" / "003" / "note.txt").exists()


def test_one_writer_per_run_folder(tmp_path: Path) -> None:
    import os

    folder = RunFolder(tmp_path / "run")
    with folder.lock():
        with pytest.raises(StoreError) as info:
            with RunFolder(tmp_path / "run").lock():
                pass
        assert f"already running in PID {os.getpid()}" in info.value.problem and "wait_for_lock" in str(info.value.fix)
    with RunFolder(tmp_path / "run").lock():  # released when the first run ended
        pass


def test_a_kill_between_trace_and_score_leaves_no_duplicate_row(tmp_path: Path) -> None:
    store = RolloutStore(tmp_path)
    store.add(*_pair("a"))
    store.close()
    trace, score = _pair("b")
    with (tmp_path / "traces.jsonl").open("a") as f:
        f.write(trace.model_dump_json() + "\n")  # killed before the score was written
    resumed = RolloutStore(tmp_path)
    assert resumed.score(RolloutKey.of(score)) is None  # so the rollout runs again
    resumed.add(trace, score)
    resumed.close()
    keys = [json.loads(line)["case_id"] for line in (tmp_path / "traces.jsonl").read_text().splitlines()]
    assert keys == ["a", "b"]  # one row per rollout
    assert "answer b" in (tmp_path / "traces.orphans.jsonl").read_text()  # kept aside, not lost


def test_a_torn_fragment_is_kept_aside_and_strict_readers_skip_it(tmp_path: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    store = RolloutStore(tmp_path)
    store.add(*_pair("a"))
    store.close()
    with (tmp_path / "scores.jsonl").open("a") as f:
        f.write('{"case_id": "torn')
    store = RolloutStore(tmp_path)
    store.add(*_pair("b"))
    store.close()
    assert (tmp_path / "scores.jsonl.torn").read_text() == '{"case_id": "torn\n'
    assert [s.case_id for s in read_jsonl(tmp_path / "scores.jsonl", Score, strict=True)] == ["a", "b"]
    lines = [_pair("a")[1].model_dump_json(), '{"torn', _pair("b")[1].model_dump_json()]
    (tmp_path / "old.jsonl").write_text("\n".join(lines))
    assert [s.case_id for s in read_jsonl(tmp_path / "old.jsonl", Score, strict=True)] == ["a", "b"]
    assert "torn line" in caplog.text
