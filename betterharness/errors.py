"""Errors a user can fix, printed without a traceback unless ``BH_DEBUG=1``."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence


class BHError(Exception):
    """An error in user input: it names where, what, what is allowed and how to fix it.

    Args:
        problem: One sentence saying what is wrong.
        file: The file the bad input came from, if any.
        key: The dotted key (or case field) that holds the bad value.
        value: The bad value itself.
        allowed: The values that would have been accepted.
        fix: The next step for the user.
    """

    def __init__(
        self,
        problem: str,
        *,
        file: str | os.PathLike[str] | None = None,
        key: str | None = None,
        value: object = None,
        allowed: Sequence[object] | str | None = None,
        fix: str | None = None,
    ) -> None:
        super().__init__(problem)
        self.problem = problem
        self.file = str(file) if file is not None else None
        self.key = key
        self.value = value
        self.allowed = allowed
        self.fix = fix

    def render(self) -> str:
        """The multi-line message shown to the user."""
        lines = [f"error: {self.problem}"]
        if self.file:
            lines.append(f"  file:    {self.file}")
        if self.key:
            lines.append(f"  key:     {self.key}")
        if self.value is not None:
            lines.append(f"  value:   {self.value!r}")
        if self.allowed:
            allowed = self.allowed if isinstance(self.allowed, str) else ", ".join(map(str, self.allowed))
            lines.append(f"  allowed: {allowed}")
        if self.fix:
            lines.append(f"  fix:     {self.fix}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


class ConfigError(BHError):
    """The composed Hydra config does not validate."""


class CaseError(BHError):
    """An eval case file is malformed or invalid."""


class TemplateError(BHError):
    """A harness template does not render."""


class ModelCallError(BHError):
    """A model call failed for a reason retries cannot fix.

    ``kind`` says whose fault it is: ``auth`` (the key is refused), ``model`` (no such model),
    ``connection`` (the provider cannot be reached), ``response`` (it answered nonsense), ``context``
    (the conversation outgrew the model's context window), or ``other`` (retries ran out). The first
    three stop a run at once; every kind but ``context`` is infrastructure (see ``is_infrastructure``).
    """

    def __init__(self, problem: str, *, kind: str = "other", **details: object) -> None:
        super().__init__(problem, **details)  # type: ignore[arg-type]
        self.kind = kind


INFRASTRUCTURE_FIXES = {
    "auth": "check the key in the variable named by model.api_key_env (or the provider's usual variable)",
    "model": "check model.id against the provider's model list (litellm form: provider/model)",
    "connection": "check that the provider is up and model.api_base is right; finished rollouts are kept",
}
"""ModelCallError kinds that are nobody's score (the run stops with a message instead), with their fix."""

AGENT_KINDS = frozenset({"context"})
"""Error kinds that are the agent's own doing, so its rollout is scored (as a failure) like any other."""


def is_infrastructure(kind: str | None) -> bool:
    """True when a rollout that ended with an error of ``kind`` says nothing about the agent: a model call
    that failed, a judge that could not be reached, a crash of ours. Such rollouts are counted, not scored,
    and run again on resume. ``None`` (an error without a kind: a time cap, a harness template that failed)
    and the AGENT_KINDS are the agent's."""
    return kind is not None and kind not in AGENT_KINDS


class InfrastructureError(BHError):
    """The run cannot go on: the provider refuses the key, has no such model, or cannot be reached."""


def debug_enabled() -> bool:
    """True when the user asked for tracebacks (``BH_DEBUG=1`` or ``HYDRA_FULL_ERROR=1``)."""
    return os.environ.get("BH_DEBUG", "") not in ("", "0") or os.environ.get("HYDRA_FULL_ERROR") == "1"


def run_cli(body: Callable[[], object]) -> int:
    """Run a command's body: 0 on success; a BHError is printed without a traceback and exits 2."""
    try:
        body()
    except BHError as error:
        exit_with(error)
    return 0


def exit_with(error: BHError, code: int = 2) -> None:
    """Print ``error`` to stderr and exit; re-raise instead when debugging."""
    if debug_enabled():
        raise error
    print(error.render(), file=sys.stderr)
    print("  (set BH_DEBUG=1 to see a traceback)", file=sys.stderr)
    raise SystemExit(code)
