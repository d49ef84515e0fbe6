"""YAML loading that remembers where each value sits, so errors can name a line."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml


class _Loader(yaml.SafeLoader):
    """A SafeLoader (no arbitrary objects) kept separate so we never mutate the global one."""


def load_with_nodes(text: str) -> tuple[Any, yaml.Node | None]:
    """Parse ``text`` into Python data plus its node tree (for line lookups)."""
    node = yaml.compose(text, Loader=_Loader)
    if node is None:
        return None, None
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
