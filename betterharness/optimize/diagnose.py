"""Failing rollouts of the optimization set -> failure clusters by tag and signature, with excerpts."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Sequence

from pydantic import BaseModel, Field

from betterharness.agent.trace import Trace
from betterharness.evals.case import EvalCase
from betterharness.scoring.score import Score

LOOP_REPEATS = 3


def _clip(text: object, limit: int) -> str:
    value = text if isinstance(text, str) else json.dumps(text, default=str)
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def signature(score: Score, trace: Trace | None, case: EvalCase) -> str:
    """A short label of why a rollout failed (the first matching rule wins)."""
    if score.error or (trace and trace.error):
        return f"error:{(trace.stop_reason if trace else score.stop_reason)}"
    if trace is not None:
        calls = Counter((c.name, json.dumps(c.arguments, sort_keys=True)) for c in trace.tool_calls)
        if calls and max(calls.values()) >= LOOP_REPEATS:
            return "loop:repeated_call"
        if trace.stop_reason == "max_steps":
            return "cap:max_steps"
        if any(r.error for s in trace.steps for r in s.tool_results):
            return "tool_error"
        if not trace.tool_calls and case.ideal.tool_calls > 0 and "?" in trace.final_text:
            return "over_asking"
    failed = [v for v in score.verdicts if not v.passed]
    if not failed:
        return "failed"
    first = failed[0]
    if first.assertion == "tool_called" and trace is not None and trace.tool_calls:
        return "wrong_tool"
    return f"assertion:{first.assertion}"


class Excerpt(BaseModel):
    """A compact view of one failing rollout for the proposer."""

    case_id: str
    epoch: int
    description: str
    signature: str
    request: str
    steps: list[str]
    final_text: str
    failed: list[str]
    tools: list[str] = Field(default_factory=list, description="The tools the agent was offered.")


class Cluster(BaseModel):
    """Failures sharing a tag and a signature."""

    tag: str
    signature: str
    cases: list[str]
    excerpts: list[Excerpt] = Field(default_factory=list)


class Diagnosis(BaseModel):
    """The failure clusters of one iteration, biggest first."""

    failing_cases: int
    total_cases: int
    clusters: list[Cluster]

    def tools(self) -> set[str]:
        """Every tool offered in a failing rollout shown to the proposer."""
        return {tool for cluster in self.clusters for ex in cluster.excerpts for tool in ex.tools}


def excerpt(score: Score, trace: Trace | None, case: EvalCase, sig: str) -> Excerpt:
    """A few hundred characters that show what the agent did and which assertion failed."""
    request = next((m.content or "" for m in case.input.messages if m.role == "user"),
                   case.input.user.opening if case.input.user else "")
    steps: list[str] = []
    for step in (trace.steps if trace else [])[:8]:
        for call, result in zip(step.tool_calls, step.tool_results, strict=False):
            flag = " [tool error]" if result.error else ""
            steps.append(f"step {step.index}: {call.name}({_clip(call.arguments, 120)}) -> "
                         f"{_clip(result.content, 120)}{flag}")
        if not step.tool_calls and step.content:
            steps.append(f"step {step.index}: says {_clip(step.content, 160)}")
    failed = [f"{v.assertion}: {_clip(v.detail, 160)}" for v in score.verdicts if not v.passed]
    if score.error:
        failed.append(f"error: {_clip(score.error, 160)}")
    return Excerpt(case_id=case.id, epoch=score.epoch, description=case.description, signature=sig,
                   request=_clip(request, 240), steps=steps, final_text=_clip(trace.final_text if trace else "", 200),
                   failed=failed, tools=list(trace.tools) if trace else [])


def diagnose(cases: Sequence[EvalCase], scores: Sequence[Score], traces: dict[tuple[str, int], Trace],
             max_excerpts: int = 6) -> Diagnosis:
    """Group the failing rollouts of ``cases`` by (tag, signature); keep up to ``max_excerpts`` excerpts."""
    by_id = {c.id: c for c in cases}
    grouped: dict[tuple[str, str], list[tuple[Score, Trace | None]]] = defaultdict(list)
    failing = set()
    for score in scores:
        case = by_id.get(score.case_id)
        if case is None or score.passed or score.errored:  # an errored rollout says nothing of the harness
            continue
        failing.add(case.id)
        trace = traces.get((score.case_id, score.epoch))
        grouped[(case.category, signature(score, trace, case))].append((score, trace))
    clusters = []
    for (tag, sig), items in sorted(grouped.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        seen: set[str] = set()
        clusters.append(Cluster(tag=tag, signature=sig, cases=sorted({s.case_id for s, _ in items}), excerpts=[
            excerpt(s, t, by_id[s.case_id], sig) for s, t in items
            if not (s.case_id in seen or seen.add(s.case_id))  # type: ignore[func-returns-value]
        ]))
    budget = max_excerpts
    for cluster in clusters:
        keep = min(len(cluster.excerpts), max(1, budget)) if budget > 0 else 0
        cluster.excerpts = cluster.excerpts[:keep]
        budget -= keep
    return Diagnosis(failing_cases=len(failing), total_cases=len(by_id), clusters=clusters)
