"""Integrations with the tools teams already use: LangSmith today; the pytest plugin and OpenTelemetry next."""
