"""The hill-climbing loop: split, baseline, then diagnose -> propose -> validate -> review, then report."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from betterharness.config.schema import ExperimentConfig, ModelConfig
from betterharness.errors import BHError
from betterharness.evals.case import EvalCase
from betterharness.evals.load import CaseSet
from betterharness.evals.split import SPLITS, Split, SplitName, split_cases
from betterharness.experiment import Experiment
from betterharness.harness.templates import Harness
from betterharness.harness.versions import VersionStore, changed_surfaces, diff
from betterharness.models.client import ModelClient, provider_of
from betterharness.optimize.diagnose import diagnose
from betterharness.optimize.gate import gate, proposer_view
from betterharness.optimize.propose import HistoryItem, Proposal, Rejected, ask, candidate_from, parse_proposal
from betterharness.optimize.propose import render_prompt as render_proposer_prompt
from betterharness.optimize.review import ask_human, auto_decide, evidence, show
from betterharness.optimize.state import Iteration, OptimizeState
from betterharness.paths import prompts_dir
from betterharness.runner import Clients, run_rollouts
from betterharness.scoring.score import Score
from betterharness.store import RunStore, write_json, write_text
from betterharness.trace import Trace


def scripted_responses(options: dict[str, object]) -> list[object]:
    """The scripted proposer's answers: ``options.responses`` or a YAML/JSON list in ``options.responses_file``."""
    if options.get("responses_file"):
        import yaml

        loaded = yaml.safe_load(Path(str(options["responses_file"])).read_text(encoding="utf-8"))
        return [r if isinstance(r, str) else json.dumps(r) for r in loaded or []]
    return [r if isinstance(r, str) else json.dumps(r) for r in options.get("responses", []) or []]  # type: ignore[union-attr]


PROPOSER_MIN_TOKENS = 1024


def proposer_model(config: ExperimentConfig) -> ModelConfig:
    """The proposer's model; when it falls back to the agent's, it gets room for a whole proposal."""
    model = config.role("proposer")
    if config.roles.proposer is None and int(model.params.get("max_tokens") or 0) < PROPOSER_MIN_TOKENS:
        model = model.model_copy(update={"params": {**model.params, "max_tokens": PROPOSER_MIN_TOKENS}})
    return model


class BudgetExceeded(Exception):
    """A budget cap was reached; the loop stops and reports."""


class Optimizer:
    """Runs (or resumes) one optimize experiment in its output folder."""

    def __init__(self, experiment: Experiment, cases: CaseSet, harness: Harness) -> None:
        self.experiment = experiment
        self.config = experiment.config
        self.folder = experiment.folder
        self.cases = cases.cases
        self.case_errors = cases.errors
        self.split = split_cases(self.cases, self.config.split, self.config.evals.include_tags)
        self.store = RunStore(self.folder)
        self.versions = VersionStore(self.folder / "versions")
        self.clients = Clients.from_config(self.config)
        self.proposer = ModelClient(proposer_model(self.config), self.config.runtime, "proposer")
        self.state_path = self.folder / "optimize_state.json"
        self.state = OptimizeState.load(self.state_path) or OptimizeState(baseline=harness.hash,
                                                                            incumbent=harness.hash)
        self.versions.save(harness)
        self.epochs = self.config.optimizer.epochs

    # -- helpers -------------------------------------------------------------------------------
    def of(self, name: SplitName) -> list[EvalCase]:
        """The cases of one split."""
        return self.split.of(name, self.cases)

    def harness(self, version: str) -> Harness:
        """A stored harness version."""
        return self.versions.load(version)

    def rollouts_used(self) -> int:
        """Rollouts recorded in this folder (run now or earlier)."""
        return len(self.store.scores)

    def cost_used(self) -> float:
        """Agent and proposer cost so far, in USD (unknown costs count as 0)."""
        return sum(s.cost_usd or 0.0 for s in self.store.scores.values()) + self.state.proposer_cost_usd

    def check_budget(self, upcoming: int = 0) -> None:
        """Raise BudgetExceeded when the next ``upcoming`` rollouts would pass a cap."""
        budget = self.config.optimizer.budget
        if budget.max_rollouts is not None and self.rollouts_used() + upcoming > budget.max_rollouts:
            raise BudgetExceeded(f"rollout budget {budget.max_rollouts} reached ({self.rollouts_used()} used)")
        if budget.max_cost_usd is not None and self.cost_used() >= budget.max_cost_usd:
            raise BudgetExceeded(f"cost budget ${budget.max_cost_usd:g} reached (${self.cost_used():.4f} used)")

    async def evaluate(self, version: str, name: SplitName, label: str) -> list[Score]:
        """Scores of a harness version on a split (cached rollouts are reused, never re-run)."""
        cases = self.of(name)
        if not cases:
            return []
        return (await run_rollouts(cases, self.harness(version), self.config, self.store, epochs=self.epochs,
                                   clients=self.clients, label=f"{label} on {name}"))[0]

    def traces_of(self, version: str, scores: Sequence[Score]) -> dict[tuple[str, int], Trace]:
        """The traces of the failing rollouts among ``scores`` (read back from traces.jsonl)."""
        out = {}
        for score in scores:
            if not score.passed:
                trace = self.store.trace((version, score.model, score.case_id, score.epoch))
                if trace is not None:
                    out[(score.case_id, score.epoch)] = trace
        return out

    def save(self) -> None:
        """Persist the state."""
        self.state.save(self.state_path)

    # -- the loop ----------------------------------------------------------------------------------
    async def run(self) -> Path:
        """Baseline, iterate, final evaluation, report; resumable at every step."""
        write_json(self.folder / "split.json", self.split)
        plan = self.plan()
        print(f"plan: {plan}", file=sys.stderr)
        self.experiment.start({"cases": [c.id for c in self.cases], "plan": plan, "mode": "optimize",
                               "invalid_cases": [e.render() for e in self.case_errors]})
        for name in SPLITS:
            await self.evaluate(self.state.baseline, name, "baseline")
        if self.state.status != "complete":
            try:
                await self.iterate()
            except BudgetExceeded as exc:
                self.state.stop_reason = str(exc)
            if self.state.status == "waiting_for_review":
                self.save()
                self.experiment.finish(status="waiting_for_review")
                print(f"a proposal is waiting for review: python -m betterharness.review {self.folder}",
                      file=sys.stderr)
                return self.folder / "optimize_state.json"
            self.state.status = "complete"
            self.save()
        for name in ("holdout", "test"):
            await self.evaluate(self.state.incumbent, name, "final")
        from betterharness.optimize.finish import finish

        return finish(self)

    def plan(self) -> str:
        """The rollouts the run will need at most, before any is spent."""
        n = {name: len(self.of(name)) for name in SPLITS}
        k, iterations = self.epochs, self.config.optimizer.budget.max_iterations
        total = k * (sum(n.values()) + iterations * (n["optimization"] + n["holdout"]) + n["holdout"] + n["test"])
        return (f"{n['optimization']} optimization / {n['holdout']} holdout / {n['test']} test cases, {k} epochs, "
                f"up to {iterations} iterations: at most {total} rollouts")

    async def iterate(self) -> None:
        """Iterations until a budget, a stop rule or a pending review ends the loop."""
        budget = self.config.optimizer.budget
        while True:
            done = [it for it in self.state.iterations if it.outcome != "pending_review"]
            pending = self.state.pending
            if pending is not None:
                if not self.resolve_pending(pending):
                    self.state.status = "waiting_for_review"
                    return
                continue
            if len(done) >= budget.max_iterations:
                self.state.stop_reason = f"max iterations ({budget.max_iterations}) reached"
                return
            opt_scores = await self.evaluate(self.state.incumbent, "optimization", "incumbent")
            if all(s.passed for s in opt_scores):
                self.state.stop_reason = "every optimization case passes"
                return
            self.check_budget(upcoming=len(self.of("optimization")) * self.epochs)
            iteration = await self.step(len(done) + 1, opt_scores)
            self.state.iterations.append(iteration)
            self.save()
            recent = [it.outcome for it in self.state.iterations[-2:]]
            if recent == ["no_candidate", "no_candidate"]:
                self.state.stop_reason = (f"no candidate in iterations {iteration.index - 1} and {iteration.index}: "
                                          f"{iteration.rejection}")
                return

    async def step(self, index: int, opt_scores: list[Score]) -> Iteration:
        """One iteration: diagnose, propose, validate, review."""
        folder = self.folder / "iterations" / f"{index:03d}"
        incumbent = self.harness(self.state.incumbent)
        iteration = Iteration(index=index, incumbent=incumbent.hash)
        diagnosis = diagnose(self.of("optimization"), opt_scores, self.traces_of(incumbent.hash, opt_scores),
                             self.config.optimizer.max_excerpts)
        write_json(folder / "diagnosis.json", diagnosis)
        try:
            proposal = await self.propose(folder, incumbent, diagnosis, index)
            iteration.proposal = proposal
            candidate = candidate_from(incumbent, proposal, self.of("optimization"),
                                       self.config.optimizer.surfaces_together)
            tried = next((it for it in self.state.iterations if it.candidate == candidate.hash), None)
            if tried is not None:
                raise Rejected(f"this exact change was already tried in iteration {tried.index} ({tried.outcome})",
                               fix="propose a different change")
        except Rejected as exc:
            iteration.rejection = exc.problem + (f" ({exc.value})" if exc.value else "")
            write_json(folder / "iteration.json", iteration)
            return iteration
        except BHError as exc:  # e.g. the candidate template does not render
            iteration.rejection = exc.problem
            write_json(folder / "iteration.json", iteration)
            return iteration
        except Exception as exc:  # noqa: BLE001 - a failed proposer call is "no candidate", not a crash
            iteration.rejection = f"proposer failed: {getattr(exc, 'problem', exc)}"
            write_json(folder / "iteration.json", iteration)
            return iteration
        self.versions.save(candidate)
        iteration.candidate = candidate.hash
        write_text(folder / "candidate.diff", diff(incumbent, candidate))
        self.check_budget(upcoming=(len(self.of("optimization")) + len(self.of("holdout"))) * self.epochs)
        cand_opt = await self.evaluate(candidate.hash, "optimization", f"candidate {index}")
        inc_hold = await self.evaluate(incumbent.hash, "holdout", "incumbent")
        cand_hold = await self.evaluate(candidate.hash, "holdout", f"candidate {index}")
        self.state.holdout_consultations += 1
        iteration.gate = gate(self.of("optimization"), opt_scores, cand_opt, self.config.optimizer.gate,
                              inc_hold, cand_hold, self.of("holdout"))
        iteration.outcome = "pending_review" if iteration.gate.passed else "gate_failed"
        write_json(folder / "iteration.json", iteration)
        return iteration

    async def propose(self, folder: Path, incumbent: Harness, diagnosis: object, index: int) -> Proposal:
        """Ask the proposer (once: a saved answer is reused on resume) and parse its answer."""
        answer_path = folder / "proposer_answer.txt"
        if answer_path.exists():
            return parse_proposal(answer_path.read_text(encoding="utf-8"))
        template = prompts_dir() / self.config.optimizer.proposer_template
        prompt = render_proposer_prompt(template, incumbent, diagnosis, self.history(),  # type: ignore[arg-type]
                                        {"together": self.config.optimizer.surfaces_together})
        write_text(folder / "proposer_prompt.md", prompt)
        rollout = f"proposer:{index}"
        if provider_of(self.proposer.model.id) == "scripted":
            from betterharness.models.scripted import SCRIPTS

            responses = scripted_responses(self.proposer.model.options)
            SCRIPTS.put(rollout, {"proposer": responses[index - 1: index]})
        text, usage = await ask(self.proposer, prompt, rollout)
        self.state.proposer_cost_usd += usage.cost_usd or 0.0
        write_text(answer_path, text)
        return parse_proposal(text)

    def history(self) -> list[HistoryItem]:
        """Earlier proposals with their outcomes and regressions, for the proposer."""
        items = []
        for it in self.state.iterations:
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

    def resolve_pending(self, iteration: Iteration) -> bool:
        """Decide a gated proposal by policy or by a person; False when it must wait for review.

        Without a terminal, an interactive review waits: the state is saved and
        ``python -m betterharness.review <folder>`` decides it later.
        """
        review = self.config.review
        if review.mode == "auto":
            decision = auto_decide(iteration.gate, review)  # type: ignore[arg-type]
        elif sys.stdin.isatty():
            incumbent, candidate = self.harness(iteration.incumbent), self.harness(iteration.candidate or "")
            delta, samples = evidence(self.store, self.split.by_tag, iteration)
            show(iteration, diff(incumbent, candidate), delta, samples)
            decision = ask_human(iteration, {s: candidate.sources[s] for s in changed_surfaces(incumbent, candidate)})
        else:
            return False
        apply_decision(self, iteration, decision)
        return True


def apply_decision(optimizer: Optimizer, iteration: Iteration, decision: object) -> None:
    """Record a review decision; an approved (or edited) candidate becomes the incumbent."""
    from betterharness.optimize.state import Decision

    assert isinstance(decision, Decision)
    iteration.decision = decision
    if decision.verdict == "reject":
        iteration.outcome = "rejected"
    else:
        if decision.verdict == "edit" and decision.edited_sources:
            candidate = optimizer.harness(iteration.candidate or "")
            for surface, source in decision.edited_sources.items():
                candidate = candidate.with_source(surface, source)
            candidate = candidate.model_copy(update={"parent": iteration.incumbent})
            candidate.check()
            optimizer.versions.save(candidate)
            iteration.candidate = candidate.hash
        iteration.outcome = "accepted"
        optimizer.state.incumbent = iteration.candidate or optimizer.state.incumbent
    write_json(optimizer.folder / "iterations" / f"{iteration.index:03d}" / "iteration.json", iteration)
    optimizer.save()


def optimize(experiment: Experiment, cases: CaseSet, harness: Harness) -> Path:
    """Run or resume the optimize experiment; returns the report path."""
    return asyncio.run(Optimizer(experiment, cases, harness).run())


__all__ = ["Optimizer", "optimize", "Split"]
