"""The runner's budget: caps are checked before a rollout starts, so they are never passed."""

from __future__ import annotations

from pathlib import Path

import pytest

from betterharness.config.schema import BudgetConfig, ExperimentConfig, HarnessConfig, ModelConfig, RuntimeConfig
from betterharness.evals.case import EvalCase
from betterharness.harness.templates import load_harness
from betterharness.runner import Budget, BudgetExceeded, run_rollouts
from betterharness.store import RolloutKey, RolloutStore


def test_the_rollout_cap_counts_what_is_already_recorded() -> None:
    budget = Budget(BudgetConfig(max_rollouts=5), used=3)
    assert budget.refusal(2) is None
    assert "rollout budget 5 reached" in str(budget.refusal(3))


def test_the_dollar_cap_reserves_the_mean_cost_of_rollouts_in_flight() -> None:
    budget = Budget(BudgetConfig(max_cost_usd=0.01))
    budget.start()
    assert budget.must_wait()  # no cost known yet: one rollout at a time
    budget.settle(0.004)
    assert not budget.must_wait() and budget.refusal() is None
    budget.start()
    assert "expected per rollout" in str(budget.refusal())  # 0.004 spent + 0.004 in flight + 0.004 > 0.01
    budget.settle(0.004)
    assert "cost budget $0.01 reached" in str(budget.refusal())


def test_the_mean_cost_ignores_what_was_spent_before() -> None:
    budget = Budget(BudgetConfig(max_cost_usd=0.05), spent_usd=0.03)  # a resumed run, or the proposer
    budget.start()
    budget.settle(0.004)
    budget.start()
    assert budget.refusal() is None  # 0.034 + 2 × 0.004 (the mean of this run's rollouts) <= 0.05


def _case(index: int) -> EvalCase:
    return EvalCase.model_validate({
        "id": f"c{index}", "description": "Answers.", "tags": ["t"],
        "input": {"messages": [{"role": "user", "content": "Hi"}]},
        "success": [{"final_text_contains": "done"}],
        "ideal": {"steps": 1, "tool_calls": 0, "trajectory": [{"content": "done"}]},
    })


@pytest.mark.parametrize("concurrency", [1, 8])
async def test_run_rollouts_never_passes_a_dollar_cap(tmp_path: Path, concurrency: int) -> None:
    model = ModelConfig(id="scripted/replay", options={"cost_usd": 0.003})
    config = ExperimentConfig(model=model, harness=HarnessConfig(vars={"agent_name": "Ada"}),
                              runtime=RuntimeConfig(outputs=str(tmp_path), concurrency=concurrency,
                                                    progress=False, cache=False))
    store = RolloutStore(tmp_path / "run")
    budget = Budget(BudgetConfig(max_cost_usd=0.01))
    with pytest.raises(BudgetExceeded, match="cost budget"):
        await run_rollouts([_case(i) for i in range(10)], load_harness(config.harness), config, store, epochs=1,
                           budget=budget)
    assert budget.spent_usd <= 0.01 and store.cost_usd() <= 0.01
    assert len(store) == 3  # 3 × $0.003; a fourth would pass the cap


async def test_every_role_warms_up_before_the_first_rollout_starts_its_clock(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from betterharness.models.scripted import ScriptedClient

    warmed: list[tuple[str, float]] = []
    monkeypatch.setattr(ScriptedClient, "warm_up", lambda self: warmed.append((self.role, time.time())))
    config = ExperimentConfig(model=ModelConfig(id="scripted/replay"), harness=HarnessConfig(vars={"agent_name": "A"}),
                              runtime=RuntimeConfig(outputs=str(tmp_path), progress=False, cache=False))
    store = RolloutStore(tmp_path / "run")
    await run_rollouts([_case(0)], load_harness(config.harness), config, store, epochs=1)
    trace = store.trace(RolloutKey.of(store.scores()[0]))
    assert [role for role, _ in warmed] == ["agent", "judge", "user"]
    assert trace is not None and all(at <= trace.started_at for _, at in warmed)


def test_the_litellm_provider_warms_up_by_importing_litellm() -> None:
    import subprocess
    import sys

    probe = ("import sys; from betterharness.models import connect; from betterharness.config.schema import "
             "ModelConfig, RuntimeConfig; c = connect(ModelConfig(id='openai/x', api_base='http://127.0.0.1:1'), "
             "RuntimeConfig()); assert 'litellm' not in sys.modules; c.warm_up(); print('litellm' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         env={"BH_OFFLINE": "1", "LITELLM_LOCAL_MODEL_COST_MAP": "True", "PATH": ""})
    assert out.stdout.strip() == "True", out.stderr


def test_resume_runs_errored_rollouts_again_but_keeps_scored_failures(tmp_path: Path) -> None:
    from betterharness.agent.trace import Trace
    from betterharness.runner import pending
    from betterharness.scoring.score import Score

    harness = load_harness(HarnessConfig(vars={"agent_name": "Ada"}))
    store = RolloutStore(tmp_path / "run")
    outcomes = {"c0": (None, None), "c1": ("wall-time cap of 1s reached", None),
                "c2": ("server down", "connection"), "c3": ("judge unreachable", "judge")}
    for case_id, (error, kind) in outcomes.items():
        store.add(Trace(case_id=case_id, model="m", harness_hash=harness.hash, error=error, error_kind=kind),
                  Score(case_id=case_id, tags=["t"], tier="hillclimb", model="m", harness_hash=harness.hash,
                        correctness=0.0, error=error, error_kind=kind))
    todo = pending([_case(i) for i in range(5)], harness, "m", store, epochs=1)
    assert [case.id for case, _ in todo] == ["c2", "c3", "c4"]  # c1's timeout is a scored failure
