"""Everything chosen by name (assertions, model providers, agent adapters, tool sources, importers).

A registry maps a name to a value. Registering costs nothing: an entry can be a ``"module:attribute"``
path imported only when the name is first looked up (in the spirit of inspect_ai's ``@modelapi``), a
decorated object, or an entry point of another installed package (group ``betterharness.<kind>``).
An unknown name is a BHError that lists the names there are.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterator, Sequence
from typing import Generic, TypeVar, overload

from betterharness.errors import BHError

T = TypeVar("T")
ENTRY_POINT_PREFIX = "betterharness."


class Registry(Generic[T]):
    """Named values of one kind, resolved lazily.

    Args:
        kind: What the values are, for messages (``"assertion"``, ``"model provider"``).
        key: The config key or case field that names them, for messages.
        modules: Modules that register values with the decorator; imported on the first lookup.
    """

    def __init__(self, kind: str, *, key: str | None = None, modules: Sequence[str] = ()) -> None:
        self.kind = kind
        self.key = key
        self._modules = list(modules)
        self._paths: dict[str, str] = {}
        self._values: dict[str, T] = {}
        self._loaded = False

    @overload
    def register(self, name: str) -> Callable[[T], T]: ...

    @overload
    def register(self, name: str, value: T) -> T: ...

    def register(self, name: str, value: T | None = None) -> T | Callable[[T], T]:
        """Register ``value`` under ``name``; without a value, a decorator that registers what it decorates."""
        if value is not None:
            self._values[name] = value
            return value

        def decorate(item: T) -> T:
            self._values[name] = item
            return item

        return decorate

    def lazy(self, name: str, path: str) -> None:
        """Register ``"module:attribute"`` under ``name``; nothing is imported until it is looked up."""
        self._paths[name] = path

    def _load_modules(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for module in self._modules:
            importlib.import_module(module)
        from importlib import metadata

        group = ENTRY_POINT_PREFIX + self.kind.replace(" ", "_")
        for entry in metadata.entry_points(group=group):
            self._paths.setdefault(entry.name, entry.value)

    def names(self) -> list[str]:
        """Every registered name, sorted."""
        self._load_modules()
        return sorted({*self._values, *self._paths})

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def get(self, name: str) -> T:
        """The value registered as ``name``, importing it now if it was registered lazily."""
        if name in self._values:
            return self._values[name]
        self._load_modules()
        if name in self._values:
            return self._values[name]
        path = self._paths.get(name)
        if path is None:
            raise self.unknown(name)
        module, _, attribute = path.partition(":")
        try:
            value: T = getattr(importlib.import_module(module), attribute)
        except (ImportError, AttributeError) as exc:
            raise BHError(f"{self.kind} {name!r} is registered as {path}, which cannot be imported: {exc}",
                          key=self.key, value=name,
                          fix="install the package that provides it, or fix its registration") from None
        self._values[name] = value
        return value

    def unknown(self, name: str) -> BHError:
        """The error for a name nobody registered: the allowed names and the closest one."""
        names = self.names()
        close = difflib.get_close_matches(name, names, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return BHError(f"unknown {self.kind} {name!r}", key=self.key, value=name, allowed=names,
                       fix=f"{hint}use one of the allowed names")
