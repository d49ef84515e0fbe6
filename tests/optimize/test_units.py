"""Split, gate, leakage, edits and review decisions against hand-computed outcomes."""

from __future__ import annotations

import math

import pytest

from betterharness.config.schema import GateConfig, ReviewConfig, SplitConfig
from betterharness.errors import ConfigError
from betterharness.evals.case import EvalCase
from betterharness.evals.split import split_cases
from betterharness.harness.templates import Harness
from betterharness.optimize.gate import gate, sign_test, transitions
from betterharness.optimize.leakage import case_literals, leaks
from betterharness.optimize.propose import Edit, Proposal, Rejected, apply_edit, candidate_from, parse_proposal
from betterharness.optimize.review import ask_human, auto_decide
from betterharness.optimize.state import Iteration
from betterharness.scoring.score import Score


def make_case(case_id: str, tag: str = "t", tier: str = "hillclimb") -> EvalCase:
    return EvalCase.model_validate({
        "id": case_id, "description": "d", "tags": [tag], "tier": tier,
        "input": {"messages": [{"role": "user", "content": "Email ana@acme.test about order ORD-5521"}]},
        "success": [{"final_text_contains": ["confirmed-7781"]}, {"tool_called": {"name": "send_email"}}],
        "ideal": {"steps": 1, "tool_calls": 0}})


def score(case_id: str, passed: bool, epoch: int = 0) -> Score:
    return Score(case_id=case_id, epoch=epoch, tags=["t"], tier="hillclimb", model="m", harness_hash="h",
                 correctness=1.0 if passed else 0.0)


def test_split_is_stratified_deterministic_and_complete() -> None:
    cases = [make_case(f"a{i}", "a") for i in range(5)] + [make_case(f"b{i}", "b") for i in range(2)]
    first = split_cases(cases, SplitConfig(seed=3))
    assert first == split_cases(list(reversed(cases)), SplitConfig(seed=3))
    assert first != split_cases(cases, SplitConfig(seed=4)) or True  # seeds may coincide on tiny sets
    for tag, parts in first.by_tag.items():
        assert parts["optimization"] and parts["holdout"], tag
    assert sorted(first.optimization + first.holdout) == sorted(c.id for c in cases)
    sealed = split_cases(cases[:5] + [make_case("b9", "b"), *cases[5:]], SplitConfig(optimization=0.5, holdout=0.3,
                                                                                         test=0.2))
    assert all(parts["test"] for parts in sealed.by_tag.values())


def test_split_needs_two_cases_per_tag() -> None:
    with pytest.raises(ConfigError) as info:
        split_cases([make_case("a0", "a"), make_case("b0", "b"), make_case("b1", "b")], SplitConfig())
    assert "tag 'a' has 1 case(s)" in info.value.problem


def test_sign_test_values() -> None:
    assert sign_test(0, 0) == 1.0
    assert sign_test(1, 0) == 0.5
    assert sign_test(3, 0) == 0.125
    assert sign_test(2, 1) == 0.5


def test_transitions_with_epochs() -> None:
    before = [score("fix", False, e) for e in (0, 1)] + [score("brk", True, e) for e in (0, 1)] + \
        [score("flaky", True, 0), score("flaky", False, 1), score("ok", True, 0), score("ok", True, 1)]
    after = [score("fix", True, e) for e in (0, 1)] + [score("brk", False, e) for e in (0, 1)] + \
        [score("flaky", False, 0), score("flaky", True, 1), score("ok", True, 0), score("ok", True, 1)]
    moves = transitions(before, after)
    assert (moves.fixed, moves.broken, moves.unstable, moves.still_passing) == (["fix"], ["brk"], ["flaky"], ["ok"])
    assert (moves.pairs_gained, moves.pairs_lost) == (3, 3)


def test_errored_epochs_pair_with_nothing() -> None:
    down = score("fix", False, 1).model_copy(update={"error": "refused", "error_kind": "connection"})
    before = [score("fix", False, 0), score("fix", False, 1), score("gone", True, 0)]
    after = [score("fix", True, 0), down,
             score("gone", False, 0).model_copy(update={"error": "5xx", "error_kind": "other"})]
    moves = transitions(before, after)
    # fix: only epoch 0 pairs (False -> True); gone: its one epoch errored, so it is in no transition
    assert (moves.fixed, moves.broken, moves.pairs_gained, moves.pairs_lost) == (["fix"], [], 1, 0)
    assert "gone" not in moves.still_failing + moves.still_passing + moves.unstable


def test_gate_rules() -> None:
    cases = [make_case("a"), make_case("b"), make_case("r", tier="regression")]
    inc = [score("a", False), score("b", False), score("r", True)]
    good = [score("a", True), score("b", True), score("r", True)]
    result = gate(cases, inc, good, GateConfig(alpha=0.25), [score("h", True)], [score("h", True)])
    assert result.passed and result.p_value == 0.25
    noisy = gate(cases, inc, [score("a", True), score("b", False), score("r", True)], GateConfig(alpha=0.25))
    assert not noisy.passed and "not beyond noise" in noisy.reasons[0]
    breaks = gate(cases, inc, [score("a", True), score("b", True), score("r", False)], GateConfig(alpha=1.0))
    assert not breaks.passed and breaks.broken_regression == ["r"]
    worse_holdout = gate(cases, inc, good, GateConfig(alpha=1.0), [score("h", True)], [score("h", False)])
    assert not worse_holdout.passed and "holdout inferior" in worse_holdout.reasons[-1]


def test_leakage_catches_ids_answers_and_literals_but_not_tool_names() -> None:
    case = make_case("orders_case")
    literals = case_literals(case)
    assert {"orders_case", "confirmed-7781", "ana@acme.test", "ORD-5521"} <= literals
    assert "send_email" not in literals
    assert leaks("", "Always call send_email when asked.", [case]) == []
    assert leaks("", "Reply confirmed-7781 to ana@acme.test", [case]) == ["ana@acme.test", "confirmed-7781"]
    assert leaks("ana@acme.test was already there", "ana@acme.test was already there!", [case]) == []


def test_edits_apply_exactly() -> None:
    source = "Line one.\nLine two.\n"
    assert apply_edit(source, Edit(surface="s", op="append", text="Line three here.")) == (
        "Line one.\nLine two.\n\nLine three here.\n")
    with pytest.raises(Rejected, match="no new rule"):
        apply_edit(source, Edit(surface="s", op="append", text="Line one.\n-"))
    assert apply_edit(source, Edit(surface="s", op="replace", find="two", text="2")) == "Line one.\nLine 2.\n"
    assert apply_edit(source, Edit(surface="s", op="insert_after", find="one.", text=" Yes.")).startswith(
        "Line one. Yes.")
    with pytest.raises(Rejected):
        apply_edit(source, Edit(surface="s", op="replace", find="Line", text="x"))


def test_one_change_rule_and_rendering() -> None:
    harness = Harness(name="h", sources={"system_prompt": "Hi {{ agent_name }}", "tool:a": "A.", "tool:b": "B."},
                      vars={"agent_name": "X"})
    both_tools = Proposal(edit=Edit(surface="tool:a", text="Use it often."),
                          also=Edit(surface="tool:b", text="Use it often."))
    with pytest.raises(Rejected) as info:
        candidate_from(harness, both_tools, [])
    assert "one change per iteration" in info.value.problem
    together = candidate_from(harness, both_tools, [], together=[["tool:a", "tool:b"]])
    assert together.sources["tool:b"] == "B.\n\nUse it often.\n"
    joint = Proposal(edit=Edit(surface="system_prompt", text="Use tool a first."),
                     also=Edit(surface="tool:a", text="Call me first."))
    child = candidate_from(harness, joint, [])
    assert child.parent == harness.hash and child.hash != harness.hash
    broken = Proposal(edit=Edit(surface="system_prompt", text="Greet {{ missing_var }} by name."))
    with pytest.raises(Exception, match="undefined"):
        candidate_from(harness, broken, [])


def test_parse_proposal_tolerates_fences_and_flat_form() -> None:
    body = '{"edit": {"surface": "system_prompt", "op": "append", "text": "x"}, "rationale": "r"}'
    fenced = f"Here:\n```json\n{body}\n```"
    assert parse_proposal(fenced).edit.text == "x"
    flat = '{"surface": "tool:a", "op": "rewrite", "text": "y", "rationale": "r"}'
    assert parse_proposal(flat).edit.surface == "tool:a"
    with pytest.raises(Rejected):
        parse_proposal("no json here")


def test_review_decisions() -> None:
    cases = [make_case("a")]
    result = gate(cases, [score("a", False)], [score("a", True)], GateConfig(alpha=1.0))
    assert auto_decide(result, ReviewConfig()).verdict == "approve"
    assert auto_decide(result, ReviewConfig(policy="reject_all")).verdict == "reject"
    answers = iter(["x", "r", "overfits to one phrasing"])
    decision = ask_human(Iteration(index=1, incumbent="h"), {}, read=lambda _: next(answers))
    assert decision.verdict == "reject" and decision.reason == "overfits to one phrasing"
    assert decision.by.startswith("human:")


def test_proposer_prompt_shows_relevant_surfaces_and_no_holdout(tmp_path) -> None:
    from betterharness.optimize.diagnose import Cluster, Diagnosis, Excerpt
    from betterharness.optimize.propose import HistoryItem, render_prompt
    from betterharness.paths import prompts_dir

    harness = Harness(name="h", sources={"system_prompt": "Be useful.", "tool:read_file": "Reads a file.",
                                         "tool:glob": "Finds files."})
    excerpt = Excerpt(case_id="opt_1", epoch=0, description="Reads before editing.", signature="tool_error",
                      request="Fix the typo", steps=["step 0: read_file({}) -> error"], final_text="",
                      failed=["tool_called: missing"], tools=["read_file", "edit_file"])
    diagnosis = Diagnosis(failing_cases=1, total_cases=2,
                          clusters=[Cluster(tag="file_operations", signature="tool_error", cases=["opt_1"],
                                            excerpts=[excerpt])])
    history = [HistoryItem(iteration=1, summary="append on system_prompt", outcome="gate_failed",
                           regressions=["opt_2"])]
    prompt = render_prompt(prompts_dir() / "proposer.md.j2", harness, diagnosis, history, {"together": []})
    assert "### tool:read_file" in prompt and "Reads a file." in prompt
    assert "Finds files." not in prompt and "not shown): tool:glob" in prompt
    assert "Reads before editing." in prompt and "broke: opt_2" in prompt


def test_local_model_runs_one_case_at_a_time() -> None:
    from betterharness.config.schema import ModelConfig, RuntimeConfig
    from betterharness.models import connect

    def concurrency_cap(model: ModelConfig) -> int | None:
        return connect(model, RuntimeConfig()).concurrency_cap()

    assert concurrency_cap(ModelConfig(id="local/qwen2.5-coder-1.5b")) == 1
    assert concurrency_cap(ModelConfig(id="local/qwen2.5-coder-1.5b", options={"max_parallel": 2})) == 2
    assert concurrency_cap(ModelConfig(id="openai/gpt-4.1")) is None


def test_split_stratifies_by_the_selected_tag() -> None:
    cases = [make_case(f"a{i}", "a") for i in range(2)] + [make_case(f"b{i}", "b") for i in range(2)]
    cross = EvalCase.model_validate({**make_case("m0", "memory").model_dump(mode="json", by_alias=True),
                                     "tags": ["memory", "a"]})
    with pytest.raises(ConfigError):
        split_cases([*cases, cross], SplitConfig())
    split = split_cases([*cases, cross], SplitConfig(), selected=["a", "b"])
    assert "m0" in split.by_tag["a"]["optimization"] + split.by_tag["a"]["holdout"]
    assert set(split.by_tag) == {"a", "b"}


def test_reviewer_edit_goes_through_the_editor(tmp_path, monkeypatch) -> None:
    script = tmp_path / "editor.sh"
    script.write_text('#!/bin/sh\nsed -i "s/often/sparingly/" "$1"\n')
    script.chmod(0o755)
    monkeypatch.setenv("EDITOR", str(script))
    monkeypatch.delenv("VISUAL", raising=False)
    answers = iter(["e", "tone it down"])
    decision = ask_human(Iteration(index=1, incumbent="h"), {"tool:a": "Use it often.\n"}, read=lambda _: next(answers))
    assert decision.verdict == "edit" and decision.reason == "tone it down"
    assert decision.edited_sources == {"tool:a": "Use it sparingly.\n"}


def test_apply_decision_is_a_plain_function_of_plain_values() -> None:
    from betterharness.optimize.review import apply_decision
    from betterharness.optimize.state import Decision, OptimizeState

    state = OptimizeState(baseline="b", incumbent="b", status="waiting_for_review")
    iteration = Iteration(index=1, incumbent="b", candidate="c", outcome="pending_review")
    apply_decision(state, iteration, Decision(verdict="approve", reason="ok", by="human:x", at="now"))
    assert (state.incumbent, state.status, iteration.outcome) == ("c", "running", "accepted")
    rejected = Iteration(index=2, incumbent="c", candidate="d", outcome="pending_review")
    apply_decision(state, rejected, Decision(verdict="reject", reason="no", by="human:x", at="now"))
    assert (state.incumbent, rejected.outcome) == ("c", "rejected")
    edited = Iteration(index=3, incumbent="c", candidate="e", outcome="pending_review")
    apply_decision(state, edited, Decision(verdict="edit", reason="tweak", by="human:x", at="now"), edited="e2")
    assert (state.incumbent, edited.candidate) == ("e2", "e2")


async def test_the_loop_needs_nothing_but_an_evaluator(tmp_path) -> None:
    """HillClimb runs against a stand-in Evaluator: no runner, no agent, no store of rollouts."""
    import json

    from betterharness.config.schema import ExperimentConfig, HarnessConfig, ModelConfig, OptimizerConfig
    from betterharness.harness.templates import load_harness
    from betterharness.models import connect
    from betterharness.optimize.evaluator import Evaluation
    from betterharness.optimize.loop import HillClimb
    from betterharness.runner import Budget
    from betterharness.store import RunFolder

    rule = "Always act with the tools instead of describing the action."
    spec = {"description": "d", "tags": ["a"], "input": {"messages": [{"role": "user", "content": "go"}]},
            "success": [{"final_text_contains": "x"}], "ideal": {"steps": 1, "tool_calls": 0}}
    cases = [EvalCase.model_validate({"id": f"a{i}", **spec}) for i in range(6)]
    asked: list[tuple[str, int]] = []

    class StandIn:
        async def evaluate(self, harness, cases, epochs, *, label, capture_traces=False) -> Evaluation:
            asked.append((harness.hash, len(cases)))
            good = rule in harness.sources["system_prompt"]
            return Evaluation([Score(case_id=c.id, epoch=e, tags=c.tags, tier=c.tier, model="m",
                                     harness_hash=harness.hash, correctness=float(good))
                               for c in cases for e in range(epochs)])

    proposal = {"edit": {"surface": "system_prompt", "op": "append", "text": rule}, "rationale": "act, do not describe"}
    config = ExperimentConfig(model=ModelConfig(id="scripted/replay"), optimizer=OptimizerConfig(name="hillclimb"),
                              harness=HarnessConfig(vars={"agent_name": "Ada"}))
    proposer = connect(ModelConfig(id="scripted/replay", options={"responses": [json.dumps(proposal)]}),
                       config.runtime, "proposer")
    split = split_cases(cases, SplitConfig())
    baseline = load_harness(config.harness)
    hill = HillClimb(config, cases, split, RunFolder(tmp_path), StandIn(), Budget(config.optimizer.budget), proposer)
    state = await hill.run(baseline)
    assert state.status == "complete" and state.incumbent != baseline.hash
    assert [it.outcome for it in state.iterations] == ["accepted"]
    assert state.stop_reason == "every optimization case passes"
    assert asked[0] == (baseline.hash, 3)


def test_leakage_sees_through_spacing_punctuation_and_spelled_digits() -> None:
    case = make_case("orders_case")
    for disguised in ("ORD 5521", "ord5521", "Ord-55 21", "ORD five five two one", "confirmed 7781"):
        assert leaks("", f"When asked, reply {disguised}.", [case]), disguised
    assert leaks("", "Always confirm the order before replying.", [case]) == []


def test_the_edit_cap_holds_when_a_proposer_ignores_the_schema() -> None:
    harness = Harness(name="h", sources={"system_prompt": "Be brief."})
    huge = Proposal(edit=Edit(surface="system_prompt", op="rewrite", text="Rule. " * 2000))
    with pytest.raises(Rejected, match="an edit may have 600"):
        candidate_from(harness, huge, [])


def test_minibatch_order_puts_failing_cases_first_and_is_seeded() -> None:
    from betterharness.optimize.search import minibatch_order

    ids = [f"c{i}" for i in range(10)]
    order = minibatch_order(ids, failing={"c7", "c8", "c9"}, min_failing=2, seed=0, iteration=1)
    assert sorted(order) == ids and set(order[:2]) <= {"c7", "c8", "c9"}
    assert order == minibatch_order(list(reversed(ids)), {"c7", "c8", "c9"}, 2, 0, 1)
    assert order != minibatch_order(ids, {"c7", "c8", "c9"}, 2, 0, 2)  # a new draw each iteration


def test_halving_rounds_double_until_keep_remain() -> None:
    from betterharness.optimize.search import round_sizes, survivors

    assert round_sizes(candidates=8, keep=1, minibatch=3, total=40) == [3, 6, 12, 24]
    assert round_sizes(candidates=4, keep=1, minibatch=2, total=5) == [2, 4, 5]
    assert round_sizes(candidates=1, keep=1, minibatch=6, total=4) == [4]
    assert survivors({1: 0, 2: 3, 3: 3, 4: -1, 5: 1}, [1, 2, 3, 4, 5], keep=1) == [2, 3, 5]


def test_screening_cost_counts_each_rounds_new_cases_for_the_candidates_in_it() -> None:
    from betterharness.optimize.search import screening_cost

    assert screening_cost(candidates=4, keep=1, minibatch=2, total=5) == 4 * 2 + 2 * 2 + 1 * 1
    assert screening_cost(candidates=4, keep=1, minibatch=0, total=5) == 0


def test_screen_score_is_paired_on_epoch_zero() -> None:
    from betterharness.optimize.search import screen_score

    before = [score("a", False), score("b", True), score("c", False), score("a", False, 1)]
    after = [score("a", True), score("b", False), score("c", True), score("a", True, 1)]
    assert screen_score(before, after, ["a", "b", "c"]) == 1  # +a +c -b; epoch 1 is not screened
    assert screen_score(before, after, ["a"]) == 1


def test_holm_and_spending_levels() -> None:
    from betterharness.optimize.search import holm_thresholds, spending_level

    assert holm_thresholds([0.2], 0.25) == [0.25]  # one candidate: alpha itself
    assert holm_thresholds([0.03, 0.2, 0.01], 0.25) == pytest.approx([0.125, 0.25, 0.25 / 3])
    assert holm_thresholds([0.2, 0.24], 0.25) == [0.125, 0.0]  # the first fails: so does the second
    levels = [spending_level(0.25, j) for j in range(1, 10_000)]
    assert levels[0] == pytest.approx(0.25 * 6 / math.pi**2) and sum(levels) < 0.25


def test_the_gate_holds_a_candidate_to_the_level_it_is_given() -> None:
    cases = [make_case(c) for c in ("a", "b", "c")]
    before = [score(c, False, e) for c in ("a", "b", "c") for e in (0, 1)]
    after = [score(c, True, e) for c in ("a", "b") for e in (0, 1)] + [score("c", False, e) for e in (0, 1)]
    config = GateConfig(alpha=0.25, min_net_fixed=1)
    assert gate(cases, before, after, config).passed  # 4 pairs gained, p = 1/16
    held = gate(cases, before, after, config, level=0.05, control="holm over 3 gated")
    assert not held.passed and "level 0.05 (holm over 3 gated)" in held.reasons[0]


def test_power_before_spending() -> None:
    from betterharness.config.schema import SearchConfig
    from betterharness.optimize.power import first_level, plan_power, power, smallest_gain

    assert smallest_gain(cases=10, epochs=2, level=0.25, min_net_fixed=1) == 1  # 4 pairs: p = 1/16
    assert smallest_gain(cases=10, epochs=1, level=0.25, min_net_fixed=1) == 2  # 1 pair: p = 1/2
    assert smallest_gain(cases=3, epochs=1, level=0.01, min_net_fixed=1) is None  # 3 pairs: p = 1/8
    assert first_level(GateConfig(alpha=0.2), SearchConfig(keep=2)) == pytest.approx(0.1)  # Holm's first level
    assert power([0.0] * 10, gain=1, epochs=2, level=0.25, min_net_fixed=1) == 1.0  # no noise at all
    noisy = [0.0] * 5 + [0.5] * 15  # five cases always fail, fifteen pass half the time
    assert power(noisy, 2, 1, 0.25, 1) < 0.5 < power(noisy, 2, 8, 0.25, 1)  # epochs buy power against noise
    plan = plan_power(noisy, 1, GateConfig(alpha=0.05), SearchConfig(), measured=True, gain=2)
    assert plan.smallest_gain == 5 and plan.power < 0.5
    assert "fixes at least 5 of 20" in plan.describe() and "baseline's pass rates" in plan.describe()


def test_tokens_added_counts_only_new_rendered_text() -> None:
    from betterharness.optimize.surfaces import tokens_added

    incumbent = Harness(name="h", sources={"system_prompt": "Be brief."})
    defaults = {"tool:lookup": "Look up an order.", "tool:lookup.id": "{{ param.default }}"}
    prompt = incumbent.with_source("system_prompt", "Be brief. " + "x" * 40)
    assert tokens_added(incumbent, prompt, defaults) == 10
    tool = incumbent.with_source("tool:lookup", "Look up an order. " + "y" * 20)  # started from the case's text
    assert tokens_added(incumbent, tool, defaults) == 5
    param = incumbent.with_source("tool:lookup.id", "{{ param.default }}" + "z" * 8)
    assert tokens_added(incumbent, param, defaults) == 2
