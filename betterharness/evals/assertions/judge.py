"""The ``llm_judge`` assertion: criteria that the judge model grades one by one."""

from __future__ import annotations

from typing import ClassVar, Literal

from betterharness.evals.assertions.base import Assertion, assertion
from betterharness.evals.assertions.text import Texts
from betterharness.paths import JUDGE_PROMPT

Show = Literal["text", "trajectory"]
"""What the judge is shown: the final answer, or the whole trajectory."""


@assertion("llm_judge")
class LLMJudge(Assertion):
    """Every criterion holds, each graded on its own by the judge model (shown the answer or trajectory)."""

    shorthand: ClassVar[str | None] = "criteria"
    prompts: ClassVar[tuple[str, ...]] = (JUDGE_PROMPT,)
    criteria: Texts
    show: Show = "text"
