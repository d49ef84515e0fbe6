"""A key -> text memory store with list/read/write/delete tools."""

from __future__ import annotations

from betterharness.agent.tools.base import FunctionTool, Tool, ToolFailure, ToolSpec, object_schema

PREVIEW_CHARS = 80

DESCRIPTIONS: dict[str, str] = {
    "memory_list": "List the keys in your long-term memory, each with the start of its text.",
    "memory_read": "Read the full text stored in memory under `key`.",
    "memory_write": "Store `content` in memory under `key`, replacing any text already stored there.",
    "memory_delete": "Delete the memory stored under `key`.",
}

_KEY = {"type": "string", "minLength": 1, "description": "The memory's key, e.g. user_preferences."}


class MemoryStore:
    """Memories keyed by name; keys are stripped of surrounding whitespace."""

    def __init__(self, entries: dict[str, str] | None = None) -> None:
        self.entries: dict[str, str] = dict(entries or {})

    def _key(self, key: str) -> str:
        key = key.strip()
        if not key:
            raise ToolFailure("key must not be empty.")
        return key

    def _existing(self, key: str) -> str:
        key = self._key(key)
        if key not in self.entries:
            known = ", ".join(sorted(self.entries)) or "none; memory is empty"
            raise ToolFailure(f"no memory under key {key!r}. Existing keys: {known}.")
        return key

    def memory_list(self) -> str:
        """Every key with a one-line preview of its text, sorted by key."""
        if not self.entries:
            return "Memory is empty."
        lines = []
        for key in sorted(self.entries):
            text = " ".join(self.entries[key].split())
            preview = text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 3] + "..."
            lines.append(f"- {key}: {preview}")
        return "\n".join(lines)

    def memory_read(self, key: str) -> str:
        """The text stored under ``key``."""
        return self.entries[self._existing(key)]

    def memory_write(self, key: str, content: str) -> str:
        """Store ``content`` under ``key`` (creating or replacing it)."""
        key = self._key(key)
        verb = "Updated" if key in self.entries else "Saved"
        self.entries[key] = content
        return f"{verb} memory {key!r}."

    def memory_delete(self, key: str) -> str:
        """Remove ``key`` from memory."""
        del self.entries[(key := self._existing(key))]
        return f"Deleted memory {key!r}."

    def tools(self) -> list[Tool]:
        """The four memory tools, bound to this store, with their default descriptions."""
        schemas = {
            "memory_list": object_schema({}),
            "memory_read": object_schema({"key": _KEY}, ["key"]),
            "memory_write": object_schema(
                {"key": _KEY, "content": {"type": "string", "description": "The text to remember."}},
                ["key", "content"],
            ),
            "memory_delete": object_schema({"key": _KEY}, ["key"]),
        }
        return [
            FunctionTool(ToolSpec(name=name, description=DESCRIPTIONS[name], parameters=schema),
                         getattr(self, name))
            for name, schema in schemas.items()
        ]
