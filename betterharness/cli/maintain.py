"""Report saturated, flaky and never-passing cases from recorded runs: ``python -m betterharness maintain``.

Examples::

    python -m betterharness maintain                                  # reads outputs/*/scores.jsonl
    python -m betterharness maintain --outputs runs --min-epochs 3
    python -m betterharness maintain --quarantine-never-passed        # edits those case files in place

The report is printed and written to ``<outputs>/_maintenance.md``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from betterharness.atomic import write_text
from betterharness.errors import BHError, run_cli
from betterharness.evals.status import quarantine
from betterharness.paths import evals_dir
from betterharness.report.maintenance import classify, collect, render


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m betterharness maintain", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--outputs", type=Path, default=Path("outputs"), help="folder of run folders")
    parser.add_argument("--min-epochs", type=int, default=2,
                        help="rollouts a case needs (over all models and harnesses) to count as saturated "
                             "or never passed (default 2)")
    parser.add_argument("--root", type=Path, default=None,
                        help="case suite to edit (default: the shipped evals/)")
    parser.add_argument("--quarantine-never-passed", action="store_true",
                        help="set `status: quarantined` in the files of never-passing cases")
    return parser


def run(args: argparse.Namespace) -> str:
    """Build the report, write ``_maintenance.md``, quarantine if asked; return what was printed."""
    if args.min_epochs < 1:
        raise BHError("--min-epochs must be at least 1", key="--min-epochs", value=args.min_epochs,
                      fix="pass --min-epochs 2 (the default) or more")
    histories, sources = collect(args.outputs)
    classes = classify(histories, args.min_epochs)
    text = render(classes, sources, args.min_epochs)
    if args.quarantine_never_passed:
        ids = [h.case_id for h in classes["never_passed"]]
        done = quarantine(ids, args.root or evals_dir()) if ids else ["no never-passing case to quarantine"]
        text += "\n## Quarantine\n\n" + "\n".join(f"- {line}" for line in done) + "\n"
    write_text(args.outputs / "_maintenance.md", text)
    print(text + f"\n(written to {args.outputs / '_maintenance.md'})")
    return text


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; exit 2 with a message naming the file and the fix on bad input."""
    args = _parser().parse_args(argv)
    return run_cli(lambda: run(args))

