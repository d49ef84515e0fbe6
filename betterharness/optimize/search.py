"""Search: many candidates per iteration, screened cheaply, the best sent to the full gate with the error
controlled over all of them.

- **Minibatch.** A seeded order of the optimization cases (by iteration): ``min_failing`` cases the
  incumbent fails first, then the rest. Each screening round takes a prefix of that order, so a later,
  larger round reuses every rollout of the earlier ones (they are the candidate's epoch-0 rollouts, which
  the full gate reuses too).
- **Screen score.** Paired, like the gate: epoch-0 pairs gained minus pairs lost against the incumbent
  on the round's cases (errored rollouts pair with nothing).
- **Successive halving.** Every candidate runs the first round; the better half (rounded up) goes on to
  a round twice as large, until ``keep`` remain or the order is used up. Survivors need ``min_gain``
  on their last round to reach the gate.
- **Error control.** ``holm``: the step-down thresholds alpha/m, alpha/(m−1), … over one iteration's
  gated candidates (with one candidate, alpha itself). ``spending``: the j-th full-gate test of the run
  gets alpha·6/(π²j²), so the whole run's chance of a false accept stays below alpha however many
  candidates it tests. ``none``: alpha for every test.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pydantic import BaseModel, Field

from betterharness.digest import digest_of
from betterharness.optimize.gate import transitions
from betterharness.scoring.score import Score


def minibatch_order(case_ids: Sequence[str], failing: set[str], min_failing: int, seed: int,
                    iteration: int) -> list[str]:
    """Every optimization case id in screening order: ``min_failing`` failing ones first, then the rest."""
    shuffled = sorted(case_ids, key=lambda cid: digest_of({"seed": seed, "iteration": iteration, "case": cid}))
    first = [cid for cid in shuffled if cid in failing][:min_failing]
    return first + [cid for cid in shuffled if cid not in first]


def round_sizes(candidates: int, keep: int, minibatch: int, total: int) -> list[int]:
    """The minibatch size of each halving round: doubling from ``minibatch`` (capped at ``total``) while
    more than ``keep`` candidates remain."""
    sizes, alive, size = [], candidates, min(minibatch, total)
    while True:
        sizes.append(size)
        if alive <= keep or size >= total:
            return sizes
        alive, size = max(keep, math.ceil(alive / 2)), min(size * 2, total)


def screening_cost(candidates: int, keep: int, minibatch: int, total: int) -> int:
    """The most rollouts one iteration's screening runs: each round adds its new cases for every candidate
    still in it (earlier rounds' rollouts are reused)."""
    if minibatch == 0:
        return 0
    cost, alive, done = 0, candidates, 0
    for size in round_sizes(candidates, keep, minibatch, total):
        cost += alive * (size - done)
        done, alive = size, max(keep, math.ceil(alive / 2))
    return cost


def screen_score(incumbent: Sequence[Score], candidate: Sequence[Score], case_ids: Sequence[str]) -> int:
    """Epoch-0 pairs gained minus pairs lost against the incumbent on ``case_ids``."""
    wanted = set(case_ids)
    moves = transitions([s for s in incumbent if s.case_id in wanted and s.epoch == 0],
                        [s for s in candidate if s.case_id in wanted and s.epoch == 0])
    return moves.pairs_gained - moves.pairs_lost


def survivors(scores: dict[int, int], alive: Sequence[int], keep: int) -> list[int]:
    """The better half of the draws ``alive`` (rounded up, at least ``keep``) by screen score; ties keep
    draw order."""
    ranked = sorted(alive, key=lambda draw: (-scores[draw], alive.index(draw)))
    return ranked[: max(keep, math.ceil(len(alive) / 2))]


def holm_thresholds(p_values: Sequence[float], alpha: float) -> list[float]:
    """The Holm step-down level of each test, in input order: the i-th smallest p is held to alpha/(m−i),
    and once one test fails, every test with a larger p fails too (its level is 0)."""
    m = len(p_values)
    levels = [0.0] * m
    for rank, index in enumerate(sorted(range(m), key=lambda i: p_values[i])):
        levels[index] = alpha / (m - rank)
        if p_values[index] > levels[index]:
            break
    return levels


def spending_level(alpha: float, test: int) -> float:
    """The level of the ``test``-th (1-based) full-gate test of a run under alpha spending."""
    return alpha * 6 / (math.pi**2 * test**2)


class ScreenedCandidate(BaseModel):
    """One candidate drawn in an iteration and how far it got."""

    draw: int = Field(description="Its number within the iteration, from 1.")
    parent: str
    proposal: str = Field(default="", description="The edit, in one line.")
    candidate: str | None = None
    rejection: str | None = None
    screen: list[int] = Field(default_factory=list, description="Its screen score in each round it ran.")
    gated: bool = False
    level: float | None = Field(default=None, description="The sign-test level it was held to at the gate.")
    p_value: float | None = None
    passed_gate: bool = False


class SearchRecord(BaseModel):
    """Everything one iteration's search did: the draws, the screening rounds and what was gated."""

    rounds: list[list[str]] = Field(default_factory=list, description="The case ids of each screening round.")
    candidates: list[ScreenedCandidate] = Field(default_factory=list)
    error_control: str = "holm"

    def count(self, what: str) -> int:
        """How many candidates were ``drawn``, ``valid``, ``screened``, ``gated`` or ``passed`` the gate."""
        tests = {"drawn": lambda c: True, "valid": lambda c: c.candidate is not None,
                 "screened": lambda c: bool(c.screen), "gated": lambda c: c.gated,
                 "passed": lambda c: c.passed_gate}
        return sum(1 for c in self.candidates if tests[what](c))
