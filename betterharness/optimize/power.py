"""Power before spending: what the gate can detect with the cases and epochs at hand.

- **Smallest acceptable gain.** The fewest cases a candidate must fix (in every epoch, with nothing else
  moving) for the gate to accept it: at least ``gate.min_net_fixed``, and enough discordant pairs that
  the one-sided sign test reaches the level the first gated candidate is held to (alpha, or alpha/keep
  under Holm with ``keep`` gated candidates, or the first alpha-spending level).
- **Power of a requested gain.** With the baseline's per-case pass rates (once the baseline is in; every
  case failing every time before), a Monte-Carlo estimate of the chance the gate accepts a candidate that
  fixes ``gain`` of the cases (those the baseline fails most) and leaves the others as noisy as they
  were; and the epochs that would bring it to ``target``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from pydantic import BaseModel

from betterharness.config.schema import GateConfig, SearchConfig
from betterharness.optimize.gate import sign_test
from betterharness.optimize.search import spending_level

MAX_EPOCHS = 10
DRAWS = 1000


def first_level(gate: GateConfig, search: SearchConfig) -> float:
    """The sign-test level the first gated candidate of a run is held to (the most lenient one)."""
    if gate.error_control == "holm":
        return gate.alpha / search.keep
    if gate.error_control == "spending":
        return spending_level(gate.alpha, 1)
    return gate.alpha


def smallest_gain(cases: int, epochs: int, level: float, min_net_fixed: int) -> int | None:
    """The fewest fixed cases the gate accepts, or None when even fixing every case is not enough."""
    for fixed in range(max(1, min_net_fixed), cases + 1):
        if sign_test(fixed * epochs, 0) <= level:
            return fixed
    return None


def power(pass_rates: Sequence[float], gain: int, epochs: int, level: float, min_net_fixed: int,
          draws: int = DRAWS, seed: int = 0) -> float:
    """The chance the gate accepts a candidate that fixes the ``gain`` worst cases, over noisy epochs."""
    if not pass_rates:
        return 0.0
    rng = random.Random(seed)
    fixed = set(sorted(range(len(pass_rates)), key=lambda i: pass_rates[i])[:gain])
    accepted = 0
    for _ in range(draws):
        gained = lost = net = 0
        for i, p in enumerate(pass_rates):
            before = [rng.random() < p for _ in range(epochs)]
            after = [True] * epochs if i in fixed else [rng.random() < p for _ in range(epochs)]
            gained += sum(not b and a for b, a in zip(before, after, strict=True))
            lost += sum(b and not a for b, a in zip(before, after, strict=True))
            net += (not any(before) and all(after)) - (all(before) and not any(after))
        accepted += net >= min_net_fixed and sign_test(gained, lost) <= level
    return accepted / draws


class PowerPlan(BaseModel):
    """What the plan says about the gate's power."""

    cases: int
    epochs: int
    level: float
    smallest_gain: int | None
    gain: int
    power: float
    epochs_needed: int | None
    measured: bool
    """True when the pass rates are the baseline's, False when every case was assumed deterministic."""

    def describe(self) -> str:
        """One paragraph for the plan printed before a run."""
        if self.smallest_gain is None:
            head = (f"the gate cannot accept anything with {self.cases} optimization cases × {self.epochs} "
                    f"epochs at level {self.level:.3g}: add epochs or cases, or raise optimizer.gate.alpha")
        else:
            head = (f"the gate accepts a candidate that fixes at least {self.smallest_gain} of {self.cases} "
                    f"optimization cases ({self.epochs} epochs, sign-test level {self.level:.3g})")
        rates = "the baseline's pass rates" if self.measured else "every case failing every time (no baseline yet)"
        need = (f"; {self.epochs_needed} epochs would reach 80%" if self.epochs_needed and
                self.epochs_needed != self.epochs else "" if self.epochs_needed else
                f"; not even {MAX_EPOCHS} epochs reach 80%")
        return (f"{head}. A change that fixes {self.gain} case(s) is accepted with probability {self.power:.0%} "
                f"under {rates}{need}.")


def plan_power(pass_rates: Sequence[float], epochs: int, gate: GateConfig, search: SearchConfig, *,
               measured: bool, gain: int | None = None, target: float = 0.8) -> PowerPlan:
    """The power plan for the optimization set's per-case pass rates (``measured``: the baseline's; else
    assumed, e.g. every case failing every time)."""
    level = first_level(gate, search)
    n = len(pass_rates)
    smallest = smallest_gain(n, epochs, level, gate.min_net_fixed)
    wanted = gain if gain is not None else max(smallest or 1, math.ceil(0.1 * n))
    estimate = power(pass_rates, wanted, epochs, level, gate.min_net_fixed)
    needed = next((k for k in range(1, MAX_EPOCHS + 1)
                   if power(pass_rates, wanted, k, level, gate.min_net_fixed, draws=200) >= target), None)
    return PowerPlan(cases=n, epochs=epochs, level=level, smallest_gain=smallest, gain=wanted, power=estimate,
                     epochs_needed=needed, measured=measured)
