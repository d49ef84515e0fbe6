"""``python -m betterharness review <run folder>``: decide a proposal that waits for review."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from betterharness.errors import BHError, run_cli
from betterharness.evals.split import Split
from betterharness.optimize.review import Evidence, ask_human, evidence, record_decision
from betterharness.optimize.state import STATE_FILE, Decision, OptimizeState
from betterharness.report.review import show
from betterharness.store.folder import RunFolder, now

SPLIT_FILE = "split.json"


def ask_person(evidence: Evidence) -> Decision:
    """Show a gated proposal on the terminal and ask the person there to decide it."""
    show(evidence)
    return ask_human(evidence.iteration, evidence.sources)


def terminal_reviewer(evidence: Evidence) -> Decision | None:
    """The in-run reviewer of ``review=interactive``: the person at the terminal, or None without one."""
    return ask_person(evidence) if sys.stdin.isatty() else None


def _decide(args: argparse.Namespace) -> Decision:
    folder = RunFolder(args.folder)
    state = folder.load(STATE_FILE, OptimizeState)
    if state is None:
        raise BHError(f"no optimize run in {args.folder}", file=args.folder / STATE_FILE,
                      fix="pass the folder of an optimize run (outputs/<hash>)")
    pending = state.pending
    if pending is None or pending.gate is None:
        raise BHError("no proposal is waiting for review in this run", file=args.folder / STATE_FILE,
                      fix="re-run the experiment's command to continue it")
    split = folder.load(SPLIT_FILE, Split)
    found = evidence(folder, split.by_tag if split else {}, pending)
    if args.approve or args.reject:
        show(found)
        decision = Decision(verdict="approve" if args.approve else "reject",
                            reason=args.reason or "(no reason given)", by="human:cli", at=now())
    else:
        decision = ask_person(found)
    record_decision(state, folder, pending, decision)
    record = folder.read_record() or {}
    command = " ".join(["python -m betterharness", *record.get("overrides", [])])
    print(f"recorded: {decision.verdict} ({decision.reason}). Continue the run with:\n  {command}", file=sys.stderr)
    return decision


def main(argv: list[str] | None = None) -> int:
    """Show the pending proposal of a run and record a decision."""
    parser = argparse.ArgumentParser(prog="python -m betterharness review", description=__doc__)
    parser.add_argument("folder", type=Path, help="the run's output folder, outputs/<hash>")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--approve", action="store_true", help="approve without prompting")
    group.add_argument("--reject", action="store_true", help="reject without prompting")
    parser.add_argument("--reason", default="", help="why (recorded with the decision)")
    args = parser.parse_args(argv)
    return run_cli(lambda: _decide(args))
