"""The shipped eval suite has the shape the optimizer needs: enough cases per tag, both tiers in every
tag, unique prefixed ids, an ideal trajectory everywhere, and scripts that cover every judge and
simulated-user call, so the suite replays deterministically under ``model=scripted``."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from betterharness.evals.assertions.judge import LLMJudge
from betterharness.evals.case import EvalCase
from betterharness.evals.load import load_all
from betterharness.paths import evals_dir

NOT_SHIPPED = {"imported", "mined"}
TAGS = ["tool_use", "followup_quality", "file_operations", "retrieval", "memory", "summarization", "conversation"]
PREFIX = {tag: f"{tag}_" for tag in TAGS} | {"file_operations": "file_ops_", "followup_quality": "followup_"}
"""The id prefix of each tag's cases (two tags use the short form of the first shipped examples)."""
MIN_CASES, MIN_PER_TAG = 48, 6
MAX_FILE_BYTES = 60_000
SCHEMA_LINE = "# yaml-language-server: $schema=../schema.json"


def _shipped() -> list[tuple[EvalCase, Path]]:
    root = evals_dir()
    loaded = load_all(root)
    assert not loaded.errors, "\n".join(error.render() for error in loaded.errors)
    pairs = [(case, loaded.files[case.id]) for case in loaded.cases]
    return sorted(((c, p) for c, p in pairs if p.relative_to(root).parts[0] not in NOT_SHIPPED),
                  key=lambda pair: pair[0].id)


SHIPPED = _shipped()
CASES = [case for case, _ in SHIPPED]
IDS = [case.id for case in CASES]


def _judge_criteria(case: EvalCase) -> int:
    return sum(len(a.criteria) if isinstance(a.criteria, list) else 1
               for a in case.success if isinstance(a, LLMJudge))


def test_suite_size_and_tags() -> None:
    assert len(CASES) >= MIN_CASES, f"{len(CASES)} cases, want at least {MIN_CASES}"
    per_tag = Counter(case.category for case in CASES)
    short = {tag: per_tag[tag] for tag in TAGS if per_tag[tag] < MIN_PER_TAG}
    assert not short, f"tags below {MIN_PER_TAG} cases: {short}"
    assert set(per_tag) <= set(TAGS), f"unknown primary tags: {set(per_tag) - set(TAGS)}"


@pytest.mark.parametrize("tag", TAGS)
def test_every_tag_has_both_tiers(tag: str) -> None:
    tiers = {case.tier for case in CASES if case.category == tag}
    assert tiers == {"regression", "hillclimb"}, f"{tag}: tiers {sorted(tiers)}"


def test_ids_are_unique() -> None:
    duplicates = [i for i, n in Counter(IDS).items() if n > 1]
    assert not duplicates


@pytest.mark.parametrize(("case", "path"), SHIPPED, ids=IDS)
def test_case_shape(case: EvalCase, path: Path) -> None:
    folder = path.relative_to(evals_dir()).parts[0]
    assert case.category == folder, f"primary tag {case.category!r} but the file is under {folder}/"
    assert case.id.startswith(PREFIX[folder]), f"id {case.id!r} should start with {PREFIX[folder]!r}"
    assert path.stem == case.id, f"file {path.name} should be named {case.id}.yaml"
    assert set(case.tags) <= set(TAGS), f"unknown tags {set(case.tags) - set(TAGS)}"
    assert case.ideal.trajectory, "every case declares its ideal trajectory"
    assert case.script is None or case.script.agent is None, "the agent replays the ideal trajectory itself"
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == SCHEMA_LINE
    assert len(text.encode("utf-8")) < MAX_FILE_BYTES, f"{path.name} is {len(text.encode())} bytes"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_scripts_cover_judge_and_user(case: EvalCase) -> None:
    judges = len(case.script.judge or []) if case.script else 0
    assert judges == _judge_criteria(case), "script.judge needs one verdict per llm_judge criterion"
    user = case.input.user
    if user is None:
        assert not (case.script and case.script.user), "script.user without a simulated user"
        return
    replies = user.replies if user.replies is not None else (case.script.user if case.script else None)
    assert replies, "a simulated user needs input.user.replies or script.user to replay"
    assert replies[-1] == user.stop_signal, "the replayed user ends the conversation with its stop signal"
    assert len(replies) <= user.max_turns - 1, "more replies than max_turns allows"
    agent_turns = sum(1 for step in case.ideal.trajectory or [] if not step.tool_calls)
    assert agent_turns == len(replies), "each final agent message is answered by one user reply"


def test_conversation_cases_use_a_simulated_user() -> None:
    missing = [case.id for case in CASES if case.category == "conversation" and case.input.user is None]
    assert not missing
