"""Scoring: each rollout's trace judged against its case's assertions, then the metrics, then aggregates."""

from betterharness.scoring.aggregate import Metrics, Summary, aggregate
from betterharness.scoring.checks import check, checks, verdict
from betterharness.scoring.context import ScoringContext
from betterharness.scoring.metrics import score_trace
from betterharness.scoring.score import Score, Verdict

__all__ = ["Metrics", "Score", "ScoringContext", "Summary", "Verdict", "aggregate", "check", "checks",
           "score_trace", "verdict"]
