"""What a success assertion is in a case file: a name and its arguments, as a pydantic model.

``- tool_called: {name: x}`` maps to the class registered as ``tool_called``. The model holds only what
the case says; how a rollout is judged against it lives in ``betterharness.scoring.checks``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict

from betterharness.errors import BHError
from betterharness.registry import Registry


class Assertion(BaseModel):
    """Base of every success assertion: a pydantic model of its YAML arguments.

    A subclass whose YAML value is a scalar or list (``final_text_contains: [a, b]``) names the field
    that takes it in ``shorthand``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: ClassVar[str] = ""
    shorthand: ClassVar[str | None] = None
    prompts: ClassVar[tuple[str, ...]] = ()
    """Prompt templates (in ``prompts/``) its check renders: they are part of the experiment's identity."""

    def to_yaml(self) -> dict[str, Any]:
        """The single-key mapping this assertion is written as in a case file."""
        return {self.name: self.model_dump(exclude_defaults=True, mode="json")}


ASSERTIONS: Registry[type[Assertion]] = Registry(
    "assertion", key="success",
    modules=[f"betterharness.evals.assertions.{m}" for m in ("text", "state", "tools", "judge", "bfcl")],
)
"""Assertion classes by the key a case file uses for them."""

A = TypeVar("A", bound=type[Assertion])


def assertion(name: str) -> Callable[[A], A]:
    """Register an assertion class under ``name`` (the key used in case files)."""

    def register(cls: A) -> A:
        cls.name = name
        ASSERTIONS.register(name, cls)
        return cls

    return register


def assertion_names() -> list[str]:
    """The names of every registered assertion."""
    return ASSERTIONS.names()


def parse_assertion(raw: Any) -> Assertion:
    """Turn ``{name: args}`` from a case file into an Assertion; raise ValueError naming the choices."""
    if isinstance(raw, Assertion):
        return raw
    names = ASSERTIONS.names()
    if not isinstance(raw, dict) or len(raw) != 1:
        raise ValueError(
            f"each success entry is a one-key mapping like `- tool_called: {{name: x}}`, got {raw!r}; "
            f"allowed keys: {', '.join(names)}"
        )
    (name, args), = raw.items()
    try:
        cls = ASSERTIONS.get(name)
    except BHError:
        raise ValueError(f"unknown assertion {name!r}; allowed: {', '.join(names)}") from None
    keys = set(cls.model_fields) | {f.alias for f in cls.model_fields.values() if f.alias}
    if not isinstance(args, dict) or (cls.shorthand and set(args) - keys):
        if cls.shorthand is None:
            raise ValueError(f"{name} takes a mapping of {sorted(cls.model_fields)}, got {args!r}")
        args = {cls.shorthand: args}
    return cls.model_validate(args)


def assertions_json_schema() -> dict[str, Any]:
    """A JSON Schema ``oneOf`` over every registered assertion, for ``evals/schema.json``."""
    choices = []
    for name in ASSERTIONS.names():
        cls = ASSERTIONS.get(name)
        schema = cls.model_json_schema()
        value: dict[str, Any] = schema
        if cls.shorthand:
            short = schema["properties"][cls.shorthand]
            value = {"anyOf": [schema, {k: v for k, v in short.items() if k != "title"}]}
        choices.append(
            {
                "type": "object",
                "properties": {name: value},
                "required": [name],
                "additionalProperties": False,
                "description": (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else name,
            }
        )
    return {"oneOf": choices}
