"""``evals/schema.json``: the published JSON Schema of a case file, generated from the pydantic model."""

from __future__ import annotations

import json
from typing import Any

from betterharness.evals.case import EvalCase


def case_schema() -> dict[str, Any]:
    """The JSON Schema of one case file (draft 2020-12), with the assertion registry inlined."""
    schema = EvalCase.model_json_schema(by_alias=True)
    schema.pop("$defs", {}).pop("Assertion", None)
    defs = EvalCase.model_json_schema(by_alias=True).get("$defs", {})
    defs.pop("Assertion", None)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://betterharness.dev/schema/eval-case.json",
        **schema,
        "$defs": defs,
    }


def render() -> str:
    """The schema as the exact text written to disk."""
    return json.dumps(case_schema(), indent=2, sort_keys=False) + "\n"
