"""Jinja rendering in a sandbox: harness templates, prompts and mock-tool responses are untrusted text."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from betterharness.errors import TemplateError

_ENV = SandboxedEnvironment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False, autoescape=False)


@lru_cache(maxsize=512)
def _compile(source: str) -> jinja2.Template:
    return _ENV.from_string(source)


def render_text(source: str, context: dict[str, Any], origin: str = "<template>") -> str:
    """Render one Jinja source in the sandbox; errors become TemplateError naming origin and line."""
    try:
        return _compile(source).render(**context).strip()
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error: {exc.message}", file=f"{origin}:{exc.lineno}",
                            fix="fix the Jinja syntax") from None
    except jinja2.UndefinedError as exc:
        raise TemplateError(
            f"template uses an undefined variable: {exc.message}", file=origin,
            allowed=sorted(context), fix="use one of the allowed variables or add it under harness.vars",
        ) from None
    except jinja2.TemplateError as exc:
        raise TemplateError(f"template failed to render: {exc}", file=origin) from None
