"""The hill-climbing loop: baseline, then diagnose -> propose -> validate -> review, then the final scores.

The loop reaches rollouts only through an ``Evaluator`` and people only through a ``Reviewer``; its
decisions (the gate, the review policy, ``apply_decision``) are plain functions of plain values. Every
step is saved, so the same command resumes a run where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from betterharness.config.schema import ExperimentConfig
from betterharness.errors import BHError
from betterharness.evals.case import EvalCase
from betterharness.evals.split import SPLITS, Split, SplitName
from betterharness.harness.diff import diff
from betterharness.harness.templates import Harness
from betterharness.models.completion import ModelClient
from betterharness.optimize.diagnose import Diagnosis, diagnose
from betterharness.optimize.evaluator import Evaluation, Evaluator
from betterharness.optimize.gate import gate, proposer_view
from betterharness.optimize.propose import HistoryItem, Proposal, Rejected, ask, candidate_from, parse_proposal
from betterharness.optimize.propose import render_prompt as render_proposer_prompt
from betterharness.optimize.review import Evidence, auto_decide, evidence, record_decision
from betterharness.optimize.state import STATE_FILE, Decision, Iteration, OptimizeState
from betterharness.optimize.surfaces import tool_defaults
from betterharness.paths import prompts_dir
from betterharness.runner import Budget, BudgetExceeded
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
    return items


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
            for name in SPLITS:
                await self.evaluate(self.state.baseline, name, "baseline")
            if self.state.status != "complete":
                await self.iterate()
                if self.state.status == "waiting_for_review":
                    self.save()
                    return self.state
            for name in ("holdout", "test"):
                await self.evaluate(self.state.incumbent, name, "final")
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
            needed = (len(self.of("optimization")) + len(self.of("holdout"))) * self.epochs
            if (why := self.budget.refusal(needed)) is not None:  # what a candidate's validation will run
                raise BudgetExceeded(f"{why}, before iteration {len(done) + 1}")
            iteration = await self.step(len(done) + 1, opt)
            self.state.iterations.append(iteration)
            self.save()
            recent = [it.outcome for it in self.state.iterations[-2:]]
            if recent == ["no_candidate", "no_candidate"]:
                self.state.stop_reason = (f"no candidate in iterations {iteration.index - 1} and {iteration.index}: "
                                          f"{iteration.rejection}")
                return

    async def step(self, index: int, opt: Evaluation) -> Iteration:
        """One iteration: diagnose, propose, validate (paired gate); review comes after."""
        incumbent = self.folder.versions.load(self.state.incumbent)
        iteration = Iteration(index=index, incumbent=incumbent.hash)
        diagnosis = diagnose(self.of("optimization"), opt.scores, opt.failing_traces,
                             self.config.optimizer.max_excerpts)
        self.folder.save_step(index, "diagnosis.json", diagnosis)
        try:
            proposal = await self.propose(index, incumbent, diagnosis)
            iteration.proposal = proposal
            candidate = candidate_from(incumbent, proposal, self.of("optimization"),
                                       self.config.optimizer.surfaces_together, self.defaults)
            tried = next((it for it in self.state.iterations if it.candidate == candidate.hash), None)
            if tried is not None:
                raise Rejected(f"this exact change was already tried in iteration {tried.index} ({tried.outcome})",
                               fix="propose a different change")
        except Rejected as exc:
            iteration.rejection = exc.problem + (f" ({exc.value})" if exc.value else "")
        except BHError as exc:  # e.g. the candidate template does not render
            iteration.rejection = exc.problem
        except BudgetExceeded:
            raise
        except Exception as exc:  # noqa: BLE001 - a failed proposer call is "no candidate", not a crash
            iteration.rejection = f"proposer failed: {getattr(exc, 'problem', exc)}"
        if iteration.rejection is not None:
            self.folder.save_step(index, "iteration.json", iteration)
            return iteration
        self.folder.versions.save(candidate)
        iteration.candidate = candidate.hash
        self.folder.save_step(index, "candidate.diff", diff(incumbent, candidate))
        try:
            cand_opt = await self.evaluate(candidate.hash, "optimization", f"candidate {index}")
            inc_hold = await self.evaluate(incumbent.hash, "holdout", "incumbent")
            cand_hold = await self.evaluate(candidate.hash, "holdout", f"candidate {index}")
        except BudgetExceeded as exc:
            raise BudgetExceeded(f"{exc}, while validating iteration {index} (its rollouts are kept: a larger "
                                 "budget resumes it)") from None
        self.state.holdout_consultations += 1
        iteration.gate = gate(self.of("optimization"), opt.scores, cand_opt.scores, self.config.optimizer.gate,
                              inc_hold.scores, cand_hold.scores, self.of("holdout"))
        iteration.outcome = "pending_review" if iteration.gate.passed else "gate_failed"
        self.folder.save_step(index, "iteration.json", iteration)
        return iteration

    async def propose(self, index: int, incumbent: Harness, diagnosis: Diagnosis) -> Proposal:
        """Ask the proposer (once: a saved answer is reused on resume) and parse its answer."""
        saved = self.folder.load_step_text(index, "proposer_answer.txt")
        if saved is not None:
            return parse_proposal(saved)
        template = prompts_dir() / self.config.optimizer.proposer_template
        prompt = render_proposer_prompt(template, incumbent, diagnosis, history(self.state.iterations),
                                        {"together": self.config.optimizer.surfaces_together}, self.defaults)
        self.folder.save_step(index, "proposer_prompt.md", prompt)
        if (why := self.budget.refusal(0)) is not None:
            raise BudgetExceeded(why)
        text, usage = await ask(self.proposer.bind(call=index), prompt)
        self.state.proposer_cost_usd += usage.cost_usd or 0.0
        self.budget.add_cost(usage.cost_usd or 0.0)
        self.folder.save_step(index, "proposer_answer.txt", text)
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
