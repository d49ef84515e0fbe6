"""YAML loading that remembers where each value sits, so errors can name a line."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml


class _Loader(yaml.SafeLoader):
    """A SafeLoader (no arbitrary objects) kept separate so we never mutate the global one."""


MAX_BYTES = 2_000_000
"""Bytes a case file may have."""
MAX_VALUES = 100_000
"""Values a case file may expand to, aliases counted each time they are used."""
MAX_DEPTH = 64
"""How deeply a case file's values may nest."""


class YAMLLimit(ValueError):
    """A file that is too large, expands too far (an alias bomb) or nests too deeply."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def check_limits(node: yaml.Node) -> None:
    """Raise YAMLLimit when ``node`` expands to more than MAX_VALUES values or nests deeper than MAX_DEPTH."""
    seen = 0
    stack: list[tuple[yaml.Node, int]] = [(node, 1)]
    while stack:
        current, depth = stack.pop()
        seen += 1
        if seen > MAX_VALUES:
            raise YAMLLimit(f"the file expands to more than {MAX_VALUES} values (YAML aliases repeat what they "
                            "name)", current.start_mark.line + 1)
        if depth > MAX_DEPTH:
            raise YAMLLimit(f"values nest deeper than {MAX_DEPTH} levels", current.start_mark.line + 1)
        if isinstance(current, yaml.SequenceNode):
            stack.extend((item, depth + 1) for item in current.value)
        elif isinstance(current, yaml.MappingNode):
            stack.extend((part, depth + 1) for pair in current.value for part in pair)


def load_with_nodes(text: str) -> tuple[Any, yaml.Node | None]:
    """Parse ``text`` into Python data plus its node tree (for line lookups), within the limits above."""
    if len(text) > MAX_BYTES:
        raise YAMLLimit(f"the file has {len(text)} characters; a case file may have {MAX_BYTES}")
    node = yaml.compose(text, Loader=_Loader)
    if node is None:
        return None, None
    check_limits(node)
    data = _Loader(text).construct_document(node)
    return data, node


def line_of(node: yaml.Node | None, path: Sequence[str | int]) -> int | None:
    """The 1-based line of the value at ``path`` (or of the deepest ancestor found)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if getattr(k, "value", None) == str(part)), None)
            if match is None:
                # the key itself may be the problem (unknown key): point at the key
                key = next((k for k, _ in node.value if getattr(k, "value", None) == str(part)), None)
                return key.start_mark.line + 1 if key is not None else line
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
        line = node.start_mark.line + 1
    return line
