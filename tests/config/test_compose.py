"""Every option of every config group composes and validates."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from betterharness.config.load import GROUPS, validate_config
from betterharness.errors import ConfigError
from betterharness.experiment import prepare
from betterharness.paths import conf_dir


def _options() -> list[tuple[str, str]]:
    pairs = []
    for group in [*GROUPS, "experiment"]:
        folder = conf_dir() / group
        pairs += [(group, p.stem) for p in sorted(folder.glob("*.yaml"))]
    return pairs


def config_hash(container: dict) -> str:
    """The experiment identity of a composed config (its cases loaded once, as a run does)."""
    return prepare(validate_config(container)).hash


def _compose(overrides: list[str]) -> dict:
    with initialize_config_dir(version_base="1.3", config_dir=str(conf_dir())):
        cfg = compose("config", overrides=overrides)
    container = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(container, dict)
    return container


@pytest.mark.parametrize(("group", "option"), _options())
def test_every_option_composes(group: str, option: str) -> None:
    config = validate_config(_compose([f"{group}={option}"]))
    if group == "model":
        assert config.model.id
    if group == "evals" and option not in ("all", "smoke", "learnable"):
        assert config.evals.include_tags == [option]


def test_every_group_has_options() -> None:
    for group in GROUPS:
        assert list((conf_dir() / group).glob("*.yaml")), group


def test_default_model_is_local() -> None:
    assert validate_config(_compose([])).model.id.startswith("local/")


def test_runtime_does_not_change_hash() -> None:
    base = _compose(["model=scripted"])
    assert config_hash(base) == config_hash(_compose(["model=scripted", "runtime=ci", "runtime.concurrency=3"]))
    assert config_hash(base) != config_hash(_compose(["model=scripted", "epochs=2"]))
    assert config_hash(base) != config_hash(_compose(["model=gpt"]))


def test_optimizer_settings_are_not_in_a_plain_runs_identity() -> None:
    plain = config_hash(_compose(["model=scripted"]))
    assert plain == config_hash(_compose(["model=scripted", "+optimizer.search.candidates=7", "split.seed=3",
                                          "review=interactive"]))
    tuned = _compose(["model=scripted", "optimizer=hillclimb"])
    assert config_hash(tuned) != plain
    assert config_hash(tuned) != config_hash(_compose(["model=scripted", "optimizer=hillclimb",
                                                       "optimizer.search.candidates=7"]))


CASE = """\
id: {id}
description: {description}
tags: [{tag}]
input: {{messages: [{{role: user, content: hi}}]}}
success: [{{final_text_contains: hi}}]
ideal: {{steps: 1, tool_calls: 0}}
"""


def test_hash_covers_the_selected_cases_only(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(CASE.format(id="a", description="First.", tag="t"))
    base = _compose(["model=scripted", f"evals.root={tmp_path}", "evals.include_tags=[t]"])
    first = config_hash(base)
    (tmp_path / "a.yaml").write_text(CASE.format(id="a", description="Changed.", tag="t"))
    second = config_hash(base)
    assert second != first
    (tmp_path / "mined.yaml").write_text(CASE.format(id="m", description="A draft elsewhere.", tag="u"))
    assert config_hash(base) == second  # a case outside the selection leaves the identity alone


def test_bad_value_names_file_key_and_allowed() -> None:
    container = _compose(["model=scripted", "review.mode=sometimes"])
    with pytest.raises(ConfigError) as info:
        validate_config(container, {"review": "auto"}, ["review.mode=sometimes"])
    error = info.value
    assert error.key == "review.mode"
    assert error.value == "sometimes"
    assert "'auto'" in str(error.allowed) and "'interactive'" in str(error.allowed)
    assert "command line" in str(error.file)


def test_unknown_key_suggests_the_close_one() -> None:
    container = _compose(["model=scripted", "+runtime.concurency=3"])
    with pytest.raises(ConfigError) as info:
        validate_config(container, {"runtime": "default"}, [])
    assert info.value.key == "runtime.concurency"
    assert "runtime.concurrency" in str(info.value.fix)
    assert str(info.value.file).endswith("runtime/default.yaml")


def test_split_ratios_must_sum_to_one() -> None:
    with pytest.raises(ConfigError) as info:
        validate_config(_compose(["model=scripted", "split.holdout=0.7"]))
    assert "1.0" in info.value.problem


def test_only_the_prompts_a_run_uses_are_in_its_identity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from betterharness import experiment
    from betterharness.paths import prompts_dir

    prompts = tmp_path / "prompts"
    shutil.copytree(prompts_dir(), prompts)
    monkeypatch.setattr(experiment, "prompts_dir", lambda: prompts)
    (tmp_path / "a.yaml").write_text(CASE.format(id="a", description="First.", tag="t"))
    plain = _compose(["model=scripted", f"evals.root={tmp_path}", "evals.include_tags=[t]"])
    optimizing = _compose(["model=scripted", f"evals.root={tmp_path}", "evals.include_tags=[t]",
                           "optimizer=hillclimb"])
    before = config_hash(plain), config_hash(optimizing)
    (prompts / "my_new_prompt.md.j2").write_text("unrelated")
    (prompts / "judge.md.j2").write_text("a changed judge prompt {{ criterion }}")
    assert (config_hash(plain), config_hash(optimizing)) == before  # no case here asks a judge
    (prompts / "proposer.md.j2").write_text("a changed proposer prompt")
    assert config_hash(plain) == before[0] and config_hash(optimizing) != before[1]
