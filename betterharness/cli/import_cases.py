"""``python -m betterharness import <importer> ...``: import outside eval data as case files."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from betterharness.errors import run_cli
from betterharness.evals.importers import IMPORTERS, ImportReport


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m betterharness import",
        description="Import eval data as case YAML files, one per case, deduplicated by source digest.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name in IMPORTERS.names():
        importer = IMPORTERS.get(name)
        sub = commands.add_parser(name, help=importer.help)
        importer.configure(sub)
        sub.add_argument("--dest", type=Path, default=Path("evals/imported"),
                         help="folder the cases land in (default: %(default)s)")
        sub.add_argument("--force", action="store_true",
                         help="rewrite files even when their source digest is unchanged (drops hand edits)")
    return parser


def _run(args: argparse.Namespace) -> None:
    parts = IMPORTERS.get(args.command).run(args)
    total = ImportReport()
    for label, report, folder in parts:
        print(f"{label}: {report.summary()} -> {folder}")
        for path in report.updated:
            print(f"  updated {path.stem} (source record changed)")
        total.add(report)
    if len(parts) > 1:
        print(f"total: {total.summary()}")


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, run the importer, print created / updated / unchanged counts."""
    args = _parser().parse_args(argv)
    return run_cli(lambda: _run(args))
