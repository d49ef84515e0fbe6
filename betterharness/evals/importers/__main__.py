"""``python -m betterharness.evals.importers bfcl|jsonl ...``: import outside eval data as case files."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from betterharness.errors import BHError, exit_with
from betterharness.evals.case import slug
from betterharness.evals.importers.common import ImportReport


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m betterharness.evals.importers",
        description="Import eval data as case YAML files, one per case, deduplicated by source digest.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    bfcl = commands.add_parser("bfcl", help="the Berkeley Function Calling Leaderboard (bfcl-eval data)")
    bfcl.add_argument("--categories", default="simple,multiple,parallel,parallel_multiple,irrelevance",
                      help="comma-separated BFCL categories (default: %(default)s)")
    bfcl.add_argument("--limit", type=int, default=None, help="import the first N entries of each category")
    bfcl.add_argument("--data-dir", type=Path, default=None,
                      help="a BFCL data folder (default: the installed bfcl_eval package's data/)")
    jsonl = commands.add_parser("jsonl", help="the neutral JSON-lines format (docs/import_format.md)")
    jsonl.add_argument("file", type=Path, help="the .jsonl file, one case per line")
    jsonl.add_argument("--name", default=None,
                       help="dataset name: its folder, id prefix and tag (default: the file's stem)")
    for sub in (bfcl, jsonl):
        sub.add_argument("--dest", type=Path, default=Path("evals/imported"),
                         help="folder the cases land in (default: %(default)s)")
        sub.add_argument("--force", action="store_true",
                         help="rewrite files even when their source digest is unchanged (drops hand edits)")
    return parser


def _print_report(label: str, report: ImportReport, folder: Path) -> None:
    print(f"{label}: {report.summary()} -> {folder}")
    for path in report.updated:
        print(f"  updated {path.stem} (source record changed)")


def _run_bfcl(args: argparse.Namespace) -> None:
    from betterharness.evals.importers.bfcl import category_name, import_category

    names = [name.strip() for name in args.categories.split(",") if name.strip()]
    for name in names:
        category_name(name)
    total = ImportReport()
    for name in names:
        report = import_category(name, args.dest, limit=args.limit, source=args.data_dir, force=args.force)
        _print_report(f"bfcl {category_name(name)}", report, args.dest / "bfcl" / category_name(name))
        total.add(report)
    if len(names) > 1:
        print(f"total: {total.summary()}")


def _run_jsonl(args: argparse.Namespace) -> None:
    from betterharness.evals.importers.jsonl import import_jsonl

    name = args.name or args.file.stem
    report = import_jsonl(args.file, args.dest, name=name, force=args.force)
    _print_report(f"jsonl {slug(name)}", report, args.dest / slug(name))


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, run the importer, print created / updated / unchanged counts."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "bfcl":
            _run_bfcl(args)
        else:
            _run_jsonl(args)
    except BHError as error:
        exit_with(error)
    return 0


if __name__ == "__main__":
    sys.exit(main())
