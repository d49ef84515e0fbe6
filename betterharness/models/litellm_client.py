"""The default provider: any litellm model string, called with retries, usage and an offline guard.

litellm is imported lazily, on the first call, never at start-up.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from types import ModuleType
from typing import Any
from urllib.parse import urlparse

from betterharness.config.schema import ModelConfig
from betterharness.errors import INFRASTRUCTURE_FIXES, ModelCallError
from betterharness.models.completion import Completion, ModelClient, ToolCall, Usage

log = logging.getLogger(__name__)

OFFLINE_ENV = "BH_OFFLINE"
"""When set to 1, only in-process providers and servers on localhost may be called (tests set it)."""

_litellm: ModuleType | None = None


def litellm() -> ModuleType:
    """Import litellm once, quietly and without its network fetch of the cost map."""
    global _litellm
    if _litellm is None:
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        import litellm as module

        module.telemetry = False
        module.suppress_debug_info = True
        module.drop_params = True
        import logging

        for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "httpx"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        _litellm = module
    return _litellm


def check_allowed(model: ModelConfig) -> None:
    """Refuse a real remote call when ``BH_OFFLINE=1`` (the tests' guard against unplanned calls)."""
    if os.environ.get(OFFLINE_ENV) != "1":
        return
    host = urlparse(model.api_base or "").hostname
    if host in ("localhost", "127.0.0.1", "::1"):
        return
    raise ModelCallError(f"unplanned real model call to {model.id!r} while {OFFLINE_ENV}=1",
                         key="model.id", value=model.id, allowed=["scripted/…", "local/…", "api_base on localhost"],
                         fix="use model=scripted in tests, or a local server fixture")


def _parse_arguments(raw: Any) -> tuple[dict[str, Any], str | None]:
    if isinstance(raw, dict):
        return raw, None
    try:
        value = json.loads(raw or "{}")
    except (TypeError, ValueError):
        return {}, str(raw)
    return (value, None) if isinstance(value, dict) else ({}, str(raw))


def _usage(response: Any) -> Usage:
    usage = getattr(response, "usage", None)
    cost = (getattr(response, "_hidden_params", None) or {}).get("response_cost")
    return Usage(
        prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
        completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
        total_tokens=getattr(usage, "total_tokens", 0) or 0,
        cost_usd=float(cost) if cost is not None else None,
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).split("Traceback (most recent call last)", 1)[0].strip()
    return text.splitlines()[0][:500] if text else type(exc).__name__


RETRY_AFTER_CAP_S = 60.0
"""The longest wait a Retry-After header is honoured for (longer ones are capped, with a warning)."""


def _kind(exc: BaseException) -> str:
    """Whose fault a failed call is, as ModelCallError.kind."""
    lm = litellm()
    refused = tuple(getattr(lm, name) for name in ("AuthenticationError", "PermissionDeniedError") if hasattr(lm, name))
    status = getattr(exc, "status_code", None)
    if isinstance(exc, refused) or status in (401, 403) or "missing credentials" in str(exc).lower():
        return "auth"
    if isinstance(exc, getattr(lm, "ContextWindowExceededError", ())):
        return "context"
    if isinstance(exc, getattr(lm, "NotFoundError", ())):
        return "model"
    if isinstance(exc, getattr(lm, "BadRequestError", ())) and "model" in str(exc).lower() and (
            "not found" in str(exc).lower() or "does not exist" in str(exc).lower()
            or "llm provider not provided" in str(exc).lower()):
        return "model"
    if isinstance(exc, getattr(lm, "APIConnectionError", ())) or any(
            isinstance(link, ConnectionError) or type(link).__name__ in ("APIConnectionError", "ConnectError")
            for link in _chain(exc)) or "connection error" in str(exc).lower():
        return "connection"
    return "other"


def _chain(exc: BaseException, depth: int = 6) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from (litellm wraps a refused connection several times)."""
    links: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(links) < depth:
        links.append(current)
        current = current.__cause__ or current.__context__
    return links


def _retry_after(exc: BaseException, cap_s: float = RETRY_AFTER_CAP_S) -> float:
    """Seconds the server asked us to wait (a ``Retry-After`` header), capped; 0 when it did not say."""
    for source in (getattr(exc, "response", None), exc):
        headers = getattr(source, "headers", None) or getattr(source, "litellm_response_headers", None)
        value = headers.get("retry-after") if headers is not None and hasattr(headers, "get") else None
        if value is not None:
            try:
                return min(float(value), cap_s)
            except ValueError:
                return 0.0
    return 0.0


def _retryable(exc: BaseException) -> bool:
    lm = litellm()
    kinds = tuple(
        getattr(lm, name)
        for name in ("RateLimitError", "ServiceUnavailableError", "InternalServerError", "Timeout",
                     "APIConnectionError")
        if hasattr(lm, name)
    )
    return isinstance(exc, (*kinds, asyncio.TimeoutError))


class LiteLLMClient(ModelClient):
    """Calls one litellm model; retries transient errors with exponential backoff (honouring Retry-After)."""

    retries_transient = True
    """False for in-process providers, where a failure is never transient."""

    def check_allowed(self) -> None:
        """Raise before any network use when the offline guard forbids this model."""
        check_allowed(self.model)

    def prepare(self) -> None:
        """Set up what litellm needs before a call (a custom provider registers itself here)."""

    def warm_up(self) -> None:
        """Import litellm (seconds) and prepare the provider now, not inside the first rollout's time limit.

        A key variable named by ``api_key_env`` that is not set stops the run here, before any case.
        """
        self.check_allowed()
        env = self.model.api_key_env
        if env and not os.environ.get(env):
            raise ModelCallError(f"the {self.role} model's key variable {env} is not set", kind="auth",
                                 key="model.api_key_env", value=env,
                                 fix=f"export {env}=<your key>, or point model.api_key_env at the variable holding it")
        litellm()
        self.prepare()

    async def complete(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None, *,
        max_tokens: int | None = None, response_format: dict[str, Any] | None = None,
        temperature: float | None = None,
    ) -> Completion:
        """One chat completion; raises ModelCallError once retries are spent or on a permanent error."""
        self.check_allowed()
        self.prepare()
        lm = litellm()
        kwargs: dict[str, Any] = dict(self.model.params)
        if max_tokens is not None:
            kwargs["max_tokens"] = min(int(kwargs.get("max_tokens", max_tokens)), max_tokens)
        if tools:
            kwargs["tools"] = tools
        if response_format is not None:
            kwargs["response_format"] = response_format
        if temperature is not None:
            kwargs["temperature"] = temperature
        if self.model.api_base:
            kwargs["api_base"] = self.model.api_base
        if self.model.api_key_env:
            kwargs["api_key"] = os.environ.get(self.model.api_key_env)
        elif self.model.api_base and not kwargs.get("api_key"):
            kwargs["api_key"] = "none"  # self-hosted servers without auth; litellm's openai client insists on one
        attempt = 0
        while True:
            start = time.perf_counter()
            try:
                response = await lm.acompletion(
                    model=self.model.id, messages=messages, timeout=self.runtime.request_timeout_s,
                    num_retries=0, **kwargs,
                )
                break
            except Exception as exc:  # noqa: BLE001 - classified below
                if attempt >= self.runtime.retries or not self.retries_transient or not _retryable(exc):
                    kind = _kind(exc)
                    raise ModelCallError(f"{self.role} model call to {self.model.id} failed: "
                                         f"{type(exc).__name__}: {_first_line(exc)}", kind=kind,
                                         fix=INFRASTRUCTURE_FIXES.get(kind)) from exc
                wait = _retry_after(exc)
                if wait >= RETRY_AFTER_CAP_S:
                    log.warning("%s asked to wait longer than %gs; waiting %gs", self.model.id, RETRY_AFTER_CAP_S,
                                RETRY_AFTER_CAP_S)
                await asyncio.sleep(max(self.runtime.backoff_s * (2**attempt), wait))
                attempt += 1
        self.calls += 1
        latency = time.perf_counter() - start
        if not getattr(response, "choices", None):
            raise ModelCallError(f"{self.role} model {self.model.id} returned no choices: "
                                 f"{str(response)[:300]}", kind="response",
                                 fix="check that api_base points at a chat-completions endpoint")
        choice = response.choices[0]
        message = choice.message
        calls = []
        for index, raw in enumerate(getattr(message, "tool_calls", None) or []):
            arguments, bad = _parse_arguments(raw.function.arguments)
            calls.append(ToolCall(id=raw.id or f"call_{index}", name=raw.function.name, arguments=arguments,
                                  raw_arguments=bad))
        history: dict[str, Any] = {"role": "assistant", "content": message.content}
        if calls:
            history["tool_calls"] = [
                {"id": c.id, "type": "function",
                 "function": {"name": c.name, "arguments": c.raw_arguments or json.dumps(c.arguments)}}
                for c in calls
            ]
        return Completion(content=message.content, tool_calls=calls, usage=_usage(response), latency_s=latency,
                          finish_reason=choice.finish_reason, message=history)
