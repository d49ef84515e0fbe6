"""``python -m betterharness.review <run folder>``: decide a proposal that waits for review."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from betterharness.errors import BHError, exit_with
from betterharness.harness.versions import VersionStore, changed_surfaces, diff
from betterharness.optimize.review import ask_human, evidence, now, show
from betterharness.optimize.state import Decision, OptimizeState
from betterharness.store import RunStore, write_json


def main(argv: list[str] | None = None) -> None:
    """Show the pending proposal of a run and record a decision."""
    parser = argparse.ArgumentParser(prog="python -m betterharness.review", description=__doc__)
    parser.add_argument("folder", type=Path, help="the run's output folder, outputs/<hash>")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--approve", action="store_true", help="approve without prompting")
    group.add_argument("--reject", action="store_true", help="reject without prompting")
    parser.add_argument("--reason", default="", help="why (recorded with the decision)")
    args = parser.parse_args(argv)
    try:
        state_path = args.folder / "optimize_state.json"
        state = OptimizeState.load(state_path)
        if state is None:
            raise BHError(f"no optimize run in {args.folder}", file=state_path,
                          fix="pass the folder of an optimize run (outputs/<hash>)")
        pending = state.pending
        if pending is None or pending.gate is None:
            raise BHError("no proposal is waiting for review in this run", file=state_path,
                          fix="re-run the experiment's command to continue it")
        versions = VersionStore(args.folder / "versions")
        incumbent, candidate = versions.load(pending.incumbent), versions.load(pending.candidate or "")
        split = json.loads((args.folder / "split.json").read_text(encoding="utf-8"))
        delta, samples = evidence(RunStore(args.folder), split.get("by_tag", {}), pending)
        show(pending, diff(incumbent, candidate), delta, samples)
        if args.approve or args.reject:
            decision = Decision(verdict="approve" if args.approve else "reject",
                                reason=args.reason or "(no reason given)", by="human:cli", at=now())
        else:
            decision = ask_human(pending, {s: candidate.sources[s] for s in changed_surfaces(incumbent, candidate)})
        if decision.verdict == "edit" and decision.edited_sources:
            for surface, source in decision.edited_sources.items():
                candidate = candidate.with_source(surface, source)
            candidate = candidate.model_copy(update={"parent": incumbent.hash})
            candidate.check()
            versions.save(candidate)
            pending.candidate = candidate.hash
        pending.decision = decision
        pending.outcome = "rejected" if decision.verdict == "reject" else "accepted"
        if pending.outcome == "accepted":
            state.incumbent = pending.candidate or state.incumbent
        state.status = "running"
        state.save(state_path)
        write_json(args.folder / "iterations" / f"{pending.index:03d}" / "iteration.json", pending)
    except BHError as error:
        exit_with(error)
        return
    record = json.loads((args.folder / "experiment.json").read_text(encoding="utf-8"))
    command = " ".join(["python -m betterharness", *record.get("overrides", [])])
    print(f"recorded: {decision.verdict} ({decision.reason}). Continue the run with:\n  {command}", file=sys.stderr)


if __name__ == "__main__":
    main()
