"""Integrations with the tools teams already use: LangSmith today; the pytest plugin and OpenTelemetry next."""

from betterharness.integrations.langsmith import TraceSink, fetch_runs

__all__ = ["TraceSink", "fetch_runs"]
