"""The acceptance gate: candidate vs incumbent per case, paired, with a sign test and hard constraints.

Each case's k epochs are paired epoch by epoch. A case is *fixed* when the incumbent failed every
epoch and the candidate passed every epoch, *broken* for the reverse, *still passing* / *still
failing* when both agree on every epoch, and *unstable* otherwise (the noise band: it counts for
neither side). Epochs that infrastructure ended (``Score.errored``) pair with nothing. The gain is
tested with a one-sided exact sign test over the discordant epoch pairs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from math import comb

from pydantic import BaseModel, Field

from betterharness.config.schema import GateConfig
from betterharness.evals.case import EvalCase
from betterharness.scoring.aggregate import mean_correctness
from betterharness.scoring.score import Score

TRANSITIONS = ("fixed", "broken", "still_passing", "still_failing", "unstable")


class Transitions(BaseModel):
    """Case ids per transition, plus the discordant epoch-pair counts for the sign test."""

    fixed: list[str] = Field(default_factory=list)
    broken: list[str] = Field(default_factory=list)
    still_passing: list[str] = Field(default_factory=list)
    still_failing: list[str] = Field(default_factory=list)
    unstable: list[str] = Field(default_factory=list)
    pairs_gained: int = 0
    pairs_lost: int = 0


class GateResult(BaseModel):
    """The gate's decision and the evidence behind it."""

    passed: bool
    reasons: list[str]
    transitions: Transitions
    p_value: float
    opt_before: float
    opt_after: float
    holdout_before: float | None = None
    holdout_after: float | None = None
    broken_regression: list[str] = Field(default_factory=list)
    broken_regression_holdout: list[str] = Field(default_factory=list, description="Never shown to the proposer.")


def sign_test(gained: int, lost: int) -> float:
    """One-sided exact sign test: P(X >= gained) for X ~ Binomial(gained + lost, 1/2); 1.0 when no pairs."""
    n = gained + lost
    if n == 0:
        return 1.0
    return sum(comb(n, i) for i in range(gained, n + 1)) / 2**n


def _by_case(scores: Sequence[Score]) -> dict[str, dict[int, bool]]:
    """Case id → epoch → passed, over scored rollouts only: an errored epoch pairs with nothing."""
    out: dict[str, dict[int, bool]] = {}
    for score in scores:
        if not score.errored:
            out.setdefault(score.case_id, {})[score.epoch] = score.passed
    return out


def transitions(incumbent: Sequence[Score], candidate: Sequence[Score]) -> Transitions:
    """Per-case transitions between two runs of the same cases and epochs."""
    before, after = _by_case(incumbent), _by_case(candidate)
    result = Transitions()
    for case_id in sorted(before.keys() & after.keys()):
        epochs = sorted(before[case_id].keys() & after[case_id].keys())
        b = [before[case_id][e] for e in epochs]
        a = [after[case_id][e] for e in epochs]
        result.pairs_gained += sum(1 for x, y in zip(b, a, strict=True) if not x and y)
        result.pairs_lost += sum(1 for x, y in zip(b, a, strict=True) if x and not y)
        if all(b) and all(a):
            result.still_passing.append(case_id)
        elif not any(b) and not any(a):
            result.still_failing.append(case_id)
        elif not any(b) and all(a):
            result.fixed.append(case_id)
        elif all(b) and not any(a):
            result.broken.append(case_id)
        else:
            result.unstable.append(case_id)
    return result


def _broken_regression(tiers: Mapping[str, str], incumbent: Sequence[Score], candidate: Sequence[Score]) -> list[str]:
    before, after = _by_case(incumbent), _by_case(candidate)
    return sorted(cid for cid in before.keys() & after.keys()
                  if tiers.get(cid) == "regression" and sum(after[cid].values()) < sum(before[cid].values()))


def gate(cases: Sequence[EvalCase], incumbent: Sequence[Score], candidate: Sequence[Score], config: GateConfig,
         holdout_incumbent: Sequence[Score] = (), holdout_candidate: Sequence[Score] = (),
         holdout_cases: Sequence[EvalCase] = (), level: float | None = None, control: str = "") -> GateResult:
    """Accept only a net gain beyond noise, no regression-tier case broken (optimization or holdout), and a
    non-inferior holdout. Reasons about the holdout carry no case ids. ``level`` replaces ``config.alpha`` when
    the error is controlled over many candidates (``control`` names how, for the reasons)."""
    moves = transitions(incumbent, candidate)
    tiers = {c.id: c.tier for c in cases}
    broken_regression = _broken_regression(tiers, incumbent, candidate)
    broken_holdout = _broken_regression({c.id: c.tier for c in holdout_cases}, holdout_incumbent, holdout_candidate)
    p = sign_test(moves.pairs_gained, moves.pairs_lost)
    net = len(moves.fixed) - len(moves.broken)
    reasons = []
    if net < config.min_net_fixed:
        reasons.append(f"net fixed cases {net} < required {config.min_net_fixed}")
    alpha = config.alpha if level is None else level
    if p > alpha:
        held = f"alpha={config.alpha}" if level is None else f"level {alpha:.4g} ({control})"
        reasons.append(f"gain not beyond noise: sign test p={p:.3f} > {held}")
    if broken_regression:
        reasons.append(f"breaks regression-tier case(s): {', '.join(broken_regression)}")
    if broken_holdout:
        reasons.append(f"holdout: breaks {len(broken_holdout)} regression-tier holdout case(s)")
    hillclimb_broken = [c for c in moves.broken if tiers.get(c) != "regression"]
    if config.max_broken is not None and len(hillclimb_broken) > config.max_broken:
        reasons.append(f"breaks {len(hillclimb_broken)} hillclimb case(s) > max_broken={config.max_broken}")
    h_before = mean_correctness(holdout_incumbent) if holdout_incumbent else None
    h_after = mean_correctness(holdout_candidate) if holdout_candidate else None
    if h_before is not None and h_after is not None and h_after < h_before - config.holdout_margin - 1e-9:
        reasons.append(f"holdout inferior: {h_after:.2f} < {h_before:.2f} - margin {config.holdout_margin}")
    passed = not reasons
    if passed:
        reasons.append(f"{len(moves.fixed)} fixed, {len(moves.broken)} broken, sign test p={p:.3f}; "
                       "no regression-tier case broken; holdout non-inferior")
    return GateResult(passed=passed, reasons=reasons, transitions=moves, p_value=p,
                      opt_before=mean_correctness(incumbent), opt_after=mean_correctness(candidate),
                      holdout_before=h_before, holdout_after=h_after,
                      broken_regression=broken_regression, broken_regression_holdout=broken_holdout)


def proposer_view(reasons: Sequence[str]) -> list[str]:
    """Gate reasons as the proposer may see them: holdout facts reduced to pass/fail, no numbers or ids."""
    return ["the holdout gate failed" if reason.startswith("holdout") else reason for reason in reasons]
