"""Success assertions by name: ``- tool_called: {name: x}`` in a case maps to a registered class."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from betterharness.evals.case import EvalCase
    from betterharness.scoring.context import ScoringContext
    from betterharness.trace import Trace


class Verdict(BaseModel):
    """The outcome of one assertion on one rollout."""

    assertion: str
    passed: bool
    detail: str = ""


class Assertion(BaseModel):
    """Base of every success assertion. Subclasses are pydantic models of their YAML arguments.

    A subclass whose YAML value is a scalar or list (``final_text_contains: [a, b]``) names the field
    that takes it in ``shorthand``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: ClassVar[str] = ""
    shorthand: ClassVar[str | None] = None

    async def check(self, trace: Trace, case: EvalCase, ctx: ScoringContext) -> Verdict:
        """Judge ``trace``; never raises for a bad rollout (a failure is a Verdict)."""
        raise NotImplementedError

    def verdict(self, passed: bool, detail: str = "") -> Verdict:
        """A Verdict for this assertion."""
        return Verdict(assertion=self.name, passed=passed, detail=detail)

    def to_yaml(self) -> dict[str, Any]:
        """The single-key mapping this assertion is written as in a case file."""
        return {self.name: self.model_dump(exclude_defaults=True, mode="json")}


ASSERTIONS: dict[str, type[Assertion]] = {}
A = TypeVar("A", bound=type[Assertion])


def assertion(name: str) -> Callable[[A], A]:
    """Register an assertion class under ``name`` (the key used in case files)."""

    def register(cls: A) -> A:
        cls.name = name
        ASSERTIONS[name] = cls
        return cls

    return register


def _load_builtins() -> None:
    from betterharness.scoring import assertions  # noqa: F401  (registers the built-in assertions)


def assertion_names() -> list[str]:
    """The names of every registered assertion."""
    _load_builtins()
    return sorted(ASSERTIONS)


def parse_assertion(raw: Any) -> Assertion:
    """Turn ``{name: args}`` from a case file into an Assertion; raise ValueError naming the choices."""
    if isinstance(raw, Assertion):
        return raw
    _load_builtins()
    if not isinstance(raw, dict) or len(raw) != 1:
        raise ValueError(
            f"each success entry is a one-key mapping like `- tool_called: {{name: x}}`, got {raw!r}; "
            f"allowed keys: {', '.join(sorted(ASSERTIONS))}"
        )
    (name, args), = raw.items()
    cls = ASSERTIONS.get(name)
    if cls is None:
        raise ValueError(f"unknown assertion {name!r}; allowed: {', '.join(sorted(ASSERTIONS))}")
    keys = set(cls.model_fields) | {f.alias for f in cls.model_fields.values() if f.alias}
    if not isinstance(args, dict) or (cls.shorthand and set(args) - keys):
        if cls.shorthand is None:
            raise ValueError(f"{name} takes a mapping of {sorted(cls.model_fields)}, got {args!r}")
        args = {cls.shorthand: args}
    return cls.model_validate(args)


def assertions_json_schema() -> dict[str, Any]:
    """A JSON Schema ``oneOf`` over every registered assertion, for ``evals/schema.json``."""
    _load_builtins()
    choices = []
    for name in sorted(ASSERTIONS):
        cls = ASSERTIONS[name]
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
