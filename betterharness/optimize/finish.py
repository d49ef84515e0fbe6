"""The end of an optimize run: metrics per phase and split, the report, and the exported harness."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from betterharness.harness.templates import write_harness
from betterharness.harness.versions import diff
from betterharness.latency import LatencyBook
from betterharness.paths import conf_dir, templates_dir
from betterharness.report.tables import fmt, model_note, table
from betterharness.scoring.aggregate import Metrics, aggregate
from betterharness.store import write_json, write_text

if TYPE_CHECKING:
    from betterharness.optimize.loop import Optimizer


def phase_metrics(opt: Optimizer) -> dict[str, dict[str, Metrics]]:
    """Metrics for baseline and final harness, per split."""
    out: dict[str, dict[str, Metrics]] = {}
    book = LatencyBook(Path(opt.config.runtime.outputs))
    book.update(list(opt.store.scores.values()))
    for phase, version in (("baseline", opt.state.baseline), ("final", opt.state.incumbent)):
        out[phase] = {}
        for name in ("optimization", "holdout", "test"):
            ids = set(opt.split.ids(name))
            scores = [s for (h, m, cid, _), s in opt.store.scores.items()
                      if h == version and m == opt.clients.agent.model.id and cid in ids]
            if scores:
                out[phase][name] = aggregate(book.apply(scores))
    return out


def export(opt: Optimizer) -> tuple[Path, str]:
    """Write the final harness as a template set, next to the set it started from.

    With the shipped templates (``harness.dir`` null) it also writes ``conf/harness/<name>.yaml`` so a later
    run takes ``harness=<name>``; with a user's ``harness.dir`` it lands there as ``harness.name=<name>``.
    A copy always goes to ``<run>/harness/<name>/``.
    """
    final = opt.harness(opt.state.incumbent)
    name = f"{opt.config.harness.name}_opt_{final.hash[:8]}"
    write_harness(final, opt.folder / "harness" / name)
    how = f"harness.dir={opt.folder / 'harness'} harness.name={name}"
    user_dir = opt.config.harness.dir
    try:
        if user_dir:
            write_harness(final, Path(user_dir).expanduser() / name)
            return Path(user_dir) / name, f"harness.dir={user_dir} harness.name={name}"
        write_harness(final, templates_dir() / name)
        option = yaml.safe_dump({"name": name, "dir": None, "vars": dict(final.vars)}, sort_keys=False)
        write_text(conf_dir() / "harness" / f"{name}.yaml",
                   f"# Exported by betterharness from run {opt.experiment.hash} (harness {final.hash}).\n{option}")
        return templates_dir() / name, f"harness={name}"
    except OSError:
        return opt.folder / "harness" / name, how


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


def finish(opt: Optimizer) -> Path:
    """Write metrics.json, the exported harness and report.md; mark the experiment complete."""
    metrics = phase_metrics(opt)
    write_json(opt.folder / "metrics.json", {
        "overall": metrics["final"].get("holdout", metrics["final"].get("optimization")).overall.model_dump()
        if metrics.get("final") else {},
        "phases": {p: {s: m.model_dump() for s, m in split.items()} for p, split in metrics.items()},
    })
    if opt.state.incumbent != opt.state.baseline:
        path, how = export(opt)
        exported = f"- exported harness: `{path}` — use it with `{how}`"
    else:
        exported = "- no change was accepted: the baseline harness stands, nothing was exported"
    model = opt.clients.agent.model.id
    versions = []
    for it in opt.state.iterations:
        head = f"### Iteration {it.index}: {it.outcome}"
        lines = [head, ""]
        if it.proposal:
            lines.append(f"- proposal: `{it.proposal.edit.op}` on `{it.proposal.edit.surface}`"
                         + (f" + `{it.proposal.also.surface}`" if it.proposal.also else "")
                         + f" — {it.proposal.rationale}")
        if it.rejection:
            lines.append(f"- rejected before validation: {it.rejection}")
        if it.gate:
            t = it.gate.transitions
            lines.append(f"- gate: {'passed' if it.gate.passed else 'failed'} — {'; '.join(it.gate.reasons)}")
            lines.append(f"- transitions: fixed {len(t.fixed)}, broken {len(t.broken)}, still passing "
                         f"{len(t.still_passing)}, still failing {len(t.still_failing)}, unstable {len(t.unstable)}")
            lines.append(f"- optimization {fmt(it.gate.opt_before)} → {fmt(it.gate.opt_after)}; holdout "
                         f"{fmt(it.gate.holdout_before)} → {fmt(it.gate.holdout_after)}")
        if it.decision:
            lines.append(f"- review: **{it.decision.verdict}** by {it.decision.by} — {it.decision.reason}")
        if it.candidate:
            lines += ["", "```diff", diff(opt.harness(it.incumbent), opt.harness(it.candidate)).rstrip(), "```"]
        versions.append("\n".join(lines))
    accepted = [it for it in opt.state.iterations if it.outcome == "accepted"]
    note = model_note([model])
    text = "\n".join([
        f"# betterharness optimize run `{opt.experiment.hash}`", "",
        *([note, ""] if note else []),
        f"- model: `{model}` · proposer: `{opt.proposer.model.id}` · epochs: {opt.epochs}",
        f"- split (seed {opt.split.seed}): {len(opt.split.optimization)} optimization, {len(opt.split.holdout)} "
        f"holdout, {len(opt.split.test)} test cases; the proposer never saw holdout or test cases",
        f"- baseline harness `{opt.state.baseline}` → final `{opt.state.incumbent}` "
        f"({len(accepted)} accepted of {len(opt.state.iterations)} iterations)",
        f"- stopped: {opt.state.stop_reason or 'finished'} · holdout consulted {opt.state.holdout_consultations} "
        "time(s) as a gate (repeated use biases it upward); the test split was only scored, at baseline and "
        "at the end, and never read by a decision",
        f"- rollouts: {opt.rollouts_used()} · cost: ${opt.cost_used():.4f}",
        exported, "",
        "## Correctness per tag, before and after", "",
        _tag_table(model, metrics, list(opt.split.by_tag)), "",
        "## Efficiency and cost", "",
        _efficiency(metrics), "",
        "## Iterations, versions and decisions", "",
        *(versions or ["No iteration ran."]), "",
    ])
    report = opt.folder / "report.md"
    write_text(report, text)
    opt.experiment.finish(status="complete", final_harness=opt.state.incumbent, stop_reason=opt.state.stop_reason)
    return report
