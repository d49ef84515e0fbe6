"""The hardening campaign (benchmarks/hardening_campaign.py) on a small subset, asserting its aim.

Every bad-input class clear, no row lost or duplicated after kill -9, every provider fault with the
right outcome, no hang and every time limit on time. A defect found and not fixed yet would be marked
``xfail(strict=True)`` with ``_known``, so the test turns red the day it is fixed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.hardening_campaign import (
    BadInput,
    HangResult,
    bad_input_classes,
    fault_kinds,
    kill_points,
    run_bad_input,
    run_fault,
    run_hangs,
    run_kill_point,
)

pytestmark = pytest.mark.slow


def _known(name: str, reason: str) -> object:
    return pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=f"campaign defect: {reason}"), id=name)


BAD_INPUTS = [
    "unknown group option (model=nope)",
    "override syntax error (epochs=[1)",
    "filter selects zero cases (evals.ids=[nothing_*])",
    "absolute evals.files glob (/etc/**/*.yaml)",
    "{% include %} in a harness template",
    "YAML alias bomb in a mock default:",
    "mock template with a Jinja syntax error",
    ".yml case file (must load and run)",
    "invalid JSONL to import",
    "huge range in a harness template",
    "unset model.api_key_env variable",
]


def _one(items: list[BadInput], name: str) -> BadInput:
    found = [item for item in items if item.name.startswith(name)]
    assert len(found) == 1, f"no single bad-input class named {name!r}"
    return found[0]


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_a_bad_input_class_gets_a_clear_error(name: str, tmp_path: Path) -> None:
    result = run_bad_input(_one(bad_input_classes(), name), tmp_path)
    assert result.clear, result.problems


def test_the_judge_of_clear_errors_can_fail(tmp_path: Path) -> None:
    probe = BadInput("a message that does not say what we want", "config", ["epochs=abc"],
                     names=["text no message holds"], fix=["nor this"])
    result = run_bad_input(probe, tmp_path)
    assert not result.clear and result.exit == 2 and len(result.problems) == 2


@pytest.mark.parametrize("name", ["mid-run, after 3 rows"])
def test_kill_9_loses_and_duplicates_no_row(name: str, tmp_path: Path) -> None:
    point = next(p for p in kill_points(quick=True) if p.name == name)
    result = run_kill_point(point, tmp_path)
    assert result.landed == result.kills, "the kill did not hit a running process"
    assert (result.lost, result.duplicated, result.torn_rows) == (0, 0, 0), result
    assert result.final_exit == 0 and result.status == "complete" and not result.problems, result.problems


FAULTS = [
    "401 on every call (refused key)",
    "500 (twice)",
    "empty choices (once)",
    "403 on every call (permission denied)",
]


@pytest.mark.parametrize("name", FAULTS)
def test_a_provider_fault_gets_the_right_outcome(name: str, tmp_path: Path) -> None:
    fault = next(f for f in fault_kinds() if f.name == name)
    result = run_fault(fault, tmp_path)
    assert result.right, result.problems
    assert result.scored_failures == 0


@pytest.fixture(scope="module")
def hangs(tmp_path_factory: pytest.TempPathFactory) -> list[HangResult]:
    return run_hangs(tmp_path_factory.mktemp("hangs"))


def test_no_hang_attempt_hangs_a_run(hangs: list[HangResult]) -> None:
    assert len(hangs) >= 12
    assert [r.case_id for r in hangs if r.hang] == []


def test_each_hang_attempt_alone_ends_within_its_limit(hangs: list[HangResult]) -> None:
    late = [(r.case_id, r.alone.wall_s) for r in hangs if r.alone.wall_s is None or r.alone.wall_s > r.limit_s + 0.5
            ]
    assert late == []


def test_a_slow_mock_template_cannot_delay_its_own_time_limit(hangs: list[HangResult]) -> None:
    rendering = next(r for r in hangs if r.case_id == "hang_mock_range")
    assert rendering.alone.wall_s is not None and rendering.alone.wall_s <= rendering.limit_s + 0.5


def test_cases_beside_a_pathological_one_keep_their_outcome(hangs: list[HangResult]) -> None:
    assert [r.case_id for r in hangs if r.overran or r.wrong_outcome] == []
