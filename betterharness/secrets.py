"""Secret-looking config values (an ``api_key`` given on the command line) are used but never written."""

from __future__ import annotations

import re
from typing import Any

REDACTED = "<redacted>"
SECRET_KEY = re.compile(r"(api_?key|access_?key|secret|token|password|passwd|authorization|bearer|credential)s?$",
                        re.IGNORECASE)
"""Keys whose string values are secrets (``api_key_env`` names a variable, so it is not one)."""


def redact(value: Any) -> Any:
    """``value`` with every secret-looking key's string value replaced by ``<redacted>``."""
    if isinstance(value, dict):
        return {k: REDACTED if _secret(k, v) else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def redact_override(override: str) -> str:
    """A command-line override (``+model.params.api_key=sk-…``) with a secret value redacted."""
    key, sep, value = override.partition("=")
    name = key.lstrip("+~").rsplit(".", 1)[-1]
    return f"{key}={REDACTED}" if sep and value and SECRET_KEY.search(name) else override


def secret_keys(value: Any, prefix: str = "") -> list[str]:
    """The dotted keys of ``value`` that hold secrets."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{prefix}{key}"
            found += [path] if _secret(key, item) else secret_keys(item, path + ".")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += secret_keys(item, f"{prefix}{index}.")
    return found


def _secret(key: Any, value: Any) -> bool:
    return isinstance(key, str) and isinstance(value, str) and bool(value) and SECRET_KEY.search(key) is not None
