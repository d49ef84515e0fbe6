"""Mining input from this project's own runs: a ``traces.jsonl``, judged by its ``scores.jsonl``."""

from __future__ import annotations

from pathlib import Path

from betterharness.agent.trace import Trace
from betterharness.errors import BHError
from betterharness.evals.case import EvalCase
from betterharness.evals.mining import Rollout, digest_of
from betterharness.evals.transcripts import Observation, normalize_messages
from betterharness.scoring.score import Score
from betterharness.store.format import read_jsonl
from betterharness.store.rollouts import SCORES, RolloutKey

FAILED_STOPS = ("error", "max_steps", "max_tokens", "timeout")
"""Stop reasons that count as a failure when a trace has no score."""


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
    scores = scores or traces.with_name(SCORES)
    judged = {}
    if scores.is_file():
        judged = {RolloutKey.of(s): s
                  for s in read_jsonl(scores, Score, strict=True, fix="pass --scores with the run's scores.jsonl")}
    return [from_trace(t, judged.get(RolloutKey.of(t)), originals.get(t.case_id), str(traces))
            for t in read_jsonl(traces, Trace, strict=True, fix=fix)]
