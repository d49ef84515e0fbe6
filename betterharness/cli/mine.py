"""Mine draft eval cases from failed or corrected rollouts: ``python -m betterharness mine traces|langsmith``.

Examples::

    python -m betterharness mine traces outputs/<hash>/traces.jsonl --dest evals/mined
    python -m betterharness mine langsmith runs.json --dest evals/mined
    python -m betterharness mine langsmith --run-id 1f0c... --run-id 9ab2...   # needs LANGSMITH_API_KEY

Drafts are written with ``status: draft``: review each one (input cut, mock tools, the placeholder
judge criterion), then set ``status: active``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from betterharness.errors import BHError, run_cli
from betterharness.evals.case import EvalCase
from betterharness.evals.langsmith_runs import from_run, read_runs
from betterharness.evals.load import load_all
from betterharness.evals.mining import MineResult, mine
from betterharness.integrations.langsmith import fetch_runs
from betterharness.paths import evals_dir
from betterharness.store.mining_input import read_traces


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m betterharness mine", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sources = parser.add_subparsers(dest="source", required=True)
    traces = sources.add_parser("traces", help="mine this project's traces.jsonl (judged by scores.jsonl)")
    traces.add_argument("path", type=Path, help="outputs/<hash>/traces.jsonl")
    traces.add_argument("--scores", type=Path, help="scores.jsonl (default: next to the traces)")
    smith = sources.add_parser("langsmith", help="mine LangSmith runs from an export or by run id")
    smith.add_argument("path", type=Path, nargs="?", help="a JSON list of runs (client.list_runs serialised)")
    smith.add_argument("--run-id", action="append", default=[], help="fetch this run (repeatable)")
    for sub in (traces, smith):
        sub.add_argument("--root", type=Path, default=None, help="the case suite to de-duplicate against "
                         "(default: the shipped evals/)")
        sub.add_argument("--dest", type=Path, default=None, help="where drafts go (default: <root>/mined)")
        sub.add_argument("--dry-run", action="store_true", help="report what would be drafted; write nothing")
    return parser


def _known_cases(root: Path, dest: Path) -> list[EvalCase]:
    if not root.is_dir():
        raise BHError(f"no case folder at {root}", file=root,
                      fix="pass --root with the case suite to de-duplicate against (a folder of case files)")
    cases = list(load_all(root).cases)
    inside = dest.resolve().is_relative_to(root.resolve())
    if dest.is_dir() and not inside:
        cases += load_all(dest).cases
    return cases


def report(result: MineResult, dest: Path, dry_run: bool) -> str:
    """The import summary: each draft, duplicate and skip, then the counts."""
    lines = [f"{'would draft' if dry_run else 'drafted'}  {path}" for path in result.drafted]
    lines += [f"duplicate  {ref}: {why}" for ref, why in result.duplicates]
    lines += [f"skipped    {ref}: {why}" for ref, why in result.skipped]
    passing = sum(1 for _, why in result.skipped if why.startswith("passing"))
    lines.append(f"{len(result.drafted)} drafted, {len(result.duplicates)} duplicate, "
                 f"{passing} skipped (passing), {len(result.skipped) - passing} skipped (other)")
    if result.drafted and not dry_run:
        lines.append(f"review the drafts in {dest}, then set `status: active` on the ones to keep")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> MineResult:
    """Load the rollouts the arguments name and mine them."""
    root = (args.root or evals_dir()).resolve()
    dest = (args.dest or root / "mined").resolve()
    known = _known_cases(root, dest)
    if args.source == "traces":
        rollouts = read_traces(args.path, args.scores, {c.id: c for c in known})
    else:
        if args.path is None and not args.run_id:
            raise BHError("nothing to mine: give an exported runs.json or --run-id",
                          fix="python -m betterharness mine langsmith runs.json --dest evals/mined")
        runs = read_runs(args.path) if args.path is not None else []
        runs += fetch_runs(args.run_id) if args.run_id else []
        rollouts = [from_run(r) for r in runs]
    result = mine(rollouts, dest, known, root / "schema.json", dry_run=args.dry_run)
    print(report(result, dest, args.dry_run))
    return result


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; exit 2 with a message naming the file and the fix on bad input."""
    args = _parser().parse_args(argv)
    return run_cli(lambda: run(args))

