"""The hill-climbing loop end to end through the CLI, with a scripted agent and a scripted proposer.

The scripted agent is harness-sensitive: each case replays a failing script by default and a passing
one when the system prompt contains the phrase a good proposal adds.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from tests.e2e.conftest import ROOT, bh

PHRASE = "Always act with the tools instead of describing the action."


def case(case_id: str, tag: str, tier: str = "hillclimb", fixable: bool = True) -> dict:
    """A case whose tool call only happens when the system prompt holds PHRASE (if fixable)."""
    tool = {"name": "do_task", "description": "Do the task.",
            "parameters": {"type": "object", "properties": {"what": {"type": "string"}}, "required": ["what"]},
            "responses": [{"default": {"status": "ok"}}]}
    good = [{"tool_calls": [{"name": "do_task", "arguments": {"what": case_id}}]}, {"content": "Done."}]
    bad = [{"content": "I would call the tool."}]
    return {"id": case_id, "description": f"Acts with the tool ({case_id}).", "tags": [tag], "tier": tier,
            "input": {"messages": [{"role": "user", "content": f"Please do {case_id}."}]},
            "environment": {"tools": [tool]},
            "success": [{"tool_called": {"name": "do_task"}}],
            "ideal": {"steps": 2, "tool_calls": 1, "trajectory": good},
            "script": {"agent": bad, "variants": [{"system_contains": PHRASE, "agent": good}] if fixable else []}}


@pytest.fixture
def workspace(tmp_path: Path) -> dict[str, Path]:
    evals = tmp_path / "evals"
    specs = [case(f"alpha_{i}", "alpha") for i in range(4)] + [case(f"beta_{i}", "beta") for i in range(2)]
    specs.append(case("alpha_stays", "alpha", tier="regression", fixable=False))
    specs[-1]["script"] = {"agent": specs[-1]["ideal"]["trajectory"]}  # always passes
    for spec in specs:
        path = evals / spec["tags"][0] / f"{spec['id']}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(spec, sort_keys=False))
    harness = tmp_path / "harness"
    shutil.copytree(ROOT / "harness_templates" / "default", harness / "default")
    return {"root": tmp_path, "evals": evals, "harness": harness, "out": tmp_path / "out"}


def proposals(ws: dict[str, Path], *texts: str) -> Path:
    path = ws["root"] / "proposals.yaml"
    path.write_text(yaml.safe_dump([{"edit": {"surface": "system_prompt", "op": "append", "text": t},
                                     "rationale": "The agent describes actions instead of taking them.",
                                     "targets": ["alpha/assertion:tool_called"]} for t in texts]))
    return path


def args(ws: dict[str, Path], responses: Path, *extra: str) -> list[str]:
    return ["model=scripted", "roles=scripted", "optimizer=hillclimb", "optimizer.epochs=1",
            "optimizer.gate.alpha=1.0", f"evals.root={ws['evals']}", "evals=all", f"harness.dir={ws['harness']}",
            f"runtime.outputs={ws['out']}", f"+roles.proposer.options.responses_file={responses}", *extra]


def run_dir(ws: dict[str, Path]) -> Path:
    (folder,) = [p for p in ws["out"].iterdir() if p.is_dir() and not p.name.startswith("_")]
    return folder


def test_accepts_a_real_fix_and_reports_holdout(workspace: dict[str, Path]) -> None:
    ws = workspace
    result = bh(*args(ws, proposals(ws, PHRASE)))
    assert result.returncode == 0, result.stderr
    folder = run_dir(ws)
    split = json.loads((folder / "split.json").read_text())
    assert set(split["by_tag"]) == {"alpha", "beta"}
    assert not set(split["optimization"]) & set(split["holdout"])
    state = json.loads((folder / "optimize_state.json").read_text())
    first = state["iterations"][0]
    assert first["outcome"] == "accepted" and first["decision"]["by"] == "policy:accept_gated"
    assert first["gate"]["transitions"]["broken"] == []
    assert state["incumbent"] != state["baseline"]
    assert state["stop_reason"] == "every optimization case passes"
    report = (folder / "report.md").read_text()
    assert "| Model | Phase | Opt alpha | Opt beta | Holdout alpha | Holdout beta |" in report
    assert "| `scripted/replay` | final | 1.00 | 1.00 | 1.00 | 1.00 |" in report
    assert PHRASE in report  # the diff of the accepted version
    exported = [p for p in ws["harness"].iterdir() if p.name.startswith("default_opt_")]
    assert len(exported) == 1 and PHRASE in (exported[0] / "system_prompt.md.j2").read_text()
    # the exported set runs as a harness in a later plain run
    later = bh("model=scripted", "roles=scripted", f"evals.root={ws['evals']}", "evals=all",
               f"harness.dir={ws['harness']}", f"harness.name={exported[0].name}",
               f"runtime.outputs={ws['root'] / 'o2'}")
    assert later.returncode == 0 and "correctness 1.00" in later.stdout

    # resume: the same command recomputes nothing and asks the proposer nothing
    lines = len((folder / "traces.jsonl").read_text().splitlines())
    again = bh(*args(ws, proposals(ws)))
    assert again.returncode == 0, again.stderr
    assert len((folder / "traces.jsonl").read_text().splitlines()) == lines


TOOL_PHRASE = "Call it at once with the task's name; never describe the call instead."


@pytest.mark.parametrize("surface", ["tool:do_task", "tool:do_task.what"])
def test_a_case_declared_tool_is_a_surface_improved_and_generalising(workspace: dict[str, Path],
                                                                     surface: str) -> None:
    ws = workspace
    for path in ws["evals"].rglob("*.yaml"):  # these agents act when the tool's text says how to use it
        spec = yaml.safe_load(path.read_text())
        for variant in spec["script"].get("variants", []):
            variant.pop("system_contains")
            variant["tools_contain"] = TOOL_PHRASE
        path.write_text(yaml.safe_dump(spec, sort_keys=False))
    responses = ws["root"] / "tool_proposals.yaml"
    responses.write_text(yaml.safe_dump([{"edit": {"surface": surface, "op": "append", "text": TOOL_PHRASE},
                                          "rationale": "The agent does not see when and how to call do_task."}]))
    result = bh(*args(ws, responses))
    assert result.returncode == 0, result.stderr
    folder = run_dir(ws)
    state = json.loads((folder / "optimize_state.json").read_text())
    assert state["iterations"][0]["outcome"] == "accepted"
    assert "do_task" in (folder / "iterations" / "001" / "proposer_prompt.md").read_text().split("## Failures")[0]
    report = (folder / "report.md").read_text()
    assert "| `scripted/replay` | final | 1.00 | 1.00 | 1.00 | 1.00 |" in report  # the holdout too
    (exported,) = [p for p in ws["harness"].iterdir() if p.name.startswith("default_opt_")]
    template = exported / "tools" / f"{surface.removeprefix('tool:')}.md.j2"
    assert TOOL_PHRASE in template.read_text()
    if surface == "tool:do_task":
        assert template.read_text().startswith("Do the task.")  # it started from the case's own text


def test_leaky_proposal_is_rejected(workspace: dict[str, Path]) -> None:
    ws = workspace
    result = bh(*args(ws, proposals(ws, "For alpha_0, alpha_1, alpha_2, alpha_3, beta_0 and beta_1, call do_task.")))
    assert result.returncode == 0, result.stderr
    state = json.loads((run_dir(ws) / "optimize_state.json").read_text())
    assert state["iterations"][0]["outcome"] == "no_candidate"
    assert "leakage" in state["iterations"][0]["rejection"]
    assert state["incumbent"] == state["baseline"]


def test_useless_proposal_fails_the_gate_then_a_good_one_passes(workspace: dict[str, Path]) -> None:
    ws = workspace
    result = bh(*args(ws, proposals(ws, "Keep every reply concise.", PHRASE)))
    assert result.returncode == 0, result.stderr
    state = json.loads((run_dir(ws) / "optimize_state.json").read_text())
    outcomes = [it["outcome"] for it in state["iterations"]]
    assert outcomes == ["gate_failed", "accepted"]
    assert "net fixed cases 0" in state["iterations"][0]["gate"]["reasons"][0]
    prompt = (run_dir(ws) / "iterations" / "002" / "proposer_prompt.md").read_text()
    assert "gate_failed" in prompt  # history reaches the proposer
    assert "alpha_" not in prompt.split("## Failures")[0]  # surfaces carry no case ids
    holdout = json.loads((run_dir(ws) / "split.json").read_text())["holdout"]
    assert not any(case_id in prompt for case_id in holdout)  # never shows holdout cases


def test_interactive_review_waits_then_resumes(workspace: dict[str, Path]) -> None:
    ws = workspace
    responses = proposals(ws, PHRASE)
    first = bh(*args(ws, responses, "review=interactive"))
    assert first.returncode == 0, first.stderr
    assert "waiting for review" in first.stderr
    folder = run_dir(ws)
    state = json.loads((folder / "optimize_state.json").read_text())
    assert state["status"] == "waiting_for_review" and state["iterations"][0]["outcome"] == "pending_review"
    import subprocess
    import sys

    decided = subprocess.run([sys.executable, "-m", "betterharness", "review", str(folder), "--approve", "--reason",
                              "general rule, no overfitting"], capture_output=True, text=True, cwd=ROOT)
    assert decided.returncode == 0, decided.stderr
    assert "recorded: approve" in decided.stderr
    assert "Correctness on the" in decided.stderr, decided.stderr
    (row,) = [line for line in decided.stderr.splitlines() if line.startswith("│ alpha")]
    assert [cell.strip().split(" [")[0] for cell in row.strip("│ ").split("│")] == ["alpha", "0.00", "1.00", "+1.00"]
    assert "[0.00, " in row and ", 1.00]" in row  # 95% intervals over cases
    assert "Prompt cost: the change adds about +" in decided.stderr
    assert "Transitions: fixed" in decided.stderr and PHRASE in decided.stderr
    second = bh(*args(ws, responses, "review=interactive"))
    assert second.returncode == 0, second.stderr
    state = json.loads((folder / "optimize_state.json").read_text())
    assert state["status"] == "complete" and state["iterations"][0]["outcome"] == "accepted"
    assert state["iterations"][0]["decision"]["reason"] == "general rule, no overfitting"
    assert "general rule, no overfitting" in (folder / "report.md").read_text()


def test_budget_stops_the_loop(workspace: dict[str, Path]) -> None:
    ws = workspace
    result = bh(*args(ws, proposals(ws, PHRASE), "optimizer.budget.max_rollouts=7"))
    assert result.returncode == 0, result.stderr
    state = json.loads((run_dir(ws) / "optimize_state.json").read_text())
    assert "rollout budget 7 reached" in state["stop_reason"]
    assert state["iterations"] == []


def test_a_repeated_proposal_is_not_validated_twice(workspace: dict[str, Path]) -> None:
    ws = workspace
    result = bh(*args(ws, proposals(ws, "Keep every reply concise.", "Keep every reply concise.", PHRASE)))
    assert result.returncode == 0, result.stderr
    state = json.loads((run_dir(ws) / "optimize_state.json").read_text())
    assert [it["outcome"] for it in state["iterations"]] == ["gate_failed", "no_candidate", "accepted"]
    assert "already tried in iteration 1" in state["iterations"][1]["rejection"]


def test_iteration_files_agree_with_the_state(workspace: dict[str, Path]) -> None:
    ws = workspace
    assert bh(*args(ws, proposals(ws, "Keep every reply concise.", PHRASE))).returncode == 0
    folder = run_dir(ws)
    state = json.loads((folder / "optimize_state.json").read_text())
    for it in state["iterations"]:
        saved = json.loads((folder / "iterations" / f"{it['index']:03d}" / "iteration.json").read_text())
        assert saved["outcome"] == it["outcome"]


def test_a_rollout_cap_is_checked_before_spending_the_baseline_included(workspace: dict[str, Path]) -> None:
    ws = workspace
    result = bh(*args(ws, proposals(ws, PHRASE), "optimizer.budget.max_rollouts=3"))
    assert result.returncode == 0, result.stderr
    folder = run_dir(ws)
    state = json.loads((folder / "optimize_state.json").read_text())
    assert "rollout budget 3 reached" in state["stop_reason"]
    scores = (folder / "scores.jsonl").read_text().splitlines() if (folder / "scores.jsonl").exists() else []
    assert len(scores) <= 3  # was 9: the baseline ran unchecked
    assert "rollout budget 3 reached" in (folder / "report.md").read_text()


def test_a_cost_cap_is_never_passed_by_more_than_one_rollout(workspace: dict[str, Path]) -> None:
    ws = workspace
    result = bh(*args(ws, proposals(ws, PHRASE), "+model.options.cost_usd=0.004", "optimizer.budget.max_cost_usd=0.01"))
    assert result.returncode == 0, result.stderr
    folder = run_dir(ws)
    state = json.loads((folder / "optimize_state.json").read_text())
    assert "cost budget $0.01 reached" in state["stop_reason"]
    scores = [json.loads(line) for line in (folder / "scores.jsonl").read_text().splitlines()]
    spent = sum((s["cost_usd"] or 0.0) + (s["aux_cost_usd"] or 0.0) for s in scores) + state["proposer_cost_usd"]
    assert 0 < spent <= 0.01 + 1e-9  # was $0.038 against a $0.01 cap


def test_a_budget_stop_inside_an_iteration_is_reported_and_resumable(workspace: dict[str, Path]) -> None:
    ws = workspace
    result = bh(*args(ws, proposals(ws, PHRASE), "optimizer.budget.max_rollouts=12"))
    assert result.returncode == 0, result.stderr
    folder = run_dir(ws)
    state = json.loads((folder / "optimize_state.json").read_text())
    assert "rollout budget 12 reached" in state["stop_reason"] and "before iteration 1" in state["stop_reason"]
    assert len((folder / "scores.jsonl").read_text().splitlines()) == 7  # refused before the candidate ran
    again = bh(*args(ws, proposals(ws, PHRASE), "optimizer.budget.max_rollouts=40"))
    assert again.returncode == 0, again.stderr


def test_a_spent_budget_does_not_hide_the_real_stop_reason(workspace: dict[str, Path]) -> None:
    ws = workspace
    costly = ["+model.options.cost_usd=0.004", "optimizer.budget.max_iterations=1"]
    uncapped = bh(*args(ws, proposals(ws, PHRASE), *costly))
    assert uncapped.returncode == 0, uncapped.stderr
    folder = run_dir(ws)
    spent = sum(json.loads(line)["cost_usd"] for line in (folder / "scores.jsonl").read_text().splitlines())
    shutil.rmtree(ws["out"])
    capped = bh(*args(ws, proposals(ws, PHRASE), *costly, f"optimizer.budget.max_cost_usd={spent + 1e-6:.6f}"))
    assert capped.returncode == 0, capped.stderr
    state = json.loads((run_dir(ws) / "optimize_state.json").read_text())
    assert state["stop_reason"] == "max iterations (1) reached"


def test_a_deferred_review_decided_on_a_terminal_completes_the_run(workspace: dict[str, Path],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Deferred without a terminal, then resumed where a person approves: the run completes with a report."""
    import builtins
    import sys

    from hydra import compose, initialize_config_dir

    from betterharness.cli.review import terminal_reviewer
    from betterharness.cli.run import run_experiment
    from betterharness.config.load import load_config
    from betterharness.experiment import prepare
    from betterharness.paths import conf_dir

    ws = workspace
    overrides = args(ws, proposals(ws, PHRASE), "review=interactive")
    first = bh(*overrides)
    assert "waiting for review" in first.stderr, first.stderr
    with initialize_config_dir(version_base="1.3", config_dir=str(conf_dir())):
        cfg = compose("config", overrides=overrides)
    answers = iter(["a", "a general rule"])
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr(builtins, "input", lambda prompt="": next(answers))
    report = run_experiment(prepare(load_config(cfg)), terminal_reviewer)
    assert report.name == "report.md" and report.exists()
    state = json.loads((run_dir(ws) / "optimize_state.json").read_text())
    assert state["status"] == "complete" and state["iterations"][0]["outcome"] == "accepted"
    assert state["iterations"][0]["decision"]["reason"] == "a general rule"


def test_parallel_search_screens_four_draws_and_gates_the_one_that_helps(workspace: dict[str, Path]) -> None:
    ws = workspace
    responses = proposals(ws, "Keep every reply concise.", "Greet the user politely first.", PHRASE,
                          "Answer in the language of the request.")
    result = bh(*args(ws, responses, "optimizer=parallel", "optimizer.search.minibatch=2",
                      "optimizer.budget.max_iterations=1"))
    assert result.returncode == 0, result.stderr
    folder = run_dir(ws)
    state = json.loads((folder / "optimize_state.json").read_text())
    (it,) = state["iterations"]
    search = it["search"]
    draws = {c["draw"]: c for c in search["candidates"]}
    assert len(draws) == 4 and all(c["screen"] for c in draws.values())  # every draw ran round 1
    assert draws[3]["screen"][0] == 2 and all(draws[d]["screen"][0] == 0 for d in (1, 2, 4))
    optimization = json.loads((folder / "split.json").read_text())["optimization"]
    assert [len(r) for r in search["rounds"]] == [2, min(4, len(optimization))]
    assert [d for d, c in draws.items() if len(c["screen"]) > 1] == [1, 3]  # halving kept the better half
    assert [d for d, c in draws.items() if c["gated"]] == [3] and draws[3]["passed_gate"]
    assert it["outcome"] == "accepted" and PHRASE in it["proposal"]["edit"]["text"]
    assert state["holdout_consultations"] == 1 and state["gate_tests"] == 1
    prompts = sorted(p.name for p in (folder / "iterations" / "001").glob("proposer_prompt*.md"))
    assert prompts == ["proposer_prompt.2.md", "proposer_prompt.3.md", "proposer_prompt.4.md", "proposer_prompt.md"]
    assert "## Your focus" in (folder / "iterations" / "001" / "proposer_prompt.2.md").read_text()
    report = (folder / "report.md").read_text()
    assert "candidates drawn 4, screened 4, gated 1, passed the gate 1, accepted 1" in report
    assert "error control: holm" in report
    assert "- power: the gate accepts a candidate that fixes at least" in report
    assert "power: the gate accepts" in result.stderr and "4 draws per iteration" in result.stderr


def test_a_draw_that_gains_nothing_on_the_minibatch_never_reaches_the_gate(workspace: dict[str, Path]) -> None:
    ws = workspace
    responses = proposals(ws, "Keep every reply concise.", "Greet the user politely first.")
    result = bh(*args(ws, responses, "optimizer=parallel", "optimizer.search.candidates=2",
                      "optimizer.search.minibatch=2", "optimizer.budget.max_iterations=1"))
    assert result.returncode == 0, result.stderr
    state = json.loads((run_dir(ws) / "optimize_state.json").read_text())
    (it,) = state["iterations"]
    assert it["outcome"] == "screened_out" and "screening minibatch" in it["rejection"]
    assert it["gate"] is None and state["holdout_consultations"] == 0


def test_the_sealed_test_split_is_read_once_after_every_decision(workspace: dict[str, Path]) -> None:
    ws = workspace
    result = bh(*args(ws, proposals(ws, "Keep every reply concise.", PHRASE), "split=sealed",
                      "evals.exclude_tags=[beta]"))
    assert result.returncode == 0, result.stderr
    folder = run_dir(ws)
    test_ids = set(json.loads((folder / "split.json").read_text())["test"])
    assert test_ids
    rows = [json.loads(line) for line in (folder / "scores.jsonl").read_text().splitlines()]
    first_test = min(i for i, row in enumerate(rows) if row["case_id"] in test_ids)
    state = json.loads((folder / "optimize_state.json").read_text())
    candidates = {it["candidate"] for it in state["iterations"] if it["candidate"]}
    assert candidates and all(row["harness_hash"] not in candidates or row["case_id"] in test_ids
                              for row in rows[first_test:])  # no candidate was scored after the test split
    assert {row["harness_hash"] for row in rows if row["case_id"] in test_ids} == {state["baseline"],
                                                                                   state["incumbent"]}
    assert "scored once, after every decision" in (folder / "report.md").read_text()


def test_the_tool_suite_is_a_surface_a_proposal_can_trim(workspace: dict[str, Path]) -> None:
    ws = workspace
    decoy = {"name": "describe_task", "description": "Describe how the task would be done.",
             "parameters": {"type": "object", "properties": {}}, "responses": [{"default": "described"}]}
    for path in ws["evals"].rglob("*.yaml"):  # these agents act only when the decoy tool is not offered
        spec = yaml.safe_load(path.read_text())
        spec["environment"]["tools"].append(decoy)
        for variant in spec["script"].get("variants", []):
            variant.pop("system_contains")
            variant["tools_offered"] = ["do_task"]
        path.write_text(yaml.safe_dump(spec, sort_keys=False))
    responses = ws["root"] / "suite_proposals.yaml"
    responses.write_text(yaml.safe_dump([{"edit": {"surface": "tool_suite", "op": "rewrite",
                                                   "text": "*\n-describe_task\n"},
                                          "rationale": "The agent describes instead of acting."}]))
    result = bh(*args(ws, responses))
    assert result.returncode == 0, result.stderr
    state = json.loads((run_dir(ws) / "optimize_state.json").read_text())
    assert state["iterations"][0]["outcome"] == "accepted"
    (exported,) = [p for p in ws["harness"].iterdir() if p.name.startswith("default_opt_")]
    assert (exported / "tool_suite.md.j2").read_text() == "*\n-describe_task\n"


def test_without_screening_every_draw_is_gated_under_holm(workspace: dict[str, Path]) -> None:
    ws = workspace
    responses = proposals(ws, "Keep every reply concise.", PHRASE)
    result = bh(*args(ws, responses, "optimizer.search.candidates=2", "optimizer.budget.max_iterations=1"))
    assert result.returncode == 0, result.stderr
    state = json.loads((run_dir(ws) / "optimize_state.json").read_text())
    (it,) = state["iterations"]
    gated = [c for c in it["search"]["candidates"] if c["gated"]]
    assert len(gated) == 2 and state["holdout_consultations"] == 2 and state["gate_tests"] == 2
    assert sorted(c["level"] for c in gated) == pytest.approx([0.5, 1.0])  # Holm: alpha/2, then alpha (alpha=1 here)
    assert it["outcome"] == "accepted" and PHRASE in it["proposal"]["edit"]["text"]
