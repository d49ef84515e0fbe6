"""Every shipped case's ideal trajectory is achievable: replayed by the scripted model through the real
agent loop, tool environment and scoring, it scores correctness 1.0 at exactly the ideal cost.

The scripted test double replays ``ideal.trajectory`` (or ``script.agent``) as the agent, ``script.judge``
as the LLM judge and ``script.user`` as the simulated user, so a case fails here when its ideal path
trips one of its own assertions, calls a tool with arguments its schema or mocks reject (an ideal path
never hits a tool error), or takes a different number of steps or tool calls than it declares.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from betterharness.config.load import validate_config
from betterharness.config.schema import ExperimentConfig
from betterharness.evals.case import EvalCase
from betterharness.evals.load import load_all
from betterharness.harness.templates import load_harness
from betterharness.paths import conf_dir, evals_dir
from betterharness.runner import run_rollouts
from betterharness.store import RolloutStore

NOT_SHIPPED = {"imported", "mined"}
"""Folders of generated cases; the hand-written suite is everything else under evals/."""


def shipped_cases() -> list[EvalCase]:
    """The hand-written cases under ``evals/`` (any status), sorted by id."""
    root = evals_dir()
    loaded = load_all(root)
    return sorted(
        (case for case in loaded.cases
         if loaded.files[case.id].relative_to(root).parts[0] not in NOT_SHIPPED),
        key=lambda case: case.id,
    )


CASES = shipped_cases()


@lru_cache(maxsize=1)
def scripted_config(outputs: str) -> ExperimentConfig:
    """The default experiment with every role on the scripted test double."""
    overrides = ["model=scripted", "roles=scripted", "evals=all", "runtime.progress=false",
                 f"runtime.outputs={outputs}"]
    with initialize_config_dir(version_base="1.3", config_dir=str(conf_dir())):
        cfg = compose("config", overrides=overrides)
    container = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(container, dict)
    return validate_config(container)


def test_every_case_file_loads() -> None:
    """No shipped case file is skipped as invalid (the runner would only warn)."""
    loaded = load_all(evals_dir())
    assert not loaded.errors, "\n".join(error.render() for error in loaded.errors)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_ideal_trajectory_replays_at_full_marks(case: EvalCase, tmp_path: Path) -> None:
    config = scripted_config(str(tmp_path.parent / "bh_suite_replay"))
    harness = load_harness(config.harness)
    store = RolloutStore(tmp_path / "run")
    scores, stats = await run_rollouts([case], harness, config, store, epochs=1)
    assert stats.ran == 1
    (score,) = scores
    failed = "\n".join(f"- {v.assertion}: {v.detail}" for v in score.verdicts if not v.passed)
    assert score.error is None, f"{case.id}: rollout error: {score.error}"
    assert score.correctness == 1.0, f"{case.id}: failing assertions:\n{failed}"
    assert score.step_ratio == 1.0, f"{case.id}: {score.steps} steps, ideal {score.ideal_steps}"
    assert score.tool_call_ratio == 1.0, f"{case.id}: {score.tool_calls} tool calls, ideal {score.ideal_tool_calls}"
    trace = store.trace((harness.hash, config.model.id, case.id, 0))
    assert trace is not None
    errors = [f"{r.name}: {r.content}" for step in trace.steps for r in step.tool_results if r.error]
    assert not errors, f"{case.id}: the ideal trajectory hits tool errors: {errors}"
