"""Path helpers for the virtual filesystem: normalisation and glob patterns."""

from __future__ import annotations

import re
from functools import lru_cache

from betterharness.agent.tools.base import ToolFailure
from betterharness.safe_regex import Pattern, RegexError, compile_regex


def normalize_path(path: str) -> str:
    """An absolute POSIX path: ``a/b`` -> ``/a/b``, ``.`` and ``..`` collapsed, trailing ``/`` dropped.

    Raises:
        ToolFailure: when ``..`` would climb above the root.
    """
    parts: list[str] = []
    for part in path.strip().replace("\\", "/").split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise ToolFailure(f"path {path!r} escapes the root directory '/'")
            parts.pop()
        else:
            parts.append(part)
    return "/" + "/".join(parts)


def parent_of(path: str) -> str:
    """The directory holding ``path`` (the root's parent is the root)."""
    return path.rsplit("/", 1)[0] or "/"


def is_under(path: str, directory: str) -> bool:
    """True when ``path`` lies strictly inside ``directory``."""
    return path.startswith(directory.rstrip("/") + "/")


def relative_to(path: str, directory: str) -> str:
    """``path`` relative to ``directory`` (which must contain it)."""
    return path[len(directory.rstrip("/")) + 1 :]


MAX_GLOB = 512
"""Characters a glob pattern may have."""
MAX_ALTERNATIVES = 256
"""Patterns a glob's ``{a,b}`` groups may expand to."""


def _expand_braces(pattern: str) -> list[str]:
    match = re.search(r"\{([^{}]*)\}", pattern)
    if match is None:
        return [pattern]
    head, tail = pattern[: match.start()], pattern[match.end() :]
    expanded: list[str] = []
    for option in match.group(1).split(","):
        expanded += _expand_braces(head + option + tail)
        if len(expanded) > MAX_ALTERNATIVES:
            raise ToolFailure(f"glob {pattern!r} expands to more than {MAX_ALTERNATIVES} patterns; "
                              "simplify its {...} groups")
    return expanded


def _translate(pattern: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and (end := pattern.find("]", i + 2)) != -1:
            body = pattern[i + 1 : end].replace("\\", "\\\\")
            out.append("[^" + body[1:] + "]" if body[0] in "!^" else "[" + body + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


@lru_cache(maxsize=256)
def glob_regex(pattern: str) -> Pattern:
    """Compile a glob (``*``, ``?``, ``[...]``, ``**`` across directories, ``{a,b}``) to a linear-time regex."""
    if len(pattern) > MAX_GLOB:
        raise ToolFailure(f"glob pattern is {len(pattern)} characters; at most {MAX_GLOB}")
    alternatives = "|".join(_translate(p) for p in _expand_braces(pattern))
    try:
        return compile_regex(f"(?:{alternatives})")
    except RegexError as exc:
        raise ToolFailure(f"invalid glob {pattern!r}: {exc}") from None


def glob_match(pattern: str, path: str, base: str) -> bool:
    """True when ``path`` matches ``pattern``; a relative pattern is matched from directory ``base``."""
    if pattern.startswith("/"):
        return glob_regex(normalize_path(pattern)).fullmatch(path) is not None
    target = relative_to(path, base) if is_under(path, base) else path
    return glob_regex(pattern.removeprefix("./")).fullmatch(target) is not None


def file_filter_match(pattern: str, path: str, base: str) -> bool:
    """A grep-style file filter: a pattern without ``/`` matches the file name, as ripgrep's ``--glob``."""
    if "/" in pattern:
        return glob_match(pattern, path, base)
    return glob_regex(pattern).fullmatch(path.rsplit("/", 1)[1]) is not None
