"""Provider ``scripted``: the test double. It replays declared responses, and fails loudly on anything else.

Like inspect_ai's ``mockllm``, it takes its responses from its own configuration and client, never from
a global store: ``bind(case=...)`` gives a client that replays that case's ``script`` for its role (the
agent role falls back to ``ideal.trajectory``); ``bind(call=n)`` gives the n-th of ``options.responses``
(or of the YAML/JSON list in ``options.responses_file``), which is how a scripted proposer answers
iteration n; an unbound client replays ``options.responses`` in order. ``options.cost_usd`` is what each
response reports it cost (default 0), so budgets can be tested. It is a test double, not an offline model.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from betterharness.config.schema import ModelConfig, RuntimeConfig
from betterharness.errors import ConfigError, ModelCallError
from betterharness.evals.case import EvalCase, ScriptedStep, ScriptVariant
from betterharness.models.completion import Completion, ModelClient, ToolCall, Usage

_ids = itertools.count()


def configured_responses(options: dict[str, Any]) -> list[Any] | None:
    """``options.responses``, or the list in the YAML/JSON file ``options.responses_file``; None when neither."""
    if options.get("responses_file"):
        path = Path(str(options["responses_file"]))
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read the scripted responses: {exc}", file=path,
                              key="options.responses_file", fix="point it at a YAML or JSON list") from None
        return list(loaded or [])
    responses = options.get("responses")
    return None if responses is None else list(responses)


def case_script(case: EvalCase, role: str) -> tuple[list[Any] | None, list[ScriptVariant]]:
    """The responses (and, for the agent, the harness-dependent variants) a case declares for ``role``;
    None when it declares none."""
    script = case.script
    if role == "agent":
        agent = script.agent if script is not None and script.agent is not None else case.ideal.trajectory
        return (None if agent is None else list(agent)), list(script.variants) if script is not None else []
    declared = getattr(script, role, None) if script is not None and role in ("judge", "user") else None
    return (None if declared is None else list(declared)), []


def _step(item: Any) -> ScriptedStep:
    if isinstance(item, ScriptedStep):
        return item
    if isinstance(item, dict) and ("content" in item or "tool_calls" in item):
        return ScriptedStep.model_validate(item)
    return ScriptedStep(content=item if isinstance(item, str) else json.dumps(item))


def _completion(step: ScriptedStep, messages: list[dict[str, Any]], cost_usd: float) -> Completion:
    n = next(_ids)
    calls = [ToolCall(id=f"call_{n}_{i}", name=c.name, arguments=c.arguments) for i, c in enumerate(step.tool_calls)]
    message: dict[str, Any] = {"role": "assistant", "content": step.content}
    if calls:
        message["tool_calls"] = [{"id": c.id, "type": "function",
                                  "function": {"name": c.name, "arguments": json.dumps(c.arguments)}} for c in calls]
    words = sum(len(str(m.get("content") or "").split()) for m in messages)
    out = len(str(step.content or "").split()) + 8 * len(calls)
    return Completion(content=step.content, tool_calls=calls,
                      usage=Usage(prompt_tokens=words, completion_tokens=out, total_tokens=words + out,
                                  cost_usd=cost_usd),
                      latency_s=0.0, finish_reason="tool_calls" if calls else "stop", message=message)


class ScriptedClient(ModelClient):
    """Replays a queue of responses; raises ModelCallError on a request the queue did not plan for."""

    def __init__(self, model: ModelConfig, runtime: RuntimeConfig, role: str = "agent",
                 responses: Sequence[Any] | None = None, variants: Sequence[ScriptVariant] = (),
                 label: str = "") -> None:
        super().__init__(model, runtime, role)
        self._queue: list[Any] | None = list(responses) if responses is not None else None
        if responses is None and not label:
            self._queue = configured_responses(model.options)
        self._variants = list(variants)
        self.label = label or "the unbound client"

    def bind(self, *, case: EvalCase | None = None, call: int = 0) -> ScriptedClient:
        """A client holding the responses of one rollout of ``case``, or of call number ``call``."""
        if case is not None:
            responses, variants = case_script(case, self.role)
            return ScriptedClient(self.model, self.runtime, self.role, responses, variants, f"rollout of {case.id!r}")
        if call:
            configured = configured_responses(self.model.options)
            return ScriptedClient(self.model, self.runtime, self.role,
                                  None if configured is None else configured[call - 1: call], (), f"call {call}")
        return self

    async def complete(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None, *,
        max_tokens: int | None = None, response_format: dict[str, Any] | None = None,
        temperature: float | None = None,
    ) -> Completion:
        """The next scripted response for this role."""
        if self._variants and messages and messages[0].get("role") == "system":
            system = str(messages[0].get("content") or "")
            chosen = next((v for v in self._variants if v.matches(system, tools or [])), None)
            self._variants = []
            if chosen is not None:
                self._queue = list(chosen.agent)
        if not self._queue:
            why = "no script was given" if self._queue is None else "its script is exhausted"
            raise ModelCallError(f"scripted model: unplanned {self.role} request in {self.label}: {why}")
        self.calls += 1
        return _completion(_step(self._queue.pop(0)), messages, float(self.model.options.get("cost_usd") or 0.0))
