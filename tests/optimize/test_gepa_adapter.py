"""GEPA's adapter over our evaluation (benchmarks/gepa_side_by_side.py), on a tiny scripted workspace.

Two cases whose scripted agent acts only when the system prompt holds PHRASE, and one whose every model
call fails (its agent has no script). Offline and fast: the scripted double, no real model.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("gepa")

from benchmarks.gepa_side_by_side import (  # noqa: E402
    PHRASE,
    HarnessAdapter,
    ProposerLM,
    RolloutStop,
    Workspace,
    scripted_case,
    scripted_workspace,
)
from betterharness.harness.templates import SYSTEM_PROMPT  # noqa: E402
from betterharness.store.folder import RunFolder  # noqa: E402


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    cases = [scripted_case("task_0"), scripted_case("task_1"), scripted_case("task_broken", broken=True)]
    overrides = scripted_workspace(tmp_path / "ws", cases)
    return Workspace.of([*overrides, "optimizer=hillclimb", "optimizer.epochs=1", "runtime.progress=false",
                         f"runtime.outputs={tmp_path / 'out'}",
                         f"+roles.proposer.options.responses_file={tmp_path / 'ws' / 'gepa.yaml'}"])


@pytest.fixture
def adapter(workspace: Workspace, tmp_path: Path) -> Iterator[HarnessAdapter]:
    made = HarnessAdapter(workspace.config, workspace.experiment.harness, workspace.experiment.cases.cases,
                          RunFolder(tmp_path / "gepa"), budget=12)
    yield made
    made.close()


def fixed(adapter: HarnessAdapter) -> dict[str, str]:
    candidate = adapter.seed_candidate()
    candidate[SYSTEM_PROMPT] += f"\n- {PHRASE}\n"
    return candidate


def test_evaluate_scores_every_case_and_survives_a_failing_model_call(adapter: HarnessAdapter,
                                                                      workspace: Workspace) -> None:
    cases = workspace.experiment.cases.cases
    assert sorted(adapter.seed_candidate()) == [SYSTEM_PROMPT, "tool:do_task"]
    assert adapter.harness_of(adapter.seed_candidate()).hash == workspace.experiment.harness.hash

    seed = adapter.evaluate(cases, adapter.seed_candidate(), capture_traces=True)
    assert len(seed.scores) == len(seed.outputs) == len(seed.trajectories) == len(cases)
    assert all(0.0 <= s <= 1.0 for s in seed.scores) and seed.scores == [0.0, 0.0, 0.0]
    broken = next(t for t in seed.trajectories if t.case.id == "task_broken")
    assert broken.scores[0].errored and "script is exhausted" in (broken.scores[0].error or "")
    assert seed.num_metric_calls == 3 and adapter.counter.rollouts == 3

    better = adapter.evaluate(cases, fixed(adapter))
    by_id = dict(zip([c.id for c in cases], better.scores, strict=True))
    assert by_id == {"task_0": 1.0, "task_1": 1.0, "task_broken": 0.0}
    assert better.trajectories is None and adapter.counter.rollouts == 6

    again = adapter.evaluate(cases, fixed(adapter))  # stored rollouts are free; the errored one runs again
    assert again.scores == better.scores and again.num_metric_calls == 1 and adapter.counter.rollouts == 7
    assert adapter.counter.nominal == 9


def test_a_candidate_that_does_not_render_scores_zero_without_a_rollout(adapter: HarnessAdapter,
                                                                         workspace: Workspace) -> None:
    candidate = adapter.seed_candidate()
    candidate[SYSTEM_PROMPT] = "{% if tools %}unclosed"
    result = adapter.evaluate(workspace.experiment.cases.cases, candidate, capture_traces=True)
    assert result.scores == [0.0, 0.0, 0.0] and result.num_metric_calls == 0 and adapter.counter.rollouts == 0
    dataset = adapter.make_reflective_dataset(candidate, result, [SYSTEM_PROMPT])
    assert "do not render" in dataset[SYSTEM_PROMPT][0]["Feedback"]


def test_the_reflective_dataset_holds_the_failing_cases_feedback(adapter: HarnessAdapter,
                                                                 workspace: Workspace) -> None:
    cases = workspace.experiment.cases.cases
    seed = adapter.evaluate(cases, adapter.seed_candidate(), capture_traces=True)
    dataset = adapter.make_reflective_dataset(adapter.seed_candidate(), seed, [SYSTEM_PROMPT, "tool:do_task"])
    assert set(dataset) == {SYSTEM_PROMPT, "tool:do_task"}
    records = dataset[SYSTEM_PROMPT]
    assert len(records) == 3 and {"Inputs", "Generated Outputs", "Feedback"} <= set(records[0])
    failing = next(r for r in records if "Please do task_0" in r["Inputs"]["User asked"])
    assert failing["Feedback"].startswith("Incorrect") and "tool_called" in failing["Feedback"]
    assert "I would call the tool." in failing["Generated Outputs"]
    crashed = next(r for r in records if "task_broken" in r["Inputs"]["User asked"])
    assert "could not finish" in crashed["Feedback"] and "script is exhausted" in crashed["Feedback"]


def test_gepa_optimizes_through_the_adapter_within_the_counted_budget(adapter: HarnessAdapter,
                                                                      workspace: Workspace, tmp_path: Path) -> None:
    import gepa

    from betterharness.cli.run import proposer_client

    cases = [c for c in workspace.experiment.cases.cases if c.id != "task_broken"]
    lm = ProposerLM(proposer_client(workspace.config), adapter.loop)
    stop = RolloutStop(adapter, 12)
    result = gepa.optimize(seed_candidate=adapter.seed_candidate(), trainset=cases, valset=cases, adapter=adapter,
                           reflection_lm=lm, max_metric_calls=12, stop_callbacks=[stop], seed=0,
                           cache_evaluation=True, logger=_Quiet(), display_progress_bar=False,
                           reflection_minibatch_size=2)
    assert PHRASE in result.best_candidate[SYSTEM_PROMPT]
    assert result.val_aggregate_scores[result.best_idx] == 1.0
    assert result.total_metric_calls == adapter.counter.rollouts <= 12
    assert lm.calls >= 3  # the system prompt, the tool, the system prompt again (round robin)


class _Quiet:
    def log(self, message: str) -> None:
        pass
