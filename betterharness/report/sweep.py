"""The sweep summary: one row per job of a multirun, ranked by correctness, then efficiency."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from betterharness.atomic import write_json, write_text
from betterharness.report.tables import model_note, table
from betterharness.store.folder import runs_under
from betterharness.store.format import StoreError


def _rank_key(row: dict[str, Any]) -> tuple[float, float, float, float, float]:
    o = row["overall"]
    big = float("inf")
    return (-(o.get("correctness") or 0.0), o.get("step_ratio") or big, o.get("tool_call_ratio") or big,
            o.get("latency_ratio") or big, o.get("cost_usd") or 0.0)


def collect(outputs: Path, sweep_id: str) -> list[dict[str, Any]]:
    """The finished jobs of sweep ``sweep_id`` under ``outputs``, with their overall metrics."""
    rows = []
    for run in runs_under(outputs):
        try:
            record, metrics = run.read_record(), run.read_metrics()
        except StoreError:
            continue
        if record is None or metrics is None or record.get("sweep_id") != sweep_id:
            continue
        rows.append({"hash": record["hash"], "model": record["config"]["model"]["id"],
                     "overrides": record.get("overrides", []), "status": record.get("status"),
                     "overall": metrics["overall"], "per_tag": metrics.get("per_tag", {})})
    return sorted(rows, key=_rank_key)


def write_sweep_summary(outputs: Path, sweep_id: str) -> Path | None:
    """Write ``_sweeps/<id>.json`` and ``.md``; None when no job finished."""
    rows = collect(outputs, sweep_id)
    if not rows:
        return None
    header = ["rank", "model", "overrides", "correctness", "pass^k", "step ratio", "tool-call ratio",
              "latency ratio", "tokens", "cost $", "folder"]
    body = [[i + 1, f"`{r['model']}`", " ".join(r["overrides"]), r["overall"]["correctness"],
             r["overall"].get("pass_hat_k"), r["overall"].get("step_ratio"), r["overall"].get("tool_call_ratio"),
             r["overall"].get("latency_ratio"), r["overall"].get("total_tokens"), r["overall"].get("cost_usd"),
             r["hash"]] for i, r in enumerate(rows)]
    tags = sorted({t for r in rows for t in r["per_tag"]})
    tag_rows = [[f"`{r['model']}`", *[r["per_tag"].get(t, {}).get("correctness") for t in tags]] for r in rows]
    note = model_note([r["model"] for r in rows])
    text = "\n".join([
        f"# Sweep {sweep_id}", "",
        *([note, ""] if note else []),
        "Ranked by correctness, then step ratio, tool-call ratio, latency ratio and cost (lower is better).", "",
        table(header, body), "", "## Correctness per tag", "", table(["model", *tags], tag_rows), "",
    ])
    folder = outputs / "_sweeps"
    write_json(folder / f"{sweep_id}.json", rows)
    write_text(folder / f"{sweep_id}.md", text)
    return folder / f"{sweep_id}.md"
