"""Eval cases: the schema, loading, splitting, importing and mining."""

from betterharness.evals.case import EvalCase
from betterharness.evals.load import CaseSet, load_all, load_case_file, load_cases
from betterharness.evals.split import Split, split_cases

__all__ = ["CaseSet", "EvalCase", "Split", "load_all", "load_case_file", "load_cases", "split_cases"]
