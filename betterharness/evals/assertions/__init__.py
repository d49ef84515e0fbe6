"""Success assertions as case files write them: one pydantic model per name, found through a registry."""

from betterharness.evals.assertions.base import (
    ASSERTIONS,
    Assertion,
    assertion,
    assertion_names,
    assertions_json_schema,
    parse_assertion,
)

__all__ = ["ASSERTIONS", "Assertion", "assertion", "assertion_names", "assertions_json_schema", "parse_assertion"]
