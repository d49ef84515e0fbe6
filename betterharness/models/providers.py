"""Model providers by name: the prefix of a model string picks the client class (lazily imported)."""

from __future__ import annotations

from betterharness.config.schema import ModelConfig, RuntimeConfig
from betterharness.models.completion import ModelClient
from betterharness.registry import Registry

DEFAULT_PROVIDER = "litellm"
"""The provider of every model string whose prefix names no registered provider."""

PROVIDERS: Registry[type[ModelClient]] = Registry("model provider", key="model.id")
PROVIDERS.lazy("litellm", "betterharness.models.litellm_client:LiteLLMClient")
PROVIDERS.lazy("local", "betterharness.models.local:LocalClient")
PROVIDERS.lazy("scripted", "betterharness.models.scripted:ScriptedClient")


def provider_of(model_id: str) -> str:
    """The provider a model string uses: its prefix when registered (``scripted/replay``), else litellm."""
    prefix = model_id.split("/", 1)[0] if "/" in model_id else ""
    return prefix if prefix in PROVIDERS else DEFAULT_PROVIDER


def connect(model: ModelConfig, runtime: RuntimeConfig, role: str = "agent") -> ModelClient:
    """A client for ``model`` in ``role``; importing its provider costs nothing until now."""
    return PROVIDERS.get(provider_of(model.id))(model, runtime, role)
