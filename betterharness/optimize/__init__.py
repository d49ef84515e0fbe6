"""The optimizer: diagnose failures, propose one edit, gate it (paired, noise-aware), review it."""

from betterharness.optimize.evaluator import Evaluation, Evaluator, RunEvaluator
from betterharness.optimize.loop import HillClimb, Reviewer
from betterharness.optimize.state import Decision, Iteration, OptimizeState

__all__ = ["Decision", "Evaluation", "Evaluator", "HillClimb", "Iteration", "OptimizeState", "Reviewer",
           "RunEvaluator"]
