"""Shared test set-up: no test may reach a real model API."""

from __future__ import annotations

import os

import pytest

os.environ["BH_OFFLINE"] = "1"
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
for _key in ("LANGSMITH_API_KEY", "LANGCHAIN_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENROUTER_API_KEY"):
    os.environ.pop(_key, None)


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BH_OFFLINE", "1")


# ---------- a local OpenAI-compatible server (tests/fixtures/openai_server.py) ----------

from collections.abc import Iterator  # noqa: E402

from tests.fixtures.openai_server import OpenAIServer  # noqa: E402


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    """A fresh OpenAI-compatible server on 127.0.0.1 for one test: program it with ``queue``/``fail``."""
    with OpenAIServer() as server:
        yield server
