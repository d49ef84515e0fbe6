"""Model clients by provider: litellm for any hosted or self-hosted model, the embedded ``local`` model,
and the scripted test double. ``connect`` picks one from the model string."""

from betterharness.models.completion import Completion, ModelClient, ToolCall, Usage
from betterharness.models.providers import PROVIDERS, connect, provider_of

__all__ = ["PROVIDERS", "Completion", "ModelClient", "ToolCall", "Usage", "connect", "provider_of"]
