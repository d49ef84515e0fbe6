"""Rollouts to mine from LangSmith: an exported list of runs, each with its child runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from betterharness.errors import BHError
from betterharness.evals.mining import Rollout, digest_of
from betterharness.evals.transcripts import observations_from_messages, run_view

NEGATIVE_FEEDBACK = ("correctness", "user_score")
"""LangSmith feedback keys whose mean below 0.5 marks a run as failed."""


def _mean(stat: Any) -> float | None:
    if isinstance(stat, int | float) and not isinstance(stat, bool):
        return float(stat)
    if isinstance(stat, dict) and isinstance(stat.get("avg"), int | float):
        return float(stat["avg"])
    return None


def from_run(run: dict[str, Any]) -> Rollout:
    """A rollout of one serialised LangSmith run (its child runs give the tool calls and schemas)."""
    view = run_view(run)
    reasons = [f"run error: {str(run['error']).strip().splitlines()[0][:200]}"] if run.get("error") else []
    for key, stat in sorted((run.get("feedback_stats") or {}).items()):
        mean = _mean(stat)
        if key in NEGATIVE_FEEDBACK and mean is not None and mean < 0.5:
            reasons.append(f"feedback {key}={mean:g}")
    notes = ["files/memory: the run's input state"] if view.files or view.memory else []
    return Rollout(
        source="langsmith", ref=str(run.get("id", "")), digest=digest_of(run), messages=view.messages,
        failed=bool(reasons), reason="; ".join(reasons), tags=[str(t) for t in run.get("tags") or []],
        observations=view.observations or observations_from_messages(view.messages), schemas=view.schemas,
        files=view.files, memory=view.memory, notes=notes)


def read_runs(path: Path) -> list[dict[str, Any]]:
    """The runs of a LangSmith export: a JSON list of runs (or ``{"runs": [...]}``, or one run)."""
    fix = ("export the runs as a JSON list, e.g. "
           "json.dump([r.model_dump(mode='json') for r in client.list_runs(...)], f)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BHError(f"cannot read the LangSmith export: {exc.strerror}", file=path, fix=fix) from None
    except json.JSONDecodeError as exc:
        raise BHError(f"malformed JSON: {exc.msg}", file=f"{path}:{exc.lineno}", fix=fix) from None
    runs = data.get("runs", [data]) if isinstance(data, dict) else data
    if not isinstance(runs, list) or not all(isinstance(r, dict) for r in runs):
        raise BHError("expected a list of run objects", file=path, fix=fix)
    return runs


