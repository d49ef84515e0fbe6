"""A virtual filesystem over a dict of paths, with the Deep Agents tools (ls, read/write/edit, glob, grep)."""

from __future__ import annotations

import difflib

from betterharness.agent.tools.base import FunctionTool, Tool, ToolFailure, ToolSpec, object_schema
from betterharness.agent.tools.virtual_paths import (
    file_filter_match,
    glob_match,
    is_under,
    normalize_path,
    parent_of,
    relative_to,
)
from betterharness.safe_regex import RegexError, compile_regex

DEFAULT_LIMIT = 200
MAX_LIMIT = 250
"""The most lines one read returns: long inputs must be paged, as a context budget would force."""
MAX_GREP_LINES = 500
EMPTY_FILE = "System reminder: File exists but has empty contents"

DESCRIPTIONS: dict[str, str] = {
    "ls": "List the files and directories directly inside a directory (absolute paths; directories end "
    "with '/'). Use it to explore the filesystem before reading or editing.",
    "read_file": "Read a text file. Output is numbered like `cat -n`, starting at line 1. Reads up to "
    f"`limit` lines (default {DEFAULT_LIMIT}, at most {MAX_LIMIT}) from the 0-based line `offset`; "
    "for long files, read again with the offset given at the end of the output. Always read a file before editing it.",
    "write_file": "Create a new file with the given content. Fails if the file already exists: use "
    "edit_file to change an existing file.",
    "edit_file": "Replace an exact string in a file. `old_string` must match the file exactly (including "
    "whitespace, without line-number prefixes) and be unique, unless `replace_all` is true.",
    "glob": "Find files whose path matches a glob pattern: `*` and `?` within a name, `**` across "
    "directories, `{a,b}` alternatives. Relative patterns are matched from `path`, e.g. `**/*.py`.",
    "grep": "Search file contents with a regular expression. `output_mode` is 'files_with_matches' "
    "(paths, the default), 'content' (path:line:text) or 'count' (path:matches). `glob` filters files.",
}

_PATH = {"type": "string", "description": "Absolute path, e.g. /notes/todo.md."}


class VirtualFilesystem:
    """Files held in memory, keyed by normalised absolute path; directories exist implicitly."""

    def __init__(self, files: dict[str, str] | None = None) -> None:
        self.files: dict[str, str] = {}
        for path, content in (files or {}).items():
            try:
                self.files[normalize_path(path)] = content
            except ToolFailure as exc:
                raise ValueError(f"bad seed file path: {exc.message}") from None

    def is_dir(self, path: str) -> bool:
        """True for the root and any directory that holds at least one file."""
        return path == "/" or any(is_under(f, path) for f in self.files)

    def _nearby(self, path: str) -> str:
        close = difflib.get_close_matches(path, list(self.files), n=5, cutoff=0.6)
        siblings = sorted(f for f in self.files if parent_of(f) == parent_of(path))
        nearby = list(dict.fromkeys(close + siblings))[:8]
        if nearby:
            return " Nearby paths: " + ", ".join(nearby) + "."
        return f" The filesystem holds {len(self.files)} file(s); use ls or glob to find them."

    def _existing_file(self, file_path: str) -> str:
        path = normalize_path(file_path)
        if path in self.files:
            return path
        if self.is_dir(path):
            raise ToolFailure(f"{path} is a directory, not a file; use ls to list it.")
        raise ToolFailure(f"file not found: {path}." + self._nearby(path))

    def _existing_dir(self, path: str) -> str:
        directory = normalize_path(path)
        if directory in self.files:
            raise ToolFailure(f"{directory} is a file, not a directory; use read_file to read it.")
        if not self.is_dir(directory):
            raise ToolFailure(f"directory not found: {directory}." + self._nearby(directory))
        return directory

    def ls(self, path: str = "/") -> str:
        """The direct children of ``path``, one per line, directories with a trailing ``/``."""
        directory = self._existing_dir(path)
        children: set[str] = set()
        for file in self.files:
            if is_under(file, directory):
                head, _, rest = relative_to(file, directory).partition("/")
                prefix = directory.rstrip("/") + "/" + head
                children.add(prefix + "/" if rest else prefix)
        return "\n".join(sorted(children)) if children else f"{directory} is empty."

    def read_file(self, file_path: str, offset: int = 0, limit: int = DEFAULT_LIMIT) -> str:
        """Lines ``offset`` .. ``offset + limit`` of a file (at most MAX_LIMIT), numbered like ``cat -n``."""
        path = self._existing_file(file_path)
        lines = self.files[path].splitlines()
        if not lines:
            return EMPTY_FILE
        if offset >= len(lines):
            raise ToolFailure(f"offset {offset} is past the end of {path}, which has {len(lines)} line(s).")
        end = min(offset + min(limit, MAX_LIMIT), len(lines))
        out = [f"{number:6d}\t{line}" for number, line in enumerate(lines[offset:end], start=offset + 1)]
        if end < len(lines):
            rest = len(lines) - end
            out.append(f"... ({rest} more line{'s' if rest > 1 else ''}; read again with offset={end})")
        return "\n".join(out)

    def write_file(self, file_path: str, content: str) -> str:
        """Create a new file; existing files are refused (edit them instead)."""
        path = normalize_path(file_path)
        if path == "/" or self.is_dir(path):
            raise ToolFailure(f"{path} is a directory; give a file path.")
        if path in self.files:
            raise ToolFailure(
                f"cannot write to {path} because it already exists. "
                "Read it and then use edit_file to change it."
            )
        ancestor = parent_of(path)
        while ancestor != "/":
            if ancestor in self.files:
                raise ToolFailure(f"cannot create {path}: {ancestor} is a file, not a directory.")
            ancestor = parent_of(ancestor)
        self.files[path] = content
        return f"Created file {path} ({len(content.splitlines())} lines)."

    def edit_file(self, file_path: str, old_string: str, new_string: str, replace_all: bool = False) -> str:
        """Replace ``old_string`` (which must be unique unless ``replace_all``) with ``new_string``."""
        path = self._existing_file(file_path)
        if old_string == new_string:
            raise ToolFailure("old_string and new_string are identical; there is nothing to change.")
        content = self.files[path]
        count = content.count(old_string) if old_string else 0
        if count == 0:
            raise ToolFailure(
                f"old_string not found in {path}. It must match the file exactly, including whitespace "
                "and indentation; read the file first."
            )
        if count > 1 and not replace_all:
            raise ToolFailure(
                f"old_string appears {count} times in {path}. Include more surrounding context to make it "
                "unique, or set replace_all=true to replace every occurrence."
            )
        self.files[path] = content.replace(old_string, new_string)
        return f"Replaced {count} occurrence(s) in {path}."

    def _files_under(self, path: str) -> tuple[str, list[str]]:
        base = normalize_path(path)
        if base in self.files:
            return parent_of(base), [base]
        base = self._existing_dir(base)
        return base, sorted(f for f in self.files if is_under(f, base))

    def glob(self, pattern: str, path: str = "/") -> str:
        """Paths of the files under ``path`` that match ``pattern``, one per line."""
        base, candidates = self._files_under(path)
        matches = [f for f in candidates if glob_match(pattern, f, base)]
        return "\n".join(matches) if matches else f"No files match {pattern!r} under {normalize_path(path)}."

    def grep(
        self, pattern: str, path: str = "/", glob: str | None = None, output_mode: str = "files_with_matches"
    ) -> str:
        """Search file contents for the regex ``pattern``; the output shape follows ``output_mode``."""
        try:
            regex = compile_regex(pattern)
        except RegexError as exc:
            message = f"invalid regex {pattern!r}: {exc}. Escape special characters such as ( [ . * with \\."
            raise ToolFailure(message) from None
        base, candidates = self._files_under(path)
        if glob:
            candidates = [f for f in candidates if file_filter_match(glob, f, base)]
        hits = {
            f: [(n, line) for n, line in enumerate(self.files[f].splitlines(), 1) if regex.search(line)]
            for f in candidates
        }
        hits = {f: found for f, found in hits.items() if found}
        if not hits:
            return f"No matches for {pattern!r} under {normalize_path(path)}."
        if output_mode == "count":
            return "\n".join(f"{f}:{len(found)}" for f, found in hits.items())
        if output_mode == "content":
            lines = [f"{f}:{n}:{line}" for f, found in hits.items() for n, line in found]
            if len(lines) > MAX_GREP_LINES:
                extra = len(lines) - MAX_GREP_LINES
                lines = lines[:MAX_GREP_LINES] + [f"... ({extra} more matching lines; narrow the search)"]
            return "\n".join(lines)
        return "\n".join(hits)

    def tools(self) -> list[Tool]:
        """The six filesystem tools, bound to this filesystem, with their default descriptions."""
        schemas = {
            "ls": object_schema({"path": {**_PATH, "default": "/"}}),
            "read_file": object_schema(
                {
                    "file_path": _PATH,
                    "offset": {"type": "integer", "minimum": 0, "default": 0,
                               "description": "0-based line to start from."},
                    "limit": {"type": "integer", "minimum": 1, "default": DEFAULT_LIMIT,
                              "description": "Maximum number of lines to read."},
                },
                ["file_path"],
            ),
            "write_file": object_schema({"file_path": _PATH, "content": {"type": "string"}},
                                        ["file_path", "content"]),
            "edit_file": object_schema(
                {
                    "file_path": _PATH,
                    "old_string": {"type": "string", "description": "Exact text to replace."},
                    "new_string": {"type": "string", "description": "Replacement text."},
                    "replace_all": {"type": "boolean", "default": False,
                                    "description": "Replace every occurrence instead of a unique one."},
                },
                ["file_path", "old_string", "new_string"],
            ),
            "glob": object_schema(
                {"pattern": {"type": "string", "description": "Glob pattern, e.g. **/*.md."},
                 "path": {**_PATH, "default": "/", "description": "Directory to search from."}},
                ["pattern"],
            ),
            "grep": object_schema(
                {
                    "pattern": {"type": "string", "description": "Regular expression (Python syntax)."},
                    "path": {**_PATH, "default": "/", "description": "Directory or file to search."},
                    "glob": {"type": ["string", "null"], "default": None,
                             "description": "Only search files matching this glob, e.g. *.py."},
                    "output_mode": {"type": "string", "enum": ["files_with_matches", "content", "count"],
                                    "default": "files_with_matches"},
                },
                ["pattern"],
            ),
        }
        return [
            FunctionTool(ToolSpec(name=name, description=DESCRIPTIONS[name], parameters=schema),
                         getattr(self, name))
            for name, schema in schemas.items()
        ]
