"""``evals/schema.json``: the published JSON Schema of a case file, generated from the pydantic model."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from betterharness.evals.case import EvalCase
from betterharness.paths import evals_dir


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


def main() -> None:
    """Write (or with ``--check``, verify) ``evals/schema.json``."""
    path = Path(sys.argv[sys.argv.index("--out") + 1]) if "--out" in sys.argv else evals_dir() / "schema.json"
    text = render()
    if "--check" in sys.argv:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != text:
            print(f"{path} is out of date: run python -m betterharness.evals.schema_export", file=sys.stderr)
            raise SystemExit(1)
        return
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
