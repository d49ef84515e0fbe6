"""``report.md`` of a plain eval run: overall and per-tag metrics, failures, invalid case files."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from betterharness.errors import CaseError
from betterharness.report.tables import SUMMARY_HEADER, model_note, summary_row, table
from betterharness.scoring.score import Score


def failures_section(scores: Sequence[Score], limit: int = 40) -> str:
    """A bullet per failing rollout: the first failed assertion or the error."""
    lines = []
    for score in scores:
        if score.passed:
            continue
        reason = score.error or next((f"{v.assertion}: {v.detail}" for v in score.verdicts if not v.passed), "")
        mark = f" **errored ({score.error_kind}), not scored**" if score.errored else ""
        lines.append(f"- `{score.case_id}` (epoch {score.epoch}){mark}: {reason[:200]}")
    if not lines:
        return "All rollouts passed."
    extra = f"\n- … and {len(lines) - limit} more (see scores.jsonl)" if len(lines) > limit else ""
    return "\n".join(lines[:limit]) + extra


def invalid_section(errors: Sequence[CaseError]) -> str:
    """The case files that did not load (they were skipped, not run)."""
    if not errors:
        return ""
    items = "\n".join(f"- {e.file}: {e.problem}" + (f" (key `{e.key}`)" if e.key else "") for e in errors)
    return f"## Invalid case files (skipped)\n\n{items}\n"


def render_run_report(record: dict[str, Any], metrics: Any, scores: Sequence[Score],
                      errors: Sequence[CaseError] = ()) -> str:
    """The markdown report of one plain eval run."""
    config = record["config"]
    model = config["model"]["id"]
    head = [
        f"# betterharness run `{record['hash']}`",
        "",
        f"- model: `{model}`",
        f"- harness: `{config['harness']['name']}` (version `{scores[0].harness_hash if scores else '—'}`)",
        f"- cases: {metrics.overall.cases} · epochs: {config['epochs']} · rollouts: {metrics.overall.rollouts}",
        f"- started: {record.get('started_at')} · ended: {record.get('ended_at') or 'running'}",
        "",
    ]
    note = model_note([model])
    per_tag = [[tag, *summary_row(s)] for tag, s in sorted(metrics.per_tag.items())]
    body = [
        *([note, ""] if note else []),
        "## Overall",
        "",
        table(SUMMARY_HEADER, [summary_row(metrics.overall)]),
        "",
        "## Per tag",
        "",
        table(["tag", *SUMMARY_HEADER], per_tag),
        "",
        "Ratios compare each rollout with the case's ideal trajectory (1.0 = ideal; above is slower or "
        "wordier). pass@k: solved in at least one of k epochs; pass^k: solved in all k. Errored rollouts "
        "(a model or judge call failed, not the agent) are counted but left out of every other figure.",
        "",
        "## Failures",
        "",
        failures_section(scores),
        "",
        invalid_section(errors),
    ]
    return "\n".join(head + body).rstrip() + "\n"
