"""Metric-summary rows and the demo-model note, shared by run, sweep and optimizer reports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from betterharness.markdown import fmt, table

SUMMARY_HEADER = ["cases", "rollouts", "correctness", "95% CI", "pass@k", "pass^k", "step ratio",
                  "tool-call ratio", "latency ratio", "solve rate", "tokens", "cost $", "errored"]


def summary_row(summary: Any) -> list[Any]:
    """One row of SUMMARY_HEADER for a metrics Summary."""
    return [summary.cases, summary.rollouts, summary.correctness, summary.correctness_ci, summary.pass_at_k,
            summary.pass_hat_k, summary.step_ratio, summary.tool_call_ratio, summary.latency_ratio,
            summary.solve_rate, summary.total_tokens, summary.cost_usd, summary.errors]


DEMO_MODEL_NOTE = (
    "> **Demo-grade model.** `local/qwen2.5-coder-1.5b` is a 1.5B-parameter model run on the CPU. "
    "Its scores show the pipeline working end to end, not what a frontier model would do."
)


def model_note(model_ids: Sequence[str]) -> str:
    """The demo-model disclaimer when any of ``model_ids`` is the embedded model, else ''."""
    return DEMO_MODEL_NOTE if any(m.startswith("local/") for m in model_ids) else ""


__all__ = ["DEMO_MODEL_NOTE", "SUMMARY_HEADER", "fmt", "model_note", "summary_row", "table"]
