"""Provider ``local``: the embedded model, in-process, behind litellm's custom-provider hook."""

from __future__ import annotations

from betterharness.models import embedded
from betterharness.models.litellm_client import LiteLLMClient


class LocalClient(LiteLLMClient):
    """The embedded model: loaded once per process, never retried, ``max_parallel`` rollouts at a time."""

    retries_transient = False

    def check_allowed(self) -> None:
        """The embedded model runs in this process: the offline guard always allows it."""

    def prepare(self) -> None:
        """Register provider ``local`` with litellm (cheap when already registered as asked)."""
        embedded.register(self.model.options)

    def warm_up(self) -> None:
        """Load the model before rollouts start, so its load (or weights fetch) is not billed to the
        first case's wall-time cap; a missing model fails here, once, with a clear error."""
        super().warm_up()
        embedded.get_engine(embedded.parse_options(self.model.options))

    def concurrency_cap(self) -> int | None:
        """The embedded model decodes ``max_parallel`` sequences at a time (default 1).

        More cases in flight only interleave in its queue and evict each other's prompt cache, which
        makes every step re-read its whole prompt, so runs on it go ``max_parallel`` cases at a time.
        """
        return int(self.model.options.get("max_parallel") or 1)
