"""The command line: the main job (``python -m betterharness [overrides]``) and one module per side command.

``python -m betterharness <verb> ...`` runs a side command; each verb's module is imported only when used.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from betterharness.registry import Registry

Command = Callable[[Sequence[str] | None], int]
"""A side command: its arguments in, its exit code out."""

VERBS: Registry[Command] = Registry("command")
for _verb, _module in (("review", "review"), ("mine", "mine"), ("maintain", "maintain"), ("catalog", "catalog"),
                       ("import", "import_cases"), ("schema", "schema"), ("weights", "weights")):
    VERBS.lazy(_verb, f"betterharness.cli.{_module}:main")

__all__ = ["VERBS", "Command"]
