"""``python -m betterharness catalog [--root DIR] [--write]``: validate every case and print the catalog.

Invalid case files are printed with what is wrong and how to fix it (exit 1). ``--write`` regenerates
``<root>/CATALOG.md`` (a test fails when the committed file drifts from the cases).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from betterharness.atomic import write_text
from betterharness.errors import BHError
from betterharness.evals.case import EvalCase
from betterharness.evals.catalog import STATUSES, TIERS, render_catalog, tag_tier_counts
from betterharness.evals.load import load_all
from betterharness.paths import evals_dir


def print_catalog(cases: list[EvalCase]) -> None:
    """The catalog on the terminal: counts per tag and tier and per status, and the cases to look at."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    per_tag = Table(title=f"{len(cases)} cases per tag and tier")
    for column in ("tag", *TIERS, "total"):
        per_tag.add_column(column, justify="left" if column == "tag" else "right")
    for tag, counts in tag_tier_counts(cases).items():
        per_tag.add_row(tag, *(str(counts[t]) for t in TIERS), str(sum(counts.values())))
    console.print(per_tag)
    statuses: Counter[str] = Counter(c.status for c in cases)
    per_status = Table(title="Cases per status")
    per_status.add_column("status")
    per_status.add_column("cases", justify="right")
    for status in STATUSES:
        per_status.add_row(status, str(statuses[status]))
    console.print(per_status)
    ordered = sorted(cases, key=lambda c: c.id)
    for title, chosen in (
        ("Missing an ideal trajectory (ideal.trajectory)", [c for c in ordered if not c.ideal.trajectory]),
        ("Regression tier (must keep passing)", [c for c in ordered if c.tier == "regression"]),
        ("Not active (draft or quarantined)", [c for c in ordered if c.status != "active"]),
    ):
        if not chosen:
            console.print(f"{title}: none")
            continue
        listing = Table(title=f"{title}: {len(chosen)}", title_justify="left")
        for column in ("case", "tags", "tier", "status"):
            listing.add_column(column)
        for case in chosen:
            listing.add_row(case.id, ", ".join(case.tags), case.tier, case.status)
        console.print(listing)


def main(argv: list[str] | None = None) -> int:
    """CLI: validate, print the catalog, maybe write CATALOG.md; exit 1 on invalid cases, 2 on bad input."""
    parser = argparse.ArgumentParser(prog="python -m betterharness catalog", description=__doc__)
    parser.add_argument("--root", type=Path, default=None, help="case folder (default: the shipped evals/)")
    parser.add_argument("--write", action="store_true", help="regenerate <root>/CATALOG.md")
    args = parser.parse_args(argv)
    root = args.root or evals_dir()
    if not root.is_dir():
        error = BHError(f"no case folder at {root}", file=root, fix="pass --root with a folder of case files")
        print(error.render(), file=sys.stderr)
        return 2
    found = load_all(root)
    print_catalog(found.cases)
    for error in found.errors:
        print(error.render(), file=sys.stderr)
    if found.errors:
        print(f"{len(found.errors)} invalid case file(s) under {root}"
              + ("; CATALOG.md not written: fix them first" if args.write else ""), file=sys.stderr)
        return 1
    if args.write:
        path = root / "CATALOG.md"
        write_text(path, render_catalog(found.cases))
        print(f"wrote {path}")
    print(f"all {len(found.cases)} case files are valid")
    return 0

