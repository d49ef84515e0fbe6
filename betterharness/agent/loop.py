"""The built-in agent adapter: one case, one rollout, our own loop over the model and the case's tools.

It never raises: a failure ends the rollout and is recorded in its trace.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from betterharness.agent.tools import ToolEnvironment
from betterharness.agent.trace import Annotation, Step, Trace
from betterharness.agent.user import UserSimulator
from betterharness.config.schema import LimitsConfig
from betterharness.errors import BHError
from betterharness.evals.case import EvalCase
from betterharness.harness.templates import Harness
from betterharness.models.completion import ModelClient


def _input_messages(case: EvalCase) -> list[dict[str, Any]]:
    messages = []
    for message in case.input.messages:
        item = message.model_dump(exclude_none=True)
        if message.tool_calls:
            item["tool_calls"] = [
                {"id": f"hist_{i}", "type": "function",
                 "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
                for i, c in enumerate(message.tool_calls)
            ]
        messages.append(item)
    return messages


class AgentRun:
    """The state of one rollout; ``run()`` fills ``trace`` and returns it, whatever happens."""

    def __init__(self, case: EvalCase, harness: Harness, agent: ModelClient, limits: LimitsConfig, *,
                 epoch: int = 0, user: ModelClient | None = None) -> None:
        self.case = case
        self.harness = harness
        self.agent = agent
        self.limits = limits
        self.env = ToolEnvironment(case.environment, view=harness)
        self.user = (UserSimulator(case.input.user, user, limits.max_user_turns)
                     if case.input.user else None)
        self.trace = Trace(case_id=case.id, epoch=epoch, model=agent.model.id, harness_hash=harness.hash)

    async def run(self) -> Trace:
        """Run to a final answer, a cap, or an error; the trace records which."""
        trace = self.trace
        trace.started_at = time.time()
        start = time.perf_counter()
        try:
            async with asyncio.timeout(self.limits.max_wall_s):
                await self._loop()
        except TimeoutError:
            trace.stop_reason = "timeout"
            trace.error = f"wall-time cap of {self.limits.max_wall_s:g}s reached"
        except BHError as exc:  # a model call (its kind says whose fault), or the harness's own template
            trace.stop_reason = "error"
            trace.error = exc.problem
            trace.error_kind = getattr(exc, "kind", None)
        except Exception as exc:  # noqa: BLE001 - a case never raises; a crash of ours is not the agent's
            trace.stop_reason = "error"
            trace.error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")
            trace.error_kind = "internal"
        trace.wall_s = time.perf_counter() - start
        trace.annotations.extend(Annotation(kind="case_defect", data={"problem": p}) for p in self.env.defects)
        trace.files = self.env.files
        trace.memory = self.env.memory
        if self.user is not None:
            trace.aux_usage.add(self.user.usage)
        return trace

    async def _loop(self) -> None:
        trace = self.trace
        specs = self.env.specs()
        tools = [spec.openai() for spec in specs]
        trace.tools = [spec.name for spec in specs]
        system = self.harness.system_prompt([{"name": s.name, "description": s.description} for s in specs],
                                            self.env.memory)
        messages: list[dict[str, Any]] = [{"role": "system", "content": system}, *_input_messages(self.case)]
        if self.user is not None:
            messages.append({"role": "user", "content": self.user.opening()})
        trace.messages = messages
        max_steps = self.case.max_steps or self.limits.max_steps
        while True:
            if len(trace.steps) >= max_steps:
                trace.stop_reason = "max_steps"
                return
            if trace.usage.total_tokens >= self.limits.max_tokens:
                trace.stop_reason = "max_tokens"
                return
            completion = await self.agent.complete(messages, tools or None)
            step = Step(index=len(trace.steps), content=completion.content, tool_calls=completion.tool_calls,
                        latency_s=completion.latency_s, usage=completion.usage,
                        finish_reason=completion.finish_reason)
            trace.steps.append(step)
            trace.usage.add(completion.usage)
            messages.append(completion.message)
            if completion.tool_calls:
                results = await asyncio.gather(
                    *(self.env.call(c.id, c.name, c.raw_arguments or c.arguments) for c in completion.tool_calls)
                )
                step.tool_results = list(results)
                messages.extend({"role": "tool", "tool_call_id": r.call_id, "name": r.name, "content": r.content}
                                for r in results)
                continue
            trace.final_text = completion.content or ""
            if self.user is None:
                trace.stop_reason = "final"
                return
            reply = await self.user.reply(messages)
            trace.user_turns = self.user.turns
            if reply is None:
                trace.stop_reason = "user_stop"
                return
            messages.append({"role": "user", "content": reply})


async def run_case(case: EvalCase, harness: Harness, agent: ModelClient, limits: LimitsConfig, *,
                   epoch: int = 0, user: ModelClient | None = None) -> Trace:
    """Run one rollout of ``case``; errors end up in the returned trace, never raised."""
    try:
        run = AgentRun(case, harness, agent, limits, epoch=epoch, user=user)
    except Exception as exc:  # noqa: BLE001 - e.g. a harness template failing for this case's tools
        return Trace(case_id=case.id, epoch=epoch, model=agent.model.id, harness_hash=harness.hash,
                     stop_reason="error", error=getattr(exc, "problem", None) or str(exc))
    return await run.run()
