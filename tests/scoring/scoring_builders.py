"""Builders for the hand-made traces and cases of the scoring tests."""

from __future__ import annotations

from typing import Any

from betterharness.agent.trace import Step, ToolCall, ToolResult, Trace, Usage
from betterharness.evals.case import EvalCase

Call = tuple[str, dict[str, Any]]


def build_step(index: int, calls: list[Call], errors: tuple[str, ...] = ()) -> Step:
    """A step whose calls each got a result; results of tools named in ``errors`` are errors."""
    tool_calls = [ToolCall(id=f"c{index}_{i}", name=name, arguments=args)
                  for i, (name, args) in enumerate(calls)]
    results = [ToolResult(call_id=c.id, name=c.name, content=f"{c.name} failed" if c.name in errors else "ok",
                          error=c.name in errors) for c in tool_calls]
    return Step(index=index, tool_calls=tool_calls, tool_results=results)


def build_trace(
    steps: list[list[Call]] | None = None,
    final_text: str = "",
    files: dict[str, str] | None = None,
    memory: dict[str, str] | None = None,
    wall_s: float = 0.0,
    error: str | None = None,
    errors: tuple[str, ...] = (),
    usage: Usage | None = None,
    messages: list[dict[str, Any]] | None = None,
) -> Trace:
    """A Trace with the given tool calls per step; a final text-only step is appended when there is text."""
    built = [build_step(i, calls, errors=errors) for i, calls in enumerate(steps or [])]
    if final_text:
        built.append(Step(index=len(built), content=final_text))
    return Trace(case_id="c1", model="m", harness_hash="h", steps=built, final_text=final_text,
                 files=files or {}, memory=memory or {}, wall_s=wall_s, error=error,
                 usage=usage or Usage(), messages=messages or [])


def build_case(
    success: list[Any] | None = None,
    ideal: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    memory: dict[str, str] | None = None,
    case_id: str = "c1",
) -> EvalCase:
    """A valid EvalCase with one user message."""
    return EvalCase.model_validate({
        "id": case_id,
        "description": "A test case.",
        "tags": tags or ["tool_use"],
        "input": {"messages": [{"role": "user", "content": "Please do the thing."}]},
        "environment": {"memory": memory or {}},
        "success": success or [{"final_text_contains": "done"}],
        "ideal": ideal or {"steps": 2, "tool_calls": 1},
    })

