"""Scoring: success assertions, the LLM judge, per-rollout metrics and their aggregation."""
