"""``report.md`` of an optimize run: per-tag before/after, efficiency and cost, every version and decision."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from betterharness.optimize.outcome import OptimizeOutcome
from betterharness.optimize.search import SearchRecord
from betterharness.optimize.state import OptimizeState
from betterharness.report.tables import fmt, model_note, table
from betterharness.scoring.aggregate import Metrics


def _tag_table(model: str, metrics: dict[str, dict[str, Metrics]], strata: Sequence[str]) -> str:
    splits = [s for s in ("optimization", "holdout", "test") if s in metrics.get("baseline", {})]
    tags = sorted(strata)
    short = {"optimization": "Opt", "holdout": "Holdout", "test": "Test"}
    header = ["Model", "Phase", *[f"{short[s]} {t}" for s in splits for t in tags]]
    rows = []
    for phase in ("baseline", "final"):
        row: list[Any] = [f"`{model}`", phase]
        for split in splits:
            per_tag = metrics[phase].get(split)
            row += [per_tag.per_tag[t].correctness if per_tag and t in per_tag.per_tag else None for t in tags]
        rows.append(row)
    return table(header, rows)


def _efficiency(metrics: dict[str, dict[str, Metrics]]) -> str:
    rows = []
    for split in ("optimization", "holdout", "test"):
        base, final = metrics["baseline"].get(split), metrics.get("final", {}).get(split)
        if base is None or final is None:
            continue
        for field in ("correctness", "pass_hat_k", "step_ratio", "tool_call_ratio", "latency_ratio",
                      "mean_wall_s", "total_tokens", "cost_usd"):
            before, after = getattr(base.overall, field), getattr(final.overall, field)
            delta = after - before if isinstance(before, int | float) and isinstance(after, int | float) else None
            rows.append([split, field, before, after, delta])
    return table(["split", "metric", "baseline", "final", "delta"], rows)


def _iteration(result: OptimizeOutcome, index: int) -> str:
    it = result.state.iterations[index]
    lines = [f"### Iteration {it.index}: {it.outcome}", ""]
    if it.proposal:
        lines.append(f"- proposal: `{it.proposal.edit.op}` on `{it.proposal.edit.surface}`"
                     + (f" + `{it.proposal.also.surface}`" if it.proposal.also else "")
                     + f" — {it.proposal.rationale}")
    if it.rejection:
        where = "at screening" if it.outcome == "screened_out" else "before validation"
        lines.append(f"- rejected {where}: {it.rejection}")
    if it.search and len(it.search.candidates) > 1:
        lines += ["", _draws(it.search), ""]
    if it.gate:
        t = it.gate.transitions
        lines.append(f"- gate: {'passed' if it.gate.passed else 'failed'} — {'; '.join(it.gate.reasons)}")
        lines.append(f"- transitions: fixed {len(t.fixed)}, broken {len(t.broken)}, still passing "
                     f"{len(t.still_passing)}, still failing {len(t.still_failing)}, unstable {len(t.unstable)}")
        lines.append(f"- optimization {fmt(it.gate.opt_before)} → {fmt(it.gate.opt_after)}; holdout "
                     f"{fmt(it.gate.holdout_before)} → {fmt(it.gate.holdout_after)}")
    if it.tokens_added is not None:
        lines.append(f"- prompt cost: about {it.tokens_added:+d} tokens on every prompt holding the changed surfaces")
    if it.decision:
        lines.append(f"- review: **{it.decision.verdict}** by {it.decision.by} — {it.decision.reason}")
    if it.index in result.diffs:
        lines += ["", "```diff", result.diffs[it.index].rstrip(), "```"]
    return "\n".join(lines)


def _draws(search: SearchRecord) -> str:
    rounds = " → ".join(str(len(r)) for r in search.rounds) or "none"
    rows = [[c.draw, f"`{c.parent}`", c.proposal[:90] or "—", " → ".join(f"{v:+d}" for v in c.screen) or "—",
             f"p={c.p_value:.3f} at {c.level:.3g}" if c.gated and c.p_value is not None and c.level is not None
             else "—", "passed" if c.passed_gate else (c.rejection or ("failed" if c.gated else "not gated"))[:80]]
            for c in search.candidates]
    return (f"Draws (screening rounds of {rounds} cases; net epoch pairs gained vs the incumbent):\n\n"
            + table(["draw", "parent", "edit", "screen", "gate", "outcome"], rows))


def _search_line(state: OptimizeState, config: str) -> str:
    records = [it.search for it in state.iterations if it.search is not None]
    counts = {what: sum(r.count(what) for r in records) for what in ("drawn", "screened", "gated", "passed")}
    accepted = sum(1 for it in state.iterations if it.outcome == "accepted")
    return (f"- search: candidates drawn {counts['drawn']}, screened {counts['screened']}, gated {counts['gated']}, "
            f"passed the gate {counts['passed']}, accepted {accepted} · error control: {config} "
            f"({state.gate_tests} full-gate test(s))")


def _test_line(result: OptimizeOutcome) -> str:
    if not result.split.test:
        return "no sealed test split (split.test=0)"
    phases = [p for p in ("baseline", "final") if "test" in result.metrics.get(p, {})]
    if phases == ["baseline", "final"]:
        return ("the sealed test split was scored once, after every decision (baseline and final harness), and "
                "never read by a decision")
    return (f"the sealed test split was scored for {' and '.join(phases) or 'neither harness'} (the run stopped "
            "before the end) and never read by a decision")


def render_optimize_report(result: OptimizeOutcome) -> str:
    """The markdown report of one optimize run."""
    state, split = result.state, result.split
    if result.exported is not None:
        exported = (f"- exported harness: {', '.join(f'`{p}`' for p in result.exported.paths)} — use it with "
                    f"`{result.exported.usage}`")
    else:
        exported = "- no change was accepted: the baseline harness stands, nothing was exported"
    accepted = [it for it in state.iterations if it.outcome == "accepted"]
    note = model_note([result.model])
    versions = [_iteration(result, i) for i in range(len(state.iterations))]
    return "\n".join([
        f"# betterharness optimize run `{result.hash}`", "",
        *([note, ""] if note else []),
        f"- model: `{result.model}` · proposer: `{result.proposer}` · epochs: {result.epochs}",
        f"- split (seed {split.seed}): {len(split.optimization)} optimization, {len(split.holdout)} "
        f"holdout, {len(split.test)} test cases; the proposer never saw holdout or test cases",
        f"- baseline harness `{state.baseline}` → final `{state.incumbent}` "
        f"({len(accepted)} accepted of {len(state.iterations)} iterations)",
        f"- stopped: {state.stop_reason or 'finished'} · holdout consulted {state.holdout_consultations} "
        f"time(s) as a gate (repeated use biases it upward); {_test_line(result)}",
        _search_line(state, result.error_control),
        *([f"- power: {state.power}"] if state.power else []),
        f"- rollouts: {result.rollouts} · cost: ${result.cost_usd:.4f}",
        exported, "",
        "## Correctness per tag, before and after", "",
        _tag_table(result.model, result.metrics, list(split.by_tag)), "",
        "## Efficiency and cost", "",
        _efficiency(result.metrics), "",
        "## Iterations, versions and decisions", "",
        *(versions or ["No iteration ran."]), "",
    ])
