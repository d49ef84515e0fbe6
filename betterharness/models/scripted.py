"""The scripted test double: a litellm provider that replays declared responses, and nothing else.

A rollout registers its script under a key (``rollout``); each request carries that key and the
caller's role in ``metadata``. The provider answers with the role's next scripted response and fails
loudly on any request the script did not plan for. It is a test double, not an offline model.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from betterharness.evals.case import ScriptedStep

PROVIDER = "scripted"


class UnplannedRequest(RuntimeError):
    """The scripted model got a request its script has no response for."""


class _Scripts:
    """Thread-safe store: rollout key -> role -> remaining responses."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, dict[str, list[Any]]] = {}

    def put(self, key: str, by_role: dict[str, list[Any]]) -> None:
        with self._lock:
            self._queues[key] = {role: list(items) for role, items in by_role.items()}

    def drop(self, key: str) -> None:
        with self._lock:
            self._queues.pop(key, None)

    def next(self, key: str | None, role: str, messages: list[dict[str, Any]] | None = None) -> Any:
        with self._lock:
            if key is None or key not in self._queues:
                raise UnplannedRequest(f"scripted model: no script registered for rollout {key!r} (role {role})")
            script = self._queues[key]
            variants = script.pop(f"{role}_variants", None)
            if variants and messages and messages[0].get("role") == "system":
                system = str(messages[0].get("content") or "")
                chosen = next((v for v in variants if v.system_contains in system), None)
                if chosen is not None:
                    script[role] = list(chosen.agent)
            queue = script.get(role) or []
            if not queue:
                raise UnplannedRequest(
                    f"scripted model: unplanned {role} request in rollout {key!r}: its script is exhausted"
                )
            return queue.pop(0)


SCRIPTS = _Scripts()
_ids = itertools.count()


@contextmanager
def scripted(key: str, by_role: dict[str, list[Any]]) -> Iterator[None]:
    """Register a script for the duration of a rollout. Agent items are ScriptedStep; others strings.

    An ``agent_variants`` entry (a list of ScriptVariant) replaces the agent script on the first agent
    request whose system prompt contains a variant's phrase.
    """
    SCRIPTS.put(key, by_role)
    try:
        yield
    finally:
        SCRIPTS.drop(key)


def _message(item: Any) -> tuple[dict[str, Any], str]:
    step = item if isinstance(item, ScriptedStep) else (
        ScriptedStep.model_validate(item) if isinstance(item, dict) else ScriptedStep(content=str(item))
    )
    import json

    message: dict[str, Any] = {"role": "assistant", "content": step.content}
    if step.tool_calls:
        n = next(_ids)
        message["tool_calls"] = [
            {"id": f"call_{n}_{i}", "type": "function",
             "function": {"name": call.name, "arguments": json.dumps(call.arguments)}}
            for i, call in enumerate(step.tool_calls)
        ]
        return message, "tool_calls"
    return message, "stop"


def _handler_class() -> type:
    from betterharness.models.client import litellm

    lm = litellm()

    class ScriptedLLM(lm.CustomLLM):  # type: ignore[name-defined,misc]
        """Replays the registered script; raises UnplannedRequest on anything else."""

        def completion(self, *args: Any, **kwargs: Any) -> Any:
            metadata = (kwargs.get("litellm_params") or {}).get("metadata") or {}
            item = SCRIPTS.next(metadata.get("bh_rollout"), metadata.get("bh_role") or "agent",
                                kwargs.get("messages"))
            message, finish = _message(item)
            words = sum(len(str(m.get("content") or "").split()) for m in kwargs.get("messages") or [])
            out = len(str(message.get("content") or "").split()) + 8 * len(message.get("tool_calls") or [])
            return lm.ModelResponse(
                model="scripted/replay", created=int(time.time()),
                choices=[{"index": 0, "message": message, "finish_reason": finish}],
                usage={"prompt_tokens": words, "completion_tokens": out, "total_tokens": words + out},
            )

        async def acompletion(self, *args: Any, **kwargs: Any) -> Any:
            return self.completion(*args, **kwargs)

    return ScriptedLLM


_registered = False


def register() -> None:
    """Make ``scripted/...`` model strings resolve to the replaying provider (idempotent)."""
    global _registered
    if _registered:
        return
    from betterharness.models.client import litellm

    lm = litellm()
    lm.custom_provider_map = [e for e in lm.custom_provider_map if e["provider"] != PROVIDER] + [
        {"provider": PROVIDER, "custom_handler": _handler_class()()}
    ]
    lm.utils.custom_llm_setup()
    lm.register_model({"scripted/replay": {"input_cost_per_token": 0.0, "output_cost_per_token": 0.0,
                                          "litellm_provider": PROVIDER, "mode": "chat"}})
    _registered = True
