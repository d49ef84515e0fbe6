"""Rollouts to mine: this project's ``traces.jsonl`` (judged by its ``scores.jsonl``) and LangSmith runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from betterharness.errors import BHError
from betterharness.evals.case import EvalCase
from betterharness.evals.mining import Rollout, digest_of
from betterharness.evals.transcripts import (
    Observation,
    normalize_messages,
    observations_from_messages,
    run_view,
)
from betterharness.scoring.score import Score
from betterharness.trace import Trace

FAILED_STOPS = ("error", "max_steps", "max_tokens", "timeout")
"""Stop reasons that count as a failure when a trace has no score."""
NEGATIVE_FEEDBACK = ("correctness", "user_score")
"""LangSmith feedback keys whose mean below 0.5 marks a run as failed."""


def read_jsonl(path: Path, model: type[BaseModel], fix: str) -> list[Any]:
    """Every line of ``path`` as ``model``; a bad line raises BHError naming it (a torn last line is skipped).

    ``fix`` is the next step the error suggests.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise BHError(f"cannot read {path.name}: {exc.strerror}", file=path, fix=fix) from None
    items = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            items.append(model.model_validate_json(line))
        except ValidationError as exc:
            if number == len(lines) and exc.errors()[0]["type"] == "json_invalid":
                continue  # an interrupted run leaves a torn last line
            raise BHError(f"line {number} is not a valid {model.__name__}: {exc.errors()[0]['msg']}",
                          file=f"{path}:{number}", fix=fix) from None
    return items


def from_trace(trace: Trace, score: Score | None, original: EvalCase | None, origin: str = "") -> Rollout:
    """A rollout of this project's own runs; the original case (when found) supplies the seed environment."""
    where = f", from {origin}" if origin else ""
    notes = [f"model {trace.model}, harness {trace.harness_hash[:12]}{where}"]
    if score is not None:
        failed = not score.passed
        failures = ", ".join(v.assertion for v in score.verdicts if not v.passed)
        reason = ("correctness 0" + (f"; failed {failures}" if failures else "")) if failed else ""
    else:
        failed = trace.error is not None or trace.stop_reason in FAILED_STOPS
        reason = f"no score recorded; stop reason {trace.stop_reason}"
        reason += f", error: {trace.error}" if trace.error else ""
    if original is None:
        notes.append("seed files unknown (original case not found): files/memory are the final state")
    observations = [Observation(r.name, c.arguments, r.content, r.error) for step in trace.steps
                    for c in step.tool_calls for r in step.tool_results if r.call_id == c.id]
    schemas = {t.name: {"description": t.description, "parameters": t.parameters}
               for t in (original.environment.tools if original else [])}
    return Rollout(
        source="traces", ref=f"{trace.case_id}#{trace.epoch}",
        digest=digest_of(trace.model_dump(mode="json")),
        messages=normalize_messages(trace.messages), failed=failed, reason=reason,
        tags=list(score.tags if score else original.tags if original else []), observations=observations,
        tool_names=list(trace.tools), schemas=schemas,
        environment=original.environment.model_dump(mode="json", by_alias=True, exclude_unset=True)
        if original else None,
        files={} if original else dict(trace.files), memory={} if original else dict(trace.memory),
        success=[a.to_yaml() for a in original.success] if original else None, notes=notes)


def read_traces(traces: Path, scores: Path | None, originals: dict[str, EvalCase]) -> list[Rollout]:
    """The rollouts of a ``traces.jsonl``, judged by ``scores`` (default: the sibling ``scores.jsonl``)."""
    fix = "pass the traces.jsonl of a run folder, e.g. outputs/<hash>/traces.jsonl"
    if not traces.is_file():
        raise BHError(f"no traces file at {traces}", file=traces, fix=fix)
    scores = scores or traces.with_name("scores.jsonl")
    judged = {}
    if scores.is_file():
        judged = {(s.harness_hash, s.model, s.case_id, s.epoch): s
                  for s in read_jsonl(scores, Score, "pass --scores with the run's scores.jsonl")}
    return [from_trace(t, judged.get((t.harness_hash, t.model, t.case_id, t.epoch)), originals.get(t.case_id),
                       str(traces)) for t in read_jsonl(traces, Trace, fix)]


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


def fetch_runs(run_ids: list[str], client: Any = None) -> list[dict[str, Any]]:
    """Runs read from LangSmith with their child runs (needs ``LANGSMITH_API_KEY``, unless given a client)."""
    if client is None:
        import os

        if not os.environ.get("LANGSMITH_API_KEY"):
            raise BHError("--run-id needs LangSmith access, and LANGSMITH_API_KEY is not set",
                          key="LANGSMITH_API_KEY",
                          fix="export LANGSMITH_API_KEY=..., or mine an exported runs.json")
        from langsmith import Client

        client = Client()
    runs = []
    for run_id in run_ids:
        try:
            run = client.read_run(run_id, load_child_runs=True)
        except Exception as exc:  # noqa: BLE001 - any client failure becomes one clear message
            raise BHError(f"could not read LangSmith run {run_id}: {exc}", value=run_id,
                          fix="check the run id and that the API key can read its project") from None
        runs.append(run.model_dump(mode="json") if hasattr(run, "model_dump") else dict(run))
    return runs
