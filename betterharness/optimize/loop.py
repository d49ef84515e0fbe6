"""The hill-climbing loop: baseline, then diagnose -> propose -> validate -> review, then the final scores.

The loop reaches rollouts only through an ``Evaluator`` and people only through a ``Reviewer``; its
decisions (the gate, the review policy, ``apply_decision``) are plain functions of plain values. Every
step is saved, so the same command resumes a run where it stopped.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from betterharness.config.schema import ExperimentConfig
from betterharness.errors import BHError
from betterharness.evals.case import EvalCase
from betterharness.evals.split import Split, SplitName
from betterharness.harness.diff import diff
from betterharness.harness.templates import Harness
from betterharness.models.completion import ModelClient
from betterharness.optimize.diagnose import Diagnosis, diagnose
from betterharness.optimize.evaluator import Evaluation, Evaluator
from betterharness.optimize.gate import GateResult, gate, proposer_view, sign_test, transitions
from betterharness.optimize.power import PowerPlan, plan_power
from betterharness.optimize.propose import HistoryItem, Proposal, Rejected, ask, candidate_from, parse_proposal
from betterharness.optimize.propose import render_prompt as render_proposer_prompt
from betterharness.optimize.review import Evidence, auto_decide, evidence, record_decision
from betterharness.optimize.search import (
    ScreenedCandidate,
    SearchRecord,
    holm_thresholds,
    minibatch_order,
    round_sizes,
    screen_score,
    screening_cost,
    spending_level,
    survivors,
)
from betterharness.optimize.state import STATE_FILE, Decision, Iteration, OptimizeState
from betterharness.optimize.surfaces import tokens_added, tool_defaults
from betterharness.paths import prompts_dir
from betterharness.runner import Budget, BudgetExceeded
from betterharness.scoring.score import Score
from betterharness.store.folder import RunFolder

Reviewer = Callable[[Evidence], Decision | None]
"""A person deciding a gated proposal; None when nobody can decide now (the run then waits for review)."""


def history(iterations: Sequence[Iteration]) -> list[HistoryItem]:
    """Earlier proposals with their outcomes and regressions, as the proposer may see them."""
    items = []
    for it in iterations:
        summary = (f"{it.proposal.edit.op} on {it.proposal.edit.surface}: {it.proposal.rationale[:160]}"
                   if it.proposal else "no usable proposal")
        outcome = it.outcome + (f" ({it.rejection})" if it.rejection else "")
        if it.gate is not None:
            outcome += f"; gate: {'; '.join(proposer_view(it.gate.reasons))}"
        if it.decision is not None:
            outcome += f"; review: {it.decision.verdict} ({it.decision.reason})"
        items.append(HistoryItem(iteration=it.index, summary=summary, outcome=outcome,
                                 regressions=it.gate.transitions.broken if it.gate else []))
        for other in it.search.candidates if it.search else []:
            if other.proposal and other.candidate != it.candidate:
                how = other.rejection or (f"gated, {'passed' if other.passed_gate else 'failed'}" if other.gated
                                          else f"screened out ({', '.join(f'{v:+d}' for v in other.screen)})")
                items.append(HistoryItem(iteration=it.index, summary=other.proposal, outcome=how))
    return items


def one_line(proposal: Proposal) -> str:
    """A proposal's edit in one line, for records and history."""
    text = " ".join(proposal.edit.text.split())
    also = f" + {proposal.also.surface}" if proposal.also else ""
    return f"{proposal.edit.op} on {proposal.edit.surface}{also}: {text[:120]}"


@dataclass
class Draw:
    """One drawn proposal while its iteration runs: its record and the parsed proposal."""

    record: ScreenedCandidate
    proposal_model: Proposal | None = None


@dataclass
class HillClimb:
    """What one optimize run works with: its config, split, folder, evaluator, proposer and reviewer."""

    config: ExperimentConfig
    cases: Sequence[EvalCase]
    split: Split
    folder: RunFolder
    evaluator: Evaluator
    budget: Budget
    proposer: ModelClient
    reviewer: Reviewer | None = None

    def __post_init__(self) -> None:
        self.state = self.folder.load(STATE_FILE, OptimizeState) or OptimizeState(baseline="", incumbent="")
        self.epochs = self.config.optimizer.epochs
        self.defaults = tool_defaults(self.of("optimization"))
        """Surfaces of the optimization cases' tools that the harness set has no template for yet."""

    def of(self, name: SplitName) -> list[EvalCase]:
        """The cases of one split."""
        return self.split.of(name, self.cases)

    def save(self) -> None:
        """Persist the state."""
        self.folder.save(STATE_FILE, self.state)

    async def evaluate(self, version: str, name: SplitName, label: str, capture: bool = False) -> Evaluation:
        """Scores of a stored harness version on a split; refused before spending when a cap would pass."""
        return await self.evaluator.evaluate(self.folder.versions.load(version), self.of(name), self.epochs,
                                             label=f"{label} on {name}", capture_traces=capture)

    async def run(self, baseline: Harness) -> OptimizeState:
        """Baseline, iterations, final evaluation; returns the state (``waiting_for_review`` or complete)."""
        if not self.state.baseline:
            self.state = OptimizeState(baseline=baseline.hash, incumbent=baseline.hash)
        self.folder.versions.save(baseline)
        try:
            for name in ("optimization", "holdout"):  # the sealed test split waits for the end
                baseline_run = await self.evaluate(self.state.baseline, name, "baseline")
                if name == "optimization":
                    self.state.power = self.power(baseline_run.scores).describe()
                    print(f"power: {self.state.power}", file=sys.stderr)
            if self.state.status != "complete":
                await self.iterate()
                if self.state.status == "waiting_for_review":
                    self.save()
                    return self.state
            await self.evaluate(self.state.incumbent, "holdout", "final")
            if self.of("test"):  # read once, after every decision: the baseline's and the final harness's
                await self.evaluate(self.state.baseline, "test", "baseline")
                await self.evaluate(self.state.incumbent, "test", "final")
        except BudgetExceeded as exc:
            self.state.stop_reason = str(exc)
        self.state.status = "complete"
        self.save()
        return self.state

    async def iterate(self) -> None:
        """Iterations until a budget, a stop rule or a pending review ends the loop."""
        budget = self.config.optimizer.budget
        while True:
            pending = self.state.pending
            if pending is not None:
                if not self.resolve(pending):
                    self.state.status = "waiting_for_review"
                    return
                self.save()
                continue
            done = [it for it in self.state.iterations if it.outcome != "pending_review"]
            if len(done) >= budget.max_iterations:
                self.state.stop_reason = f"max iterations ({budget.max_iterations}) reached"
                return
            opt = await self.evaluate(self.state.incumbent, "optimization", "incumbent", capture=True)
            scored = [s for s in opt.scores if not s.errored]
            if scored and all(s.passed for s in scored):
                self.state.stop_reason = "every optimization case passes"
                return
            needed = self.iteration_cost()
            if (why := self.budget.refusal(needed)) is not None:  # what screening and validation will run
                raise BudgetExceeded(f"{why}, before iteration {len(done) + 1}")
            iteration = await self.step(len(done) + 1, opt)
            self.state.iterations.append(iteration)
            self.save()
            recent = [it.outcome for it in self.state.iterations[-2:]]
            if recent == ["no_candidate", "no_candidate"]:
                self.state.stop_reason = (f"no candidate in iterations {iteration.index - 1} and {iteration.index}: "
                                          f"{iteration.rejection}")
                return

    def power(self, scores: Sequence[Score] | None = None) -> PowerPlan:
        """The gate's power on the optimization set: on the baseline's pass rates when ``scores`` are given,
        else with every case assumed to fail every time."""
        ids = [c.id for c in self.of("optimization")]
        rates = [0.0] * len(ids)
        if scores is not None:
            by_case: dict[str, list[float]] = {}
            for score in scores:
                if not score.errored:
                    by_case.setdefault(score.case_id, []).append(score.correctness)
            rates = [sum(v) / len(v) for cid in ids if (v := by_case.get(cid))]
        return plan_power(rates, self.epochs, self.config.optimizer.gate, self.config.optimizer.search,
                          measured=scores is not None)

    def iteration_cost(self) -> int:
        """The most rollouts one iteration runs: screening, then the gate of every candidate it sends on."""
        search = self.config.optimizer.search
        draws = search.candidates * search.parents
        n_opt, n_hold = len(self.of("optimization")), len(self.of("holdout"))
        gated = min(search.keep, draws) if search.minibatch else draws
        return (screening_cost(draws, search.keep, search.minibatch, n_opt)
                + gated * (n_opt + n_hold) * self.epochs)

    def parents(self) -> list[str]:
        """The incumbent, then earlier accepted versions (and the baseline), newest first: P of them."""
        accepted = [it.candidate for it in reversed(self.state.iterations) if it.outcome == "accepted" and it.candidate]
        ordered = [self.state.incumbent, *accepted, self.state.baseline]
        unique = list(dict.fromkeys(ordered))
        return unique[: self.config.optimizer.search.parents]

    async def step(self, index: int, opt: Evaluation) -> Iteration:
        """One iteration: draw candidates, screen them, send the best to the paired gate; review comes after."""
        incumbent = self.folder.versions.load(self.state.incumbent)
        iteration = Iteration(index=index, incumbent=incumbent.hash)
        record = SearchRecord(error_control=self.config.optimizer.gate.error_control)
        iteration.search = record
        drawn = await self.draw(index, opt, record)
        valid = [(entry, candidate) for entry, candidate in drawn if candidate is not None]
        first = record.candidates[0]
        iteration.proposal = drawn[0][0].proposal_model
        if not valid:
            iteration.rejection = first.rejection
            self.folder.save_step(index, "iteration.json", iteration)
            return iteration
        try:
            gated = await self.screen(index, opt, valid, record)
            if not gated:
                best = max(valid, key=lambda v: (v[0].record.screen[-1], -v[0].record.draw))
                iteration.proposal, iteration.candidate = best[0].proposal_model, best[1].hash
                iteration.rejection = (f"no candidate gained {self.config.optimizer.search.min_gain}+ epoch pairs on "
                                       f"the screening minibatch (best: {best[0].record.screen[-1]:+d} over "
                                       f"{len(record.rounds[-1])} cases)")
                iteration.outcome = "screened_out"
                self.folder.save_step(index, "iteration.json", iteration)
                return iteration
            chosen = await self.validate(index, incumbent, opt, gated, record)
        except BudgetExceeded as exc:
            raise BudgetExceeded(f"{exc}, while validating iteration {index} (its rollouts are kept: a larger "
                                 "budget resumes it)") from None
        entry, candidate, result = chosen
        iteration.proposal, iteration.candidate, iteration.gate = entry.proposal_model, candidate.hash, result
        iteration.tokens_added = tokens_added(incumbent, candidate, self.defaults)
        self.folder.save_step(index, "candidate.diff", diff(incumbent, candidate))
        iteration.outcome = "pending_review" if result.passed else "gate_failed"
        self.folder.save_step(index, "iteration.json", iteration)
        return iteration

    async def draw(self, index: int, opt: Evaluation, record: SearchRecord) -> list[tuple[Draw, Harness | None]]:
        """Ask for ``candidates`` proposals from each parent; every one is checked, none is run yet."""
        search = self.config.optimizer.search
        tried = {it.candidate: it for it in self.state.iterations if it.candidate}
        tried |= {c.candidate: it for it in self.state.iterations if it.search
                  for c in it.search.candidates if c.candidate}
        seen: dict[str, int] = {}
        out: list[tuple[Draw, Harness | None]] = []
        for p_index, parent_hash in enumerate(self.parents()):
            parent = self.folder.versions.load(parent_hash)
            scores = opt if parent_hash == self.state.incumbent else await self.evaluate(
                parent_hash, "optimization", "parent", capture=True)
            diagnosis = diagnose(self.of("optimization"), scores.scores, scores.failing_traces,
                                 self.config.optimizer.max_excerpts)
            self.folder.save_step(index, "diagnosis.json" if p_index == 0 else f"diagnosis.{p_index + 1}.json",
                                  diagnosis)
            for j in range(search.candidates):
                number = p_index * search.candidates + j + 1
                entry = Draw(record=ScreenedCandidate(draw=number, parent=parent_hash))
                record.candidates.append(entry.record)
                candidate: Harness | None = None
                try:
                    focus = diagnosis.clusters[j % len(diagnosis.clusters)] if search.candidates > 1 and \
                        diagnosis.clusters else None
                    entry.proposal_model = await self.propose(index, parent, diagnosis, number,
                                                              focus.model_dump() if focus else None)
                    entry.record.proposal = one_line(entry.proposal_model)
                    candidate = candidate_from(parent, entry.proposal_model, self.of("optimization"),
                                               self.config.optimizer.surfaces_together, self.defaults)
                    if candidate.hash in tried:
                        earlier = tried[candidate.hash]
                        raise Rejected(f"this exact change was already tried in iteration {earlier.index} "
                                       f"({earlier.outcome})", fix="propose a different change")
                    if candidate.hash in seen:
                        raise Rejected(f"the same change as draw {seen[candidate.hash]} of this iteration")
                except Rejected as exc:
                    entry.record.rejection = exc.problem + (f" ({exc.value})" if exc.value else "")
                except BHError as exc:  # e.g. the candidate template does not render
                    entry.record.rejection = exc.problem
                except BudgetExceeded:
                    raise
                except Exception as exc:  # noqa: BLE001 - a failed proposer call is "no candidate", not a crash
                    entry.record.rejection = f"proposer failed: {getattr(exc, 'problem', exc)}"
                if entry.record.rejection is not None:
                    candidate = None
                else:
                    assert candidate is not None
                    self.folder.versions.save(candidate)
                    entry.record.candidate = candidate.hash
                    seen[candidate.hash] = number
                out.append((entry, candidate))
        return out

    async def screen(self, index: int, opt: Evaluation, valid: list[tuple[Draw, Harness]],
                     record: SearchRecord) -> list[tuple[Draw, Harness]]:
        """Successive halving on growing minibatches; the survivors that gained enough, best first."""
        search = self.config.optimizer.search
        if search.minibatch == 0:  # unscreened: every valid draw goes to the gate, under the error control
            return valid
        cases = self.of("optimization")
        failing = {s.case_id for s in opt.scores if not s.passed and not s.errored}
        order = minibatch_order([c.id for c in cases], failing, search.min_failing, search.seed, index)
        by_id = {c.id: c for c in cases}
        alive = list(valid)
        sizes = round_sizes(len(valid), search.keep, search.minibatch, len(order))
        for number, size in enumerate(sizes):
            ids = order[:size]
            record.rounds.append(ids)
            for entry, candidate in alive:
                run = await self.evaluator.evaluate(candidate, [by_id[i] for i in ids], 1,
                                                    label=f"screen {index}.{entry.record.draw} round {number + 1}")
                entry.record.screen.append(screen_score(opt.scores, run.scores, ids))
            if number + 1 < len(sizes):
                scores = {e.record.draw: e.record.screen[-1] for e, _ in alive}
                kept = survivors(scores, [e.record.draw for e, _ in alive], search.keep)
                alive = [(e, c) for e, c in alive if e.record.draw in kept]
        ranked = sorted(alive, key=lambda v: (-v[0].record.screen[-1], v[0].record.draw))
        return [(e, c) for e, c in ranked if e.record.screen[-1] >= search.min_gain][: search.keep]

    async def validate(self, index: int, incumbent: Harness, opt: Evaluation, gated: list[tuple[Draw, Harness]],
                       record: SearchRecord) -> tuple[Draw, Harness, GateResult]:
        """The full paired gate for each gated candidate, at the level the run's error control gives it."""
        gate_config = self.config.optimizer.gate
        inc_hold = await self.evaluate(incumbent.hash, "holdout", "incumbent")
        runs = []
        for entry, candidate in gated:
            cand_opt = await self.evaluate(candidate.hash, "optimization", f"candidate {index}.{entry.record.draw}")
            cand_hold = await self.evaluate(candidate.hash, "holdout", f"candidate {index}.{entry.record.draw}")
            self.state.holdout_consultations += 1
            moves = transitions(opt.scores, cand_opt.scores)
            runs.append((entry, candidate, cand_opt, cand_hold, sign_test(moves.pairs_gained, moves.pairs_lost)))
        control = gate_config.error_control
        if control == "holm":
            levels = holm_thresholds([r[4] for r in runs], gate_config.alpha)
        elif control == "spending":
            levels = [spending_level(gate_config.alpha, self.state.gate_tests + i + 1) for i in range(len(runs))]
        else:
            levels = [gate_config.alpha] * len(runs)
        self.state.gate_tests += len(runs)
        results = []
        for (entry, candidate, cand_opt, cand_hold, p), level in zip(runs, levels, strict=True):
            result = gate(self.of("optimization"), opt.scores, cand_opt.scores, gate_config, inc_hold.scores,
                          cand_hold.scores, self.of("holdout"), level=level if control != "none" else None,
                          control=f"{control} over {len(runs)} gated" if control == "holm" else control)
            entry.record.gated, entry.record.level, entry.record.p_value = True, level, p
            entry.record.passed_gate = result.passed
            results.append((entry, candidate, result))
        return max(results, key=lambda r: (r[2].passed, len(r[2].transitions.fixed) - len(r[2].transitions.broken),
                                           -r[2].p_value, -r[0].record.draw))

    async def propose(self, index: int, parent: Harness, diagnosis: Diagnosis, number: int = 1,
                      focus: dict[str, object] | None = None) -> Proposal:
        """Ask the proposer for draw ``number`` of iteration ``index`` (a saved answer is reused on resume)."""
        suffix = "" if number == 1 else f".{number}"
        saved = self.folder.load_step_text(index, f"proposer_answer{suffix}.txt")
        if saved is not None:
            return parse_proposal(saved)
        template = prompts_dir() / self.config.optimizer.proposer_template
        prompt = render_proposer_prompt(template, parent, diagnosis, history(self.state.iterations),
                                        {"together": self.config.optimizer.surfaces_together}, self.defaults,
                                        focus=focus)
        self.folder.save_step(index, f"proposer_prompt{suffix}.md", prompt)
        if (why := self.budget.refusal(0)) is not None:
            raise BudgetExceeded(why)
        search = self.config.optimizer.search
        per_iteration = search.candidates * search.parents
        temperature = search.temperature if number > 1 else None
        text, usage = await ask(self.proposer.bind(call=(index - 1) * per_iteration + number), prompt, temperature)
        self.state.proposer_cost_usd += usage.cost_usd or 0.0
        self.budget.add_cost(usage.cost_usd or 0.0)
        self.folder.save_step(index, f"proposer_answer{suffix}.txt", text)
        return parse_proposal(text)

    def resolve(self, iteration: Iteration) -> bool:
        """Decide a gated proposal by policy or by the reviewer; False when it must wait for review."""
        assert iteration.gate is not None
        if self.config.review.mode == "auto":
            decision: Decision | None = auto_decide(iteration.gate, self.config.review)
        elif self.reviewer is not None:
            decision = self.reviewer(evidence(self.folder, self.split.by_tag, iteration))
        else:
            decision = None
        if decision is None:
            return False
        record_decision(self.state, self.folder, iteration, decision)
        return True
