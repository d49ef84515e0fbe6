"""Optimizer quality with known truth: acceptance policies compared on a simulated agent, same rollout budget.

Run it (pure CPU, no model calls)::

    python -m benchmarks.optimizer_quality [--seeds 200] [--out benchmarks/results-optimizer-quality-2026-12-01.md]

**The world.** Optimization, holdout and sealed test cases (30 + 30 + 30, three tags); no policy ever evaluates
the test split, it only scores the final harness. Each case has a base pass probability:
*failing* (about 0), *passing* (about 1) or *flaky* (0.2-0.8; their share is the noise level). An endless,
seeded stream of edits, each of a known kind: *helpful* (raises the pass logit of a random subset of the failing
and flaky cases, in every split), *harmful* (lowers it on some passing or flaky cases, in every split),
*neutral* (no effect) and *overfit* (helps optimization cases like a helpful edit; on the holdout and test it
hurts, or does nothing). A harness is a set of edits; a case's pass probability under it is the sigmoid of its
base logit plus the shifts of the harness's edits (clipped to [-6, 6]). A rollout is a Bernoulli draw from a hash of
(world seed, harness, case, epoch): the same harness on the same case and epoch always gives the same result,
which models the rollout cache: a re-evaluation is free and never new evidence.

**The proposer** hands out the stream's edits in order (a seeded mix, 20% helpful, 30% harmful, 30% neutral,
20% overfit by default); it never repeats one. Every policy of a seed sees the same world and the same edit
sequence, so the comparison is paired by seed. It is context-free: it does not aim at failures, so the policies
differ only in how they spend rollouts and what they accept.

**The policies**, each capped at the same number of rollouts (every rollout counts, screening and baselines
included; cached re-evaluations are free; a step whose uncached rollouts would pass the cap is refused before it
spends, as ``betterharness.optimize.evaluator`` does, and the run stops there):

- ``paired_gate``: ``betterharness.optimize.loop.HillClimb`` with ``conf/optimizer/hillclimb.yaml``: one
  candidate per iteration, the full optimization set over k epochs and the holdout, judged by
  ``betterharness.optimize.gate.gate`` on real ``Score`` objects at the Holm level (one candidate: alpha),
  accepted when it passes (``review=auto``, ``accept_gated``).
- ``paired_gate_screened``: the same loop with ``conf/optimizer/parallel.yaml`` (N=4 candidates per iteration,
  successive halving on seeded minibatches that hold failing cases, ``min_gain`` on the last round, the best
  ``keep`` to the full gate at the Holm level), using the pure functions of ``betterharness.optimize.search``.
- ``gepa_minibatch``: GEPA 0.1.4's defaults (``gepa.optimize``): ``strict_improvement`` acceptance (the child's
  SUM over a ``reflection_minibatch_size=3`` minibatch must beat the parent's sum on the same minibatch), the
  epoch-shuffled batch sampler, Pareto (instance-frontier) parent selection, ``skip_perfect_score``, every
  accepted child evaluated on the full valset (valset = the optimization set; GEPA never sees our holdout), and
  the returned program the best by valset average. Its evaluations go through our rollout cache, which favours
  it: re-running the parent's minibatch is free.
- ``gepa_as_shipped``: the same, but as GEPA 0.1.4 runs by default (``cache_evaluation=False``): the parent's
  minibatch is re-run every iteration (3 rollouts, fresh noise) and the full valset evaluation re-runs all cases.
- ``aggregate_mean``: the Better-Harness recipe: one epoch of optimization + holdout, accept when the candidate's
  total passes are strictly greater than the incumbent's (no repeats, no significance).
- ``paired_gate_lazy_holdout`` (only with ``--policies``; a what-if, not the loop): ``paired_gate`` running the
  holdout only for a candidate whose optimization-set part of the gate passed. Same decisions, fewer rollouts.

GEPA differences, all stated: no merge (``use_merge=False`` is its default); its stopper checks the budget only
at the start of an iteration (it may overshoot), here every policy is refused before it overspends; with the cache
a parent whose recorded valset results are all perfect is skipped at no cost forever, so a cached run ends after
200 such iterations in a row (GEPA as shipped would keep paying 3 rollouts per skip until its budget ends).

**The metrics** count edits in the *final* harness (for GEPA: the program it returns): power (helpful kept /
helpful proposed, pooled over seeds), false accepts (harmful or overfit kept), neutral kept (prompt tokens that
do nothing), and the true test, holdout and optimization gains in percentage points of pass rate, computed from
the known probabilities, not from draws. The test gain is the one to compare: ``aggregate_mean`` selects on the
holdout and every policy selects on the optimization set, so their true gains there flatter the edits kept.
Intervals are 95% normal intervals over seeds (ratio estimator for power).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import resource
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from betterharness.config.schema import GateConfig, SearchConfig
from betterharness.evals.case import EvalCase
from betterharness.optimize.gate import gate, sign_test, transitions
from betterharness.optimize.search import (
    holm_thresholds,
    minibatch_order,
    round_sizes,
    screen_score,
    spending_level,
    survivors,
)
from betterharness.scoring.score import Score

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "benchmarks" / "results-optimizer-quality-2026-12-01.md"
KINDS = ("helpful", "harmful", "neutral", "overfit")
POLICIES = ("paired_gate", "paired_gate_screened", "gepa_minibatch", "gepa_as_shipped", "aggregate_mean")
WHAT_IF = ("paired_gate_lazy_holdout",)
"""Policies run only when asked for (``--policies``): changes to the loop, not the loop."""
LOGIT_CLIP = 6.0
NOTES = "## Notes"
"""A hand-written section of the results file; a re-run keeps it below the new figures."""


# ---------------------------------------------------------------------------------------------------------------
# The world
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorldConfig:
    """The simulated suite and the edit stream (every share and range is a knob of the benchmark)."""

    n_opt: int = 30
    n_holdout: int = 30
    n_test: int = 30
    """A sealed split no policy ever evaluates: its true gain is the generalisation figure."""
    tags: tuple[str, ...] = ("tool_use", "followup_quality", "memory")
    flaky_share: float = 0.3
    """Share of flaky cases in each split (the noise level); the rest is split evenly failing / passing."""
    mix: tuple[float, float, float, float] = (0.2, 0.3, 0.3, 0.2)
    """Shares of helpful, harmful, neutral and overfit edits in the proposer's stream."""
    helpful_reach: float = 0.2
    """Chance that a helpful edit touches each failing or flaky case (at least one per split)."""
    helpful_shift: tuple[float, float] = (2.0, 5.0)
    harmful_reach: float = 0.15
    """Chance that a harmful edit touches each passing or flaky case (at least one per split)."""
    harmful_shift: tuple[float, float] = (-5.0, -2.0)
    overfit_holdout_harm: float = 0.5
    """Chance that an overfit edit hurts the holdout (like a harmful edit) rather than doing nothing there."""
    pool_size: int | None = None
    """Edits the proposer can hand out (None: an endless stream)."""


@dataclass(frozen=True)
class SimCase:
    """One simulated case: its split, tag, base kind and base pass logit."""

    id: str
    split: str
    tag: str
    kind: str
    logit: float


@dataclass(frozen=True)
class Edit:
    """One proposable edit: its number in the stream, its kind and its logit shift per case id."""

    id: int
    kind: str
    shifts: dict[str, float]


Harness = frozenset[int]
"""A harness is the set of edit ids it holds; the empty set is the baseline."""


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


_KEYS: dict[Harness, str] = {}


def harness_key(harness: Harness) -> str:
    """A harness's stable name: its sorted edit ids ("base" for the baseline)."""
    key = _KEYS.get(harness)
    if key is None:
        if len(_KEYS) > 200_000:
            _KEYS.clear()
        key = _KEYS[harness] = ".".join(str(e) for e in sorted(harness)) or "base"
    return key


class World:
    """One seeded world: cases, the edit stream, true pass probabilities and cached-by-construction rollouts."""

    def __init__(self, config: WorldConfig, seed: int) -> None:
        self.config = config
        self.seed = seed
        rng = random.Random(f"world:{seed}")
        self.opt = self._split("o", "optimization", config.n_opt, rng)
        self.holdout = self._split("h", "holdout", config.n_holdout, rng)
        self.test = self._split("t", "test", config.n_test, rng)
        self.cases = {c.id: c for c in self.opt + self.holdout + self.test}
        self._edits: dict[int, Edit] = {}
        self._prob: dict[tuple[str, str], float] = {}
        self._eval_cases: dict[str, list[EvalCase]] = {}

    def _split(self, prefix: str, split: str, n: int, rng: random.Random) -> list[SimCase]:
        flaky = round(self.config.flaky_share * n)
        failing = (n - flaky + 1) // 2
        kinds = ["flaky"] * flaky + ["failing"] * failing + ["passing"] * (n - flaky - failing)
        rng.shuffle(kinds)
        ranges = {"failing": (0.005, 0.05), "passing": (0.95, 0.995), "flaky": (0.2, 0.8)}
        tags = self.config.tags
        return [SimCase(id=f"{prefix}{i:02d}", split=split, tag=tags[i % len(tags)], kind=kind,
                        logit=_logit(rng.uniform(*ranges[kind]))) for i, kind in enumerate(kinds)]

    def split(self, name: str) -> list[SimCase]:
        """The cases of ``optimization``, ``holdout`` or ``test``."""
        return {"optimization": self.opt, "holdout": self.holdout, "test": self.test}[name]

    def ids(self, split: str) -> list[str]:
        """The case ids of ``optimization``, ``holdout`` or ``test``."""
        return [c.id for c in self.split(split)]

    def eval_cases(self, split: str) -> list[EvalCase]:
        """The split's cases as ``EvalCase`` objects (what the gate reads tiers from)."""
        if split not in self._eval_cases:
            self._eval_cases[split] = [EvalCase.model_validate({
                "id": c.id, "description": f"simulated {c.kind} case", "tags": [c.tag], "tier": "hillclimb",
                "input": {"messages": [{"role": "user", "content": "simulated"}]},
                "success": [{"final_text_contains": ["ok"]}], "ideal": {"steps": 1, "tool_calls": 0}})
                for c in self.split(split)]
        return self._eval_cases[split]

    def edit(self, index: int) -> Edit | None:
        """Edit number ``index`` of the stream (None past ``pool_size``); the same for every policy."""
        if self.config.pool_size is not None and index >= self.config.pool_size:
            return None
        if index not in self._edits:
            self._edits[index] = self._make_edit(index)
        return self._edits[index]

    def _make_edit(self, index: int) -> Edit:
        cfg = self.config
        rng = random.Random(f"edit:{self.seed}:{index}")
        kind = rng.choices(KINDS, weights=cfg.mix)[0]
        shifts: dict[str, float] = {}
        hurts_unseen = kind == "overfit" and rng.random() < cfg.overfit_holdout_harm

        def touch(cases: Sequence[SimCase], reach: float, span: tuple[float, float]) -> None:
            chosen = [c for c in cases if rng.random() < reach]
            if not chosen and cases:
                chosen = [rng.choice(list(cases))]
            for c in chosen:
                shifts[c.id] = shifts.get(c.id, 0.0) + rng.uniform(*span)

        for split in (self.opt, self.holdout, self.test):
            open_cases = [c for c in split if c.kind != "passing"]
            working = [c for c in split if c.kind != "failing"]
            if kind == "helpful" or (kind == "overfit" and split is self.opt):
                touch(open_cases, cfg.helpful_reach, cfg.helpful_shift)
            elif kind == "harmful" or hurts_unseen:
                touch(working, cfg.harmful_reach, cfg.harmful_shift)
        return Edit(id=index, kind=kind, shifts=dict(sorted(shifts.items())))

    def prob(self, harness: Harness, case_id: str) -> float:
        """The true pass probability of ``case_id`` under ``harness``."""
        key = (harness_key(harness), case_id)
        if key not in self._prob:
            x = self.cases[case_id].logit
            for e in harness:
                edit = self._edits[e]
                x += edit.shifts.get(case_id, 0.0)
            self._prob[key] = _sigmoid(max(-LOGIT_CLIP, min(LOGIT_CLIP, x)))
        return self._prob[key]

    def draw(self, harness: Harness, case_id: str, epoch: int) -> bool:
        """One rollout: a Bernoulli draw seeded by (world, harness, case, epoch), so a re-run is identical."""
        digest = hashlib.blake2b(f"{self.seed}|{harness_key(harness)}|{case_id}|{epoch}".encode(),
                                 digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2**64 < self.prob(harness, case_id)

    def expected_passes(self, harness: Harness, split: str) -> float:
        """The expected number of passing cases of a split under ``harness`` (the truth, not a draw)."""
        return sum(self.prob(harness, cid) for cid in self.ids(split))


class BudgetExceeded(Exception):
    """The next evaluation's uncached rollouts would pass the cap (nothing of it is run)."""


class Evaluator:
    """Rollouts against one world with a cache keyed by (harness, case, epoch) and a rollout cap.

    Like ``RunEvaluator``: an evaluation that needs more uncached rollouts than the budget has left is refused
    whole, before it spends. ``fresh`` evaluations (GEPA as shipped) never hit the cache: each re-run of a
    (harness, case) takes the next epoch, new noise, and is paid for.
    """

    def __init__(self, world: World, budget: int) -> None:
        self.world = world
        self.budget = budget
        self.used = 0
        self.results: dict[tuple[str, str, int], bool] = {}
        self.scores: dict[tuple[str, str, int], Score] = {}
        self.runs: Counter[tuple[str, str]] = Counter()

    def pending(self, harness: Harness, case_ids: Sequence[str], epochs: int) -> int:
        """Rollouts of the evaluation not in the cache yet."""
        key = harness_key(harness)
        return sum(1 for cid in case_ids for e in range(epochs) if (key, cid, e) not in self.results)

    def refusal(self, upcoming: int) -> bool:
        """True when ``upcoming`` more rollouts would pass the cap."""
        return self.used + upcoming > self.budget

    def passes(self, harness: Harness, case_ids: Sequence[str], epochs: int = 1) -> dict[tuple[str, int], bool]:
        """Pass/fail of every (case, epoch), running what is missing if the budget allows all of it."""
        needed = self.pending(harness, case_ids, epochs)
        if self.refusal(needed):
            raise BudgetExceeded(f"{needed} rollouts needed, {self.budget - self.used} left")
        key = harness_key(harness)
        out = {}
        for cid in case_ids:
            for e in range(epochs):
                if (key, cid, e) not in self.results:
                    self.results[(key, cid, e)] = self.world.draw(harness, cid, e)
                    self.used += 1
                out[(cid, e)] = self.results[(key, cid, e)]
        return out

    def fresh(self, harness: Harness, case_ids: Sequence[str]) -> dict[str, bool]:
        """One new rollout per case (next epoch of that harness and case), always paid for."""
        if self.refusal(len(case_ids)):
            raise BudgetExceeded(f"{len(case_ids)} rollouts needed, {self.budget - self.used} left")
        key = harness_key(harness)
        out = {}
        for cid in case_ids:
            epoch = self.runs[(key, cid)]
            self.runs[(key, cid)] += 1
            out[cid] = self.world.draw(harness, cid, epoch)
            self.used += 1
        return out

    def evaluate(self, harness: Harness, case_ids: Sequence[str], epochs: int) -> list[Score]:
        """``Score`` objects of every (case, epoch), as the package's evaluator returns them."""
        key = harness_key(harness)
        passed = self.passes(harness, case_ids, epochs)
        out = []
        for (cid, e), ok in passed.items():
            if (key, cid, e) not in self.scores:
                self.scores[(key, cid, e)] = Score(
                    case_id=cid, epoch=e, tags=[self.world.cases[cid].tag], tier="hillclimb", model="sim",
                    harness_hash=key, correctness=1.0 if ok else 0.0)
            out.append(self.scores[(key, cid, e)])
        return out


class Proposer:
    """Hands out the world's edits in stream order, each once."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.next_index = 0
        self.proposed: list[Edit] = []

    def draw(self) -> Edit | None:
        """The next untried edit, or None when the pool is used up."""
        edit = self.world.edit(self.next_index)
        if edit is not None:
            self.next_index += 1
            self.proposed.append(edit)
        return edit


# ---------------------------------------------------------------------------------------------------------------
# Policies
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class RunResult:
    """What one policy did on one seed's world."""

    policy: str
    seed: int
    budget: int
    rollouts: int
    final: list[int]
    proposed: dict[str, int]
    accepted: dict[str, int]
    holdout_gain_pp: float
    opt_gain_pp: float
    test_gain_pp: float
    iterations: int = 0
    gate_tests: int = 0
    holdout_consultations: int = 0
    pool_additions: int = 0
    gated: dict[str, int] = field(default_factory=dict)
    """Paired policies: full-gate tests by the tested edit's kind."""
    gate_passed: dict[str, int] = field(default_factory=dict)
    """Paired policies: full-gate passes by the tested edit's kind (the per-test error rate is passed/gated)."""
    stop: str = ""


@dataclass(frozen=True)
class LoopConfig:
    """The shipped hill-climb settings the paired policies run with."""

    epochs: int
    gate: GateConfig
    search: SearchConfig

    @classmethod
    def shipped(cls, option: str = "hillclimb") -> LoopConfig:
        """``conf/optimizer/<option>.yaml`` composed over ``hillclimb.yaml`` as Hydra would (its defaults list)."""
        def load(name: str) -> dict[str, Any]:
            data: dict[str, Any] = yaml.safe_load((ROOT / "conf" / "optimizer" / f"{name}.yaml").read_text())
            return data

        base = load("hillclimb")
        over = load(option) if option != "hillclimb" else {}
        gate_cfg = {**base.get("gate", {}), **over.get("gate", {})}
        search_cfg = {**base.get("search", {}), **over.get("search", {})}
        return cls(epochs=int(over.get("epochs", base.get("epochs", 1))), gate=GateConfig(**gate_cfg),
                   search=SearchConfig(**search_cfg))


def _result(policy: str, world: World, ev: Evaluator, proposer: Proposer, final: Harness, **extra: Any) -> RunResult:
    kinds = {e.id: e.kind for e in proposer.proposed}
    base: Harness = frozenset()
    n_hold, n_opt, n_test = len(world.holdout), len(world.opt), len(world.test)
    return RunResult(
        policy=policy, seed=world.seed, budget=ev.budget, rollouts=ev.used, final=sorted(final),
        proposed={k: sum(1 for e in proposer.proposed if e.kind == k) for k in KINDS},
        accepted={k: sum(1 for e in final if kinds[e] == k) for k in KINDS},
        holdout_gain_pp=100 * (world.expected_passes(final, "holdout") - world.expected_passes(base, "holdout"))
        / n_hold,
        opt_gain_pp=100 * (world.expected_passes(final, "optimization") - world.expected_passes(base, "optimization"))
        / n_opt,
        test_gain_pp=100 * (world.expected_passes(final, "test") - world.expected_passes(base, "test")) / n_test,
        **extra)


def run_hillclimb(world: World, budget: int, loop: LoopConfig, policy: str = "paired_gate",
                  lazy_holdout: bool = False) -> RunResult:
    """``HillClimb.run`` / ``iterate`` / ``step`` / ``screen`` / ``validate`` on the simulated world.

    ``lazy_holdout`` (not what the loop does; a what-if): run the holdout only for a candidate whose
    optimization-set part of the gate passed. The decisions are the same; only the rollouts spent differ.

    The decisions are the package's own functions (``minibatch_order``, ``round_sizes``, ``screen_score``,
    ``survivors``, ``holm_thresholds``, ``spending_level``, ``sign_test``, ``transitions``, ``gate``); only the
    plumbing (evaluations, the stop rules, ``review=auto`` with ``accept_gated``) is re-stated here.
    """
    ev, proposer = Evaluator(world, budget), Proposer(world)
    opt_ids, hold_ids = world.ids("optimization"), world.ids("holdout")
    opt_cases, hold_cases = world.eval_cases("optimization"), world.eval_cases("holdout")
    search, gate_cfg, epochs = loop.search, loop.gate, loop.epochs
    baseline: Harness = frozenset()
    incumbent = baseline
    accepted_versions: list[Harness] = []
    iterations = gate_tests = consultations = 0
    gated_kinds: Counter[str] = Counter()
    passed_kinds: Counter[str] = Counter()
    stop = ""
    try:
        ev.evaluate(baseline, opt_ids, epochs)
        ev.evaluate(baseline, hold_ids, epochs)
        while True:
            opt_scores = ev.evaluate(incumbent, opt_ids, epochs)
            if all(s.passed for s in opt_scores):
                stop = "every optimization case passes"
                break
            if ev.refusal((len(opt_ids) + len(hold_ids)) * epochs):
                stop = "budget: not enough left for a full validation"
                break
            iterations += 1
            index = iterations
            # draw: `candidates` proposals from each of `parents` parents (the incumbent, then accepted versions)
            parents = list(dict.fromkeys([incumbent, *reversed(accepted_versions), baseline]))[: search.parents]
            valid: list[tuple[int, Edit, Harness]] = []
            for p_index, parent in enumerate(parents):
                if parent != incumbent:
                    ev.evaluate(parent, opt_ids, epochs)
                for j in range(search.candidates):
                    edit = proposer.draw()
                    if edit is not None:
                        valid.append((p_index * search.candidates + j + 1, edit, parent | {edit.id}))
            if not valid:
                stop = "the proposer has nothing left"
                break
            # screen (HillClimb.screen)
            screens: dict[int, list[int]] = {draw: [] for draw, _, _ in valid}
            if search.minibatch == 0:
                gated = valid[: search.keep]
            else:
                failing = {s.case_id for s in opt_scores if not s.passed and not s.errored}
                order = minibatch_order(opt_ids, failing, search.min_failing, search.seed, index)
                alive = list(valid)
                sizes = round_sizes(len(valid), search.keep, search.minibatch, len(order))
                for number, size in enumerate(sizes):
                    ids = order[:size]
                    for draw, _, candidate in alive:
                        run = ev.evaluate(candidate, ids, 1)
                        screens[draw].append(screen_score(opt_scores, run, ids))
                    if number + 1 < len(sizes):
                        kept = survivors({d: screens[d][-1] for d, _, _ in alive}, [d for d, _, _ in alive],
                                         search.keep)
                        alive = [v for v in alive if v[0] in kept]
                ranked = sorted(alive, key=lambda v: (-screens[v[0]][-1], v[0]))
                gated = [v for v in ranked if screens[v[0]][-1] >= search.min_gain][: search.keep]
            if not gated:
                continue
            # validate (HillClimb.validate)
            inc_hold = [] if lazy_holdout else ev.evaluate(incumbent, hold_ids, epochs)
            runs = []
            for draw, edit, candidate in gated:
                gated_kinds[edit.kind] += 1
                cand_opt = ev.evaluate(candidate, opt_ids, epochs)
                cand_hold = [] if lazy_holdout else ev.evaluate(candidate, hold_ids, epochs)
                consultations += not lazy_holdout
                moves = transitions(opt_scores, cand_opt)
                runs.append((draw, candidate, cand_opt, cand_hold, sign_test(moves.pairs_gained, moves.pairs_lost),
                             edit.kind))
            control = gate_cfg.error_control
            if control == "holm":
                levels = holm_thresholds([r[4] for r in runs], gate_cfg.alpha)
            elif control == "spending":
                levels = [spending_level(gate_cfg.alpha, gate_tests + i + 1) for i in range(len(runs))]
            else:
                levels = [gate_cfg.alpha] * len(runs)
            gate_tests += len(runs)
            results = []
            for (draw, candidate, cand_opt, cand_hold, _p, kind), level in zip(runs, levels, strict=True):
                result = gate(opt_cases, opt_scores, cand_opt, gate_cfg, inc_hold, cand_hold, hold_cases,
                              level=level if control != "none" else None,
                              control=f"{control} over {len(runs)} gated" if control == "holm" else control)
                if lazy_holdout and result.passed:
                    inc_hold, cand_hold = ev.evaluate(incumbent, hold_ids, epochs), ev.evaluate(
                        candidate, hold_ids, epochs)
                    consultations += 1
                    result = gate(opt_cases, opt_scores, cand_opt, gate_cfg, inc_hold, cand_hold, hold_cases,
                                  level=level if control != "none" else None,
                                  control=f"{control} over {len(runs)} gated" if control == "holm" else control)
                passed_kinds[kind] += result.passed
                results.append((draw, candidate, result))
            _, chosen, result = max(results, key=lambda r: (
                r[2].passed, len(r[2].transitions.fixed) - len(r[2].transitions.broken), -r[2].p_value, -r[0]))
            if result.passed:  # review=auto, policy accept_gated
                incumbent = chosen
                accepted_versions.append(chosen)
    except BudgetExceeded as exc:
        stop = f"budget: {exc}"
    return _result(policy, world, ev, proposer, incumbent, iterations=iterations, gate_tests=gate_tests,
                   holdout_consultations=consultations, gated=dict(gated_kinds), gate_passed=dict(passed_kinds),
                   stop=stop)


class EpochShuffledSampler:
    """``gepa.strategies.batch_sampler.EpochShuffledBatchSampler`` (0.1.4), one call per iteration."""

    def __init__(self, size: int, rng: random.Random) -> None:
        self.size = size
        self.rng = rng
        self.shuffled: list[int] = []
        self.epoch = -1
        self.freqs: Counter[int] = Counter()
        self.last_size = 0

    def _update(self, n: int) -> None:
        self.last_size = n
        self.shuffled = list(range(n))
        self.rng.shuffle(self.shuffled)
        self.freqs = Counter(self.shuffled)
        mod = n % self.size
        for _ in range((self.size - mod) if mod else 0):
            least = self.freqs.most_common()[::-1][0][0]
            self.shuffled.append(least)
            self.freqs[least] += 1

    def next_ids(self, n: int, i: int) -> list[int]:
        """The minibatch (indices into the trainset) of iteration ``i`` (GEPA's ``state.i``, from 0)."""
        base = i * self.size
        epoch = 0 if self.epoch == -1 else base // max(len(self.shuffled), 1)
        if not self.shuffled or n != self.last_size or epoch > self.epoch:
            self.epoch = epoch
            self._update(n)
        base %= len(self.shuffled)
        return self.shuffled[base: base + self.size]


def pareto_sampling(fronts: dict[str, set[int]], scores: list[float]) -> list[int]:
    """The list ``gepa.gepa_utils.select_program_candidate_from_pareto_front`` draws the parent from with
    ``rng.choice``: the non-dominated programs (``remove_dominated_programs``), each once per front it is on.

    GEPA removes one dominated program at a time (lowest aggregate score first) and rescans from the start; a
    removal can only make other programs harder to dominate, so one pass in the same order removes the same set.
    A program is dominated when every front holding it also holds another program still kept (``is_dominated``).
    """
    freq: dict[int, int] = {}
    for front in fronts.values():
        for p in front:
            freq[p] = freq.get(p, 0) + 1
    members = list(fronts.values())
    fronts_of: dict[int, list[int]] = {p: [] for p in freq}
    for i, front in enumerate(members):
        for p in front:
            fronts_of[p].append(i)
    alive_in = [len(front) for front in members]  # kept programs on each front
    alive = set(freq)
    for y in sorted(freq, key=lambda x: scores[x]):
        if all(alive_in[i] > 1 for i in fronts_of[y]):
            alive.discard(y)
            for i in fronts_of[y]:
                alive_in[i] -= 1
    dominated = set(freq) - alive
    kept = {vid: {p for p in front if p not in dominated} for vid, front in fronts.items()}
    counts: dict[int, int] = {}
    for front in kept.values():
        for p in front:
            counts[p] = counts.get(p, 0) + 1
    return [p for p, n in counts.items() for _ in range(n)]


def run_gepa(world: World, budget: int, policy: str = "gepa_minibatch", cached: bool = True,
             minibatch: int = 3, selector: str = "pareto", skip_perfect: bool = True,
             max_idle: int = 200) -> RunResult:
    """GEPA 0.1.4's engine loop with its defaults, one reflective mutation per iteration, no merge.

    ``cached``: evaluations go through the (harness, case, epoch 0) cache; otherwise each evaluation is a fresh,
    paid rollout (``cache_evaluation=False``, GEPA's default). ``max_idle`` ends a cached run after that many
    iterations in a row skipped because the parent's minibatch was perfect (those cost nothing here).
    """
    ev, proposer = Evaluator(world, budget), Proposer(world)
    ids = world.ids("optimization")
    rng = random.Random(world.seed)  # gepa.api: one rng for the selector and the batch sampler
    sampler = EpochShuffledSampler(minibatch, rng)

    def evaluate(harness: Harness, case_ids: Sequence[str]) -> dict[str, float]:
        if cached:
            return {cid: float(ok) for (cid, _), ok in ev.passes(harness, case_ids, 1).items()}
        return {cid: float(ok) for cid, ok in ev.fresh(harness, case_ids).items()}

    programs: list[Harness] = [frozenset()]
    val: list[dict[str, float]] = []
    best_score: dict[str, float] = {}
    fronts: dict[str, set[int]] = {}
    additions = iterations = idle = 0
    stop = ""
    sampling: list[int] = []  # depends only on the pool, so it is recomputed when a program is added

    def add(harness: Harness, scores: dict[str, float]) -> None:
        index = len(programs) if val else 0
        if val:
            programs.append(harness)
        val.append(scores)
        for cid, s in scores.items():
            if s > best_score.get(cid, float("-inf")):
                best_score[cid], fronts[cid] = s, {index}
            elif s == best_score[cid]:
                fronts.setdefault(cid, set()).add(index)
        sampling[:] = pareto_sampling(fronts, [average(p) for p in range(len(programs))])

    def average(index: int) -> float:
        return sum(val[index].values()) / len(val[index])

    try:
        add(frozenset(), evaluate(frozenset(), ids))
        i = -1
        while True:
            i += 1
            iterations += 1
            if selector == "pareto":
                parent_idx = rng.choice(sampling)
            else:
                averages = [average(p) for p in range(len(programs))]
                parent_idx = averages.index(max(averages))
            mb = [ids[k] for k in sampler.next_ids(len(ids), i)]
            parent = programs[parent_idx]
            before = evaluate(parent, mb)
            if skip_perfect and all(before[c] >= 1.0 for c in mb):
                idle += 1
                if idle >= max_idle:
                    stop = f"{max_idle} iterations in a row with a perfect parent minibatch"
                    break
                continue
            idle = 0
            edit = proposer.draw()
            if edit is None:
                stop = "the proposer has nothing left"
                break
            child = parent | {edit.id}
            after = evaluate(child, mb)
            if sum(after[c] for c in mb) > sum(before[c] for c in mb):  # StrictImprovementAcceptance
                add(child, evaluate(child, ids))
                additions += 1
    except BudgetExceeded as exc:
        stop = f"budget: {exc}"
    # FullEvaluationPolicy.get_best_program: the highest valset average, the first on ties (equal coverage)
    averages = [average(p) for p in range(len(programs))]
    final = programs[averages.index(max(averages))]
    return _result(policy, world, ev, proposer, final, iterations=iterations, pool_additions=additions, stop=stop)


def run_aggregate(world: World, budget: int, policy: str = "aggregate_mean") -> RunResult:
    """Better-Harness: accept a candidate whose optimization + holdout passes (one epoch) beat the incumbent's."""
    ev, proposer = Evaluator(world, budget), Proposer(world)
    ids = world.ids("optimization") + world.ids("holdout")
    incumbent: Harness = frozenset()
    iterations = 0
    stop = ""
    try:
        best = sum(ev.passes(incumbent, ids, 1).values())
        while True:
            edit = proposer.draw()
            if edit is None:
                stop = "the proposer has nothing left"
                break
            iterations += 1
            candidate = incumbent | {edit.id}
            total = sum(ev.passes(candidate, ids, 1).values())
            if total > best:
                incumbent, best = candidate, total
    except BudgetExceeded as exc:
        stop = f"budget: {exc}"
    return _result(policy, world, ev, proposer, incumbent, iterations=iterations, stop=stop)


def run_policy(policy: str, world: World, budget: int, loops: dict[str, LoopConfig] | None = None) -> RunResult:
    """Run one named policy on one world with a rollout budget."""
    loops = loops or shipped_loops()
    if policy == "paired_gate":
        return run_hillclimb(world, budget, loops["hillclimb"], policy)
    if policy == "paired_gate_screened":
        return run_hillclimb(world, budget, loops["parallel"], policy)
    if policy == "paired_gate_lazy_holdout":
        return run_hillclimb(world, budget, loops["hillclimb"], policy, lazy_holdout=True)
    if policy == "gepa_minibatch":
        return run_gepa(world, budget, policy, cached=True)
    if policy == "gepa_as_shipped":
        return run_gepa(world, budget, policy, cached=False)
    if policy == "aggregate_mean":
        return run_aggregate(world, budget, policy)
    raise ValueError(f"unknown policy {policy!r}; one of {', '.join(POLICIES + WHAT_IF)}")


def shipped_loops() -> dict[str, LoopConfig]:
    """The paired policies' settings: ``optimizer=hillclimb`` and ``optimizer=parallel`` as shipped."""
    return {"hillclimb": LoopConfig.shipped("hillclimb"), "parallel": LoopConfig.shipped("parallel")}


def simulate(world_config: WorldConfig, seeds: Iterable[int], budget: int,
             policies: Sequence[str] = POLICIES) -> list[RunResult]:
    """Every policy on every seed's world (in this process)."""
    loops = shipped_loops()
    out = []
    for seed in seeds:
        for policy in policies:
            out.append(run_policy(policy, World(world_config, seed), budget, loops))
    return out


# ---------------------------------------------------------------------------------------------------------------
# Summaries
# ---------------------------------------------------------------------------------------------------------------


def mean_ci(values: Sequence[float]) -> tuple[float, float, float]:
    """Mean and 95% normal interval over seeds."""
    n = len(values)
    m = statistics.fmean(values) if values else math.nan
    if n < 2:
        return m, m, m
    half = 1.96 * statistics.stdev(values) / math.sqrt(n)
    return m, m - half, m + half


def ratio_ci(num: Sequence[float], den: Sequence[float]) -> tuple[float, float, float]:
    """Pooled ratio sum(num)/sum(den) with a 95% interval from the ratio estimator's standard error."""
    n, total = len(num), sum(den)
    if not total:
        return math.nan, math.nan, math.nan
    r = sum(num) / total
    if n < 2:
        return r, r, r
    resid = sum((a - r * b) ** 2 for a, b in zip(num, den, strict=True)) / (n - 1)
    se = math.sqrt(resid / n) / (total / n)
    return r, max(0.0, r - 1.96 * se), min(1.0, r + 1.96 * se)


def summarize(runs: Sequence[RunResult]) -> dict[str, Any]:
    """Per-policy figures with intervals over seeds."""
    out: dict[str, Any] = {}
    for policy in dict.fromkeys(r.policy for r in runs):
        rs = [r for r in runs if r.policy == policy]
        false = [float(r.accepted["harmful"] + r.accepted["overfit"]) for r in rs]
        out[policy] = {
            "runs": len(rs),
            "rollouts": mean_ci([float(r.rollouts) for r in rs]),
            "proposed": {k: statistics.fmean(r.proposed[k] for r in rs) for k in KINDS},
            "accepted": {k: mean_ci([float(r.accepted[k]) for r in rs]) for k in KINDS},
            "power": ratio_ci([float(r.accepted["helpful"]) for r in rs], [float(r.proposed["helpful"]) for r in rs]),
            "false_accepts": mean_ci(false),
            "any_false_accept": mean_ci([float(f > 0) for f in false]),
            "any_kept": mean_ci([float(bool(r.final)) for r in rs]),
            "holdout_gain_pp": mean_ci([r.holdout_gain_pp for r in rs]),
            "opt_gain_pp": mean_ci([r.opt_gain_pp for r in rs]),
            "holdout_worse": mean_ci([float(r.holdout_gain_pp < 0) for r in rs]),
            "test_gain_pp": mean_ci([r.test_gain_pp for r in rs]),
            "test_worse": mean_ci([float(r.test_gain_pp < 0) for r in rs]),
            "iterations": statistics.fmean(r.iterations for r in rs),
            "gate_tests": statistics.fmean(r.gate_tests for r in rs),
            "holdout_consultations": statistics.fmean(r.holdout_consultations for r in rs),
            "pool_additions": statistics.fmean(r.pool_additions for r in rs),
            "gated": {k: statistics.fmean(r.gated.get(k, 0) for r in rs) for k in KINDS},
            "gate_pass_rate": {k: (sum(r.gate_passed.get(k, 0) for r in rs) / g if (g := sum(
                r.gated.get(k, 0) for r in rs)) else None) for k in KINDS},
        }
    return out


def _ci(v: Sequence[float], digits: int = 2, pct: bool = False) -> str:
    m, lo, hi = v
    if math.isnan(m):
        return "n/a"
    if pct:
        return f"{100 * m:.0f}% [{100 * lo:.0f}, {100 * hi:.0f}]"
    return f"{m:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def main_table(summary: dict[str, Any]) -> list[str]:
    """The two markdown tables of one cell: what each policy kept, and what that was worth."""
    lines = ["| policy | rollouts used | proposed H/Hm/N/O | helpful kept / run | power | false accepts / run "
             "| runs with ≥1 false accept | neutral kept / run |",
             "|---|---|---|---|---|---|---|---|"]
    for policy, s in summary.items():
        prop = "/".join(f"{s['proposed'][k]:.1f}" for k in KINDS)
        lines.append(f"| `{policy}` | {s['rollouts'][0]:.0f} | {prop} | {_ci(s['accepted']['helpful'])} | "
                     f"{_ci(s['power'], pct=True)} | {_ci(s['false_accepts'])} | "
                     f"{_ci(s['any_false_accept'], pct=True)} | {_ci(s['accepted']['neutral'])} |")
    lines += ["", "| policy | test gain (pp, sealed) | runs ending worse on test | holdout gain (pp) "
              "| optimization gain (pp) |", "|---|---|---|---|---|"]
    for policy, s in summary.items():
        lines.append(f"| `{policy}` | {_ci(s['test_gain_pp'], 1)} | {_ci(s['test_worse'], pct=True)} | "
                     f"{_ci(s['holdout_gain_pp'], 1)} | {_ci(s['opt_gain_pp'], 1)} |")
    return lines


def variant_tables(cells: dict[str, dict[str, Any]]) -> list[str]:
    """One table per figure: policies down, (budget, flaky share) across."""
    names = list(cells)
    policies = list(next(iter(cells.values())))
    figures = [("Test gain (pp, true, on the sealed split no policy evaluates)", lambda s: _ci(s["test_gain_pp"], 1)),
               ("Holdout gain (pp, true)", lambda s: _ci(s["holdout_gain_pp"], 1)),
               ("Helpful edits kept per run", lambda s: _ci(s["accepted"]["helpful"])),
               ("Power (helpful kept / helpful proposed)", lambda s: _ci(s["power"], pct=True)),
               ("False accepts per run (harmful + overfit kept)", lambda s: _ci(s["false_accepts"])),
               ("Runs ending worse on the test split", lambda s: _ci(s["test_worse"], pct=True)),
               ("Rollouts used", lambda s: f"{s['rollouts'][0]:.0f}")]
    lines: list[str] = []
    for title, fmt in figures:
        lines += [f"**{title}**", "", "| policy | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
        for policy in policies:
            lines.append(f"| `{policy}` | " + " | ".join(fmt(cells[n][policy]) for n in names) + " |")
        lines.append("")
    return lines


def null_table(cells: dict[str, dict[str, Any]]) -> list[str]:
    """Edits kept per run (all false accepts) and true test gain, per null world."""
    names = list(cells)
    policies = list(next(iter(cells.values())))
    lines = ["| policy | " + " | ".join(f"{n}: kept / run | {n}: runs keeping any | {n}: test gain (pp)"
                                        for n in names) + " |", "|---|" + "---|---|---|" * len(names)]
    for policy in policies:
        row = []
        for n in names:
            s = cells[n][policy]
            kept = [sum(s["accepted"][k][0] for k in KINDS)]
            row += [f"{kept[0]:.2f}", _ci(s["any_kept"], pct=True), _ci(s["test_gain_pp"], 1)]
        lines.append(f"| `{policy}` | " + " | ".join(row) + " |")
    return lines


def gate_table(summary: dict[str, Any]) -> list[str]:
    """Full-gate tests per run and pass rate per test, by kind, for the policies that have a gate."""
    lines = ["| policy | gate tests / run | " + " | ".join(f"{k}: tests / run, passed" for k in KINDS) + " |",
             "|---|---|" + "---|" * len(KINDS)]
    for policy, s in summary.items():
        if not sum(s["gated"].values()):
            continue
        cells = []
        for k in KINDS:
            rate = s["gate_pass_rate"][k]
            cells.append(f"{s['gated'][k]:.2f}, {'n/a' if rate is None else f'{rate:.1%}'}")
        lines.append(f"| `{policy}` | {s['gate_tests']:.2f} | " + " | ".join(cells) + " |")
    return lines


def reading(summary: dict[str, Any]) -> list[str]:
    """Computed sentences comparing our gates with the others on the main cell (no adjectives beyond the numbers)."""
    s = summary
    lines = []

    def fig(p: str, key: str) -> float:
        v = s[p][key]
        return float(v[0])

    for ours in ("paired_gate", "paired_gate_screened"):
        if ours not in s:
            continue
        for other in ("gepa_minibatch", "gepa_as_shipped", "aggregate_mean"):
            if other not in s:
                continue
            pw, po = fig(ours, "power"), fig(other, "power")
            hw, ho = s[ours]["accepted"]["helpful"][0], s[other]["accepted"]["helpful"][0]
            fw, fo = fig(ours, "false_accepts"), fig(other, "false_accepts")
            gw, go = fig(ours, "test_gain_pp"), fig(other, "test_gain_pp")
            lines.append(
                f"- `{ours}` vs `{other}`: power {pw:.0%} vs {po:.0%} ({'lower' if pw < po else 'higher'}), "
                f"helpful kept {hw:.2f} vs {ho:.2f} per run ({'fewer' if hw < ho else 'more'}), false accepts "
                f"{fw:.2f} vs {fo:.2f} per run, true test gain {gw:+.1f} vs {go:+.1f} pp "
                f"({'lower' if gw < go else 'higher'}).")
    return lines


# ---------------------------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------------------------


def _task(args: tuple[WorldConfig, int, int, tuple[str, ...]]) -> list[RunResult]:
    world_config, seed, budget, policies = args
    return simulate(world_config, [seed], budget, policies)


def run_cells(cells: dict[str, tuple[WorldConfig, int]], seeds: Sequence[int], policies: Sequence[str],
              jobs: int) -> dict[str, list[RunResult]]:
    """Every (world, budget) cell over all seeds, in ``jobs`` processes; the runs of each cell, by seed."""
    tasks = [(name, (world, seed, budget, tuple(policies))) for name, (world, budget) in cells.items()
             for seed in seeds]
    if jobs <= 1:
        done = [_task(t) for _, t in tasks]
    else:
        with ProcessPoolExecutor(jobs) as pool:
            done = list(pool.map(_task, [t for _, t in tasks], chunksize=8))
    out: dict[str, list[RunResult]] = {name: [] for name in cells}
    for (name, _), runs in zip(tasks, done, strict=True):
        out[name] += runs
    return out


def _kept_notes(path: Path) -> str:
    if path.exists():
        text = path.read_text()
        if NOTES in text:
            return text[text.index(NOTES):]
    return f"{NOTES}\n\n(hand-written reading goes here; a re-run keeps this section)\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and write the markdown results and the JSON beside them."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.optimizer_quality", description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=200, help="worlds per cell (default 200)")
    parser.add_argument("--budget", type=int, default=1500, help="rollout budget of the main cell (default 1500)")
    parser.add_argument("--flaky", type=float, default=0.3, help="flaky share of the main cell (default 0.3)")
    parser.add_argument("--budgets", type=int, nargs="*", default=[600, 3000], help="variant budgets (+ --budget)")
    parser.add_argument("--flaky-shares", type=float, nargs="*", default=[0.1, 0.5],
                        help="variant flaky shares (+ --flaky)")
    parser.add_argument("--policies", nargs="*", default=list(POLICIES), choices=POLICIES + WHAT_IF)
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="processes (default 2)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="markdown results; the JSON goes beside it")
    args = parser.parse_args(argv)
    command = "python -m benchmarks.optimizer_quality " + " ".join(sys.argv[1:] if argv is None else argv)
    seeds = list(range(args.seeds))
    started = time.perf_counter()
    main_name = f"budget {args.budget}, flaky {args.flaky:.0%}"
    main_world = replace(WorldConfig(), flaky_share=args.flaky)
    grid: dict[str, tuple[WorldConfig, int]] = {}
    for flaky in sorted({*args.flaky_shares, args.flaky}):
        for budget in sorted({*args.budgets, args.budget}):
            grid[f"budget {budget}, flaky {flaky:.0%}"] = (replace(WorldConfig(), flaky_share=flaky), budget)
    only = {"neutral": (0.0, 0.0, 1.0, 0.0), "harmful": (0.0, 1.0, 0.0, 0.0)}
    nulls = {f"every proposal {kind}": (replace(main_world, mix=mix), args.budget) for kind, mix in only.items()}
    runs = run_cells({**grid, **nulls}, seeds, args.policies, args.jobs)
    summaries = {name: summarize(rs) for name, rs in runs.items()}
    main_summary = summaries[main_name]
    cells = {name: summaries[name] for name in grid}
    elapsed = time.perf_counter() - started
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = time.process_time() + children.ru_utime + children.ru_stime
    loops = shipped_loops()
    lines = [
        "# Optimizer quality: acceptance policies on a simulated agent with known truth (2026-12-01)",
        "",
        f"Command: `{command}` — {elapsed:.0f} s wall, {cpu:.0f} CPU s, on {os.cpu_count()} cores ({args.jobs} "
        "processes), "
        f"pure CPU, no model calls. Seeds 0..{args.seeds - 1} (one world per seed; every policy of a seed sees the "
        "same world and the same edit stream). Written by `benchmarks/optimizer_quality.py`; its docstring "
        "defines the world, the proposer and every policy.",
        "",
        f"World: {main_world.n_opt} optimization + {main_world.n_holdout} holdout + {main_world.n_test} sealed "
        "test cases over "
        f"{len(main_world.tags)} tags; flaky share {main_world.flaky_share:.0%} (the rest half failing, half "
        f"passing); edit mix helpful/harmful/neutral/overfit = {'/'.join(f'{m:.0%}' for m in main_world.mix)}; "
        f"helpful: +{main_world.helpful_shift[0]:g}..{main_world.helpful_shift[1]:g} logits on each failing or "
        f"flaky case with chance {main_world.helpful_reach:g} (both splits); harmful: "
        f"{main_world.harmful_shift[0]:g}..{main_world.harmful_shift[1]:g} on each passing or flaky case with "
        f"chance {main_world.harmful_reach:g}; overfit: helpful on optimization, harmful on holdout and test with "
        f"chance {main_world.overfit_holdout_harm:g}, else neutral there.",
        "",
        f"Paired gates: `optimizer=hillclimb` as shipped (epochs={loops['hillclimb'].epochs}, "
        f"`{loops['hillclimb'].gate.model_dump()}`) and `optimizer=parallel` (search "
        f"`{loops['parallel'].search.model_dump()}`). GEPA: 0.1.4 defaults (minibatch 3, strict improvement, "
        "Pareto selection, skip perfect), valset = optimization set.",
        "",
        f"## Main cell: budget {args.budget} rollouts, flaky share {args.flaky:.0%}",
        "",
        "Means over seeds with 95% intervals. *Kept* = in the final harness (for GEPA: the program it returns). "
        "Proposed = edits drawn per run, by kind (helpful/harmful/neutral/overfit). Power pools helpful kept over "
        "helpful proposed across seeds. Gains are true (from the known probabilities), in percentage points of the "
        "split's pass rate; the test split is sealed (no policy evaluates it), so its gain is the one to compare "
        "(aggregate_mean selects on the holdout, every policy on the optimization set).",
        "",
        *main_table(main_summary),
        "",
        "Computed comparisons (main cell):",
        "",
        *reading(main_summary),
        "",
        "## Variants: budget × noise",
        "",
        *variant_tables(cells),
        "## Null worlds: nothing to find",
        "",
        f"Budget {args.budget}, flaky share {args.flaky:.0%}, every proposal of one kind: whatever a policy keeps "
        "is a false accept (neutral: wasted prompt tokens; harmful: a regression).",
        "",
        *null_table({name: summaries[name] for name in nulls}),
        "",
        "## At the full gate (paired policies, main cell)",
        "",
        "Full-gate tests per run and the share that passed, by the tested edit's kind: the realised per-test "
        "error rate (neutral, harmful, overfit) and per-test power (helpful).",
        "",
        *gate_table(main_summary),
        "",
        _kept_notes(args.out),
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    payload = {
        "command": command, "elapsed_s": round(elapsed, 1), "cpu_s": round(cpu, 1), "seeds": seeds,
        "budget": args.budget,
        "world": asdict(main_world), "variant_budgets": args.budgets, "variant_flaky_shares": args.flaky_shares,
        "loops": {k: {"epochs": v.epochs, "gate": v.gate.model_dump(), "search": v.search.model_dump()}
                  for k, v in loops.items()},
        "main_cell": main_name, "cells": summaries, "main_runs": [asdict(r) for r in runs[main_name]],
    }
    args.out.with_suffix(".json").write_text(json.dumps(payload, indent=1))
    print("\n".join(main_table(main_summary)))
    print(f"wrote {args.out} and {args.out.with_suffix('.json')} in {elapsed:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
