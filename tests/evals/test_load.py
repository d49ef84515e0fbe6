"""Case loading: errors name file and line; broken files never stop the others; filters and duplicates."""

from __future__ import annotations

from pathlib import Path

import pytest

from betterharness.config.schema import EvalsConfig
from betterharness.errors import CaseError, ConfigError
from betterharness.evals.load import load_all, load_case_file, select

GOOD = """\
id: {id}
description: A good case.
tags: [{tag}]
tier: {tier}
input:
  messages:
    - {{role: user, content: hi}}
success:
  - final_text_contains: hello
ideal: {{steps: 1, tool_calls: 0}}
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", "id: x\ndescription: [unclosed\ntags: [a]\n")
    with pytest.raises(CaseError) as info:
        load_case_file(path)
    assert "malformed YAML" in info.value.problem
    assert str(info.value.file).startswith(f"{path}:")


def test_unknown_key_names_the_line(tmp_path: Path) -> None:
    text = GOOD.format(id="a", tag="t", tier="hillclimb").replace("tier: hillclimb", "tier: hillclimb\ntiers: x")
    path = write(tmp_path, "a.yaml", text)
    with pytest.raises(CaseError) as info:
        load_case_file(path)
    assert info.value.key == "tiers"
    assert info.value.file == f"{path}:5"


def test_bad_assertion_lists_allowed_names(tmp_path: Path) -> None:
    text = GOOD.format(id="a", tag="t", tier="hillclimb").replace("final_text_contains", "final_text_contain")
    with pytest.raises(CaseError) as info:
        load_case_file(write(tmp_path, "a.yaml", text))
    assert "final_text_contains" in info.value.problem
    assert info.value.file == f"{tmp_path / 'a.yaml'}:9"


def test_bad_tier_value(tmp_path: Path) -> None:
    with pytest.raises(CaseError) as info:
        load_case_file(write(tmp_path, "a.yaml", GOOD.format(id="a", tag="t", tier="gold")))
    assert info.value.key == "tier" and info.value.value == "gold"
    assert "regression" in str(info.value.allowed)


def test_broken_file_does_not_stop_the_others(tmp_path: Path) -> None:
    write(tmp_path, "x/a.yaml", GOOD.format(id="a", tag="t", tier="hillclimb"))
    write(tmp_path, "x/b.yaml", "id: [")
    write(tmp_path, "y/c.yaml", GOOD.format(id="c", tag="u", tier="regression"))
    result = load_all(tmp_path)
    assert [c.id for c in result.cases] == ["a", "c"]
    assert len(result.errors) == 1 and "b.yaml" in str(result.errors[0].file)


def test_duplicate_ids_are_errors(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", GOOD.format(id="same", tag="t", tier="hillclimb"))
    write(tmp_path, "b.yaml", GOOD.format(id="same", tag="t", tier="hillclimb"))
    result = load_all(tmp_path)
    assert len(result.cases) == 1
    assert "duplicate case id 'same'" in result.errors[0].problem
    assert "a.yaml" in str(result.errors[0].fix)


def test_filters(tmp_path: Path) -> None:
    for i, (tag, tier) in enumerate([("t", "hillclimb"), ("t", "regression"), ("u", "hillclimb"), ("u", "hillclimb")]):
        write(tmp_path, f"{i}.yaml", GOOD.format(id=f"{tag}_{i}", tag=tag, tier=tier))
    cases = load_all(tmp_path)
    ids = lambda **kw: [c.id for c in select(cases, EvalsConfig(**kw)).cases]  # noqa: E731
    assert ids(include_tags=["t"]) == ["t_0", "t_1"]
    assert ids(exclude_tags=["t"]) == ["u_2", "u_3"]
    assert ids(tiers=["regression"]) == ["t_1"]
    assert ids(ids=["u_*"]) == ["u_2", "u_3"]
    assert ids(limit=1) == ["t_0", "u_2"]


def test_unknown_tag_is_a_config_error(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", GOOD.format(id="a", tag="t", tier="hillclimb"))
    with pytest.raises(ConfigError) as info:
        select(load_all(tmp_path), EvalsConfig(include_tags=["nope"]))
    assert info.value.key == "evals.include_tags" and info.value.allowed == ["t"]


def test_an_alias_bomb_is_refused_with_its_line_and_the_run_goes_on(tmp_path) -> None:
    levels = ['            a: &a ["x","x","x","x","x","x","x","x","x"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        levels.append(f"            {name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    bomb = "\n".join([
        "id: bomb", "description: An alias bomb.", "tags: [t]", "input: {messages: [{role: user, content: hi}]}",
        "environment:", "  tools:", "    - name: t", "      description: d", "      responses:", "        - default:",
        *levels, "success: [{final_text_contains: x}]", "ideal: {steps: 1, tool_calls: 0}", ""])
    (tmp_path / "bomb.yaml").write_text(bomb)
    (tmp_path / "fine.yaml").write_text(bomb.replace("id: bomb", "id: fine").split("environment:")[0]
                                        + "success: [{final_text_contains: x}]\nideal: {steps: 1, tool_calls: 0}\n")
    found = load_all(tmp_path)
    assert [c.id for c in found.cases] == ["fine"]
    (error,) = found.errors
    assert "expands to more than 100000 values" in error.problem and error.file.endswith("bomb.yaml:11")
    assert "anchors" in (error.fix or "")
