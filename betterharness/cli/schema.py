"""``python -m betterharness schema [--check] [--out PATH]``: write or verify ``evals/schema.json``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from betterharness.atomic import write_text
from betterharness.evals.schema import render
from betterharness.paths import evals_dir


def main(argv: list[str] | None = None) -> int:
    """Write the case JSON Schema; with ``--check``, exit 1 when the file on disk is out of date."""
    parser = argparse.ArgumentParser(prog="python -m betterharness schema", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only verify that the file is up to date")
    parser.add_argument("--out", type=Path, default=None, help="where the schema goes (default: evals/schema.json)")
    args = parser.parse_args(argv)
    path = args.out or evals_dir() / "schema.json"
    text = render()
    if args.check:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != text:
            print(f"{path} is out of date: run python -m betterharness schema", file=sys.stderr)
            return 1
        print(f"{path} is up to date")
        return 0
    write_text(path, text)
    print(f"wrote {path}")
    return 0
