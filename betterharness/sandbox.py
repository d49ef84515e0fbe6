"""Jinja rendering in a sandbox: harness templates, prompts and mock-tool responses are untrusted text.

Besides Jinja's own sandbox (no attribute escapes, ``range`` capped), rendering is bounded so that no
template can hang a run or exhaust memory: arithmetic that would build huge numbers or strings is
refused, the output is cut off past ``MAX_OUTPUT`` characters, rendering stops after ``MAX_SECONDS``,
and templates cannot load other templates.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from types import FrameType
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from betterharness.errors import TemplateError

MAX_OUTPUT = 200_000
"""Characters one rendering may produce."""
MAX_SECONDS = 2.0
"""Seconds one rendering may take."""
MAX_EXPONENT = 1_000
MAX_DIGITS = 10_000


class _Exceeded(Exception):
    """A rendering passed one of its bounds."""


class BoundedEnvironment(SandboxedEnvironment):
    """The sandbox, with ``**`` and ``*`` checked so that one expression cannot build a huge value."""

    intercepted_binops = frozenset({"**", "*"})

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        """Refuse powers and repetitions whose result would be huge; compute the rest as Jinja does."""
        if operator == "**" and _number(left) and _number(right):
            size = abs(right) * max(1, len(str(int(abs(left)))) if abs(left) >= 1 else 1)
            if abs(right) > MAX_EXPONENT or size > MAX_DIGITS:
                raise _Exceeded(f"{left!r} ** {right!r} is too large to compute in a template")
        if operator == "*":
            sized, count = (left, right) if isinstance(right, int) else (right, left)
            if isinstance(sized, str | list | tuple) and isinstance(count, int) and len(sized) * count > MAX_OUTPUT:
                raise _Exceeded(f"repeating a value {count} times builds more than {MAX_OUTPUT} characters")
        return super().call_binop(context, operator, left, right)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_ENV = BoundedEnvironment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False, autoescape=False,
                          loader=None)


@lru_cache(maxsize=512)
def _compile(source: str) -> jinja2.Template:
    return _ENV.from_string(source)


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Raise _Exceeded inside the rendering code of this thread once ``seconds`` have passed."""
    end = time.monotonic() + seconds
    previous = sys.gettrace()

    def trace(frame: FrameType, event: str, arg: Any) -> Any:
        if time.monotonic() > end:
            raise _Exceeded(f"rendering took longer than {seconds:g}s")
        return trace

    sys.settrace(trace)
    try:
        yield
    finally:
        sys.settrace(previous)


def check_syntax(source: str) -> None:
    """Raise TemplateError when ``source`` is not a template this sandbox can render (syntax, includes)."""
    try:
        _compile(source)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error at line {exc.lineno}: {exc.message}",
                            fix="fix the Jinja syntax") from None
    if any(tag in source for tag in ("{% include", "{% import", "{% extends", "{% from")):
        raise TemplateError("templates cannot include, import or extend other templates",
                            fix="put the text in this template")


def render_text(source: str, context: dict[str, Any], origin: str = "<template>") -> str:
    """Render one Jinja source in the bounded sandbox; every failure is a TemplateError naming origin and line."""
    try:
        template = _compile(source)
        parts: list[str] = []
        size = 0
        with _deadline(MAX_SECONDS):
            for chunk in template.generate(**context):
                size += len(chunk)
                if size > MAX_OUTPUT:
                    raise _Exceeded(f"the output passed {MAX_OUTPUT} characters")
                parts.append(chunk)
        return "".join(parts).strip()
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error: {exc.message}", file=f"{origin}:{exc.lineno}",
                            fix="fix the Jinja syntax") from None
    except jinja2.UndefinedError as exc:
        raise TemplateError(
            f"template uses an undefined variable: {exc.message}", file=origin,
            allowed=sorted(context), fix="use one of the allowed variables or add it under harness.vars",
        ) from None
    except _Exceeded as exc:
        raise TemplateError(f"template stopped: {exc}", file=origin,
                            fix=f"templates are bounded ({MAX_SECONDS:g}s, {MAX_OUTPUT} characters): simplify it"
                            ) from None
    except TypeError as exc:
        if "no loader" in str(exc):
            raise TemplateError("templates cannot include, import or extend other templates", file=origin,
                                fix="put the text in this template, or in harness.vars") from None
        raise TemplateError(f"template failed to render: {exc}", file=origin,
                            fix="check the types of the values the template combines") from None
    except (jinja2.TemplateError, ArithmeticError, ValueError, MemoryError, RecursionError) as exc:
        raise TemplateError(f"template failed to render: {type(exc).__name__}: {exc}", file=origin,
                            fix=f"templates are bounded ({MAX_SECONDS:g}s, {MAX_OUTPUT} characters, sandboxed "
                                "ranges): compute less in the template, or pass the value in harness.vars") from None
