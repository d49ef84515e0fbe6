"""The final harness, exported as a template set: into the run folder, and where the user asks.

Never into the package's own folders: an installed wheel's ``harness_templates/`` is not the user's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from betterharness.harness.templates import Harness, write_harness
from betterharness.store.folder import RunFolder


@dataclass
class Exported:
    """Where the exported set went and the overrides that use it."""

    paths: list[Path]
    name: str
    usage: str


def export(final: Harness, base: str, folder: RunFolder, destination: str | None = None) -> Exported:
    """Write ``final`` as ``<base>_opt_<hash>`` under ``<run>/harness/`` and under ``destination`` if given."""
    name = f"{base}_opt_{final.hash[:8]}"
    inside = folder.export_harness(final, name)
    paths = [inside]
    root = inside.parent
    if destination:
        root = Path(destination).expanduser()
        write_harness(final, root / name)
        paths.append(root / name)
    return Exported(paths=paths, name=name, usage=f"harness.dir={root} harness.name={name}")
