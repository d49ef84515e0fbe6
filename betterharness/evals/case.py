"""The eval case: one YAML file, schema-checked, that says what behaviour is measured and how."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

import jsonschema
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, field_validator, model_validator

from betterharness.errors import TemplateError
from betterharness.evals.assertions import Assertion, assertions_json_schema, parse_assertion
from betterharness.sandbox import check_syntax

TAG_PATTERN = r"^[a-z][a-z0-9_]*$"
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"


def check_json_schema(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` if it is a valid JSON Schema (draft 2020-12); else a ValueError pydantic can report."""
    try:
        jsonschema.Draft202012Validator.check_schema(value)
    except jsonschema.SchemaError as exc:
        raise ValueError(f"not a valid JSON Schema: {exc.message}") from None
    return value


class Strict(BaseModel):
    """Base for case parts: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class ToolCallSpec(Strict):
    """A tool call by name and arguments, as written in scripts, ideal trajectories and history."""

    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class Message(Strict):
    """One chat message of the case input (OpenAI roles; assistant turns may carry tool calls)."""

    role: Literal["system", "user", "assistant", "tool"]
    content: str | None = None
    tool_calls: list[ToolCallSpec] | None = None
    tool_call_id: str | None = None
    name: str | None = None


class SimulatedUser(Strict):
    """A user played by the ``user`` role (or by scripted replies) over several turns."""

    persona: str = Field(description="Who the user is and how they talk.")
    goal: str = Field(description="What the user wants done; the user never states it all at once.")
    opening: str = Field(description="The user's first message.")
    facts: dict[str, str] = Field(default_factory=dict, description="Facts revealed only when asked.")
    stop_signal: str = Field(default="###STOP###", description="Text the user sends when the goal is met.")
    max_turns: int = Field(default=6, ge=1, le=50, description="Cap on user turns.")
    replies: list[str] | None = Field(
        default=None, description="Scripted replies used instead of a model (deterministic runs)."
    )


class CaseInput(Strict):
    """What the agent receives: a message list, a simulated user, or both (history then a user)."""

    messages: list[Message] = Field(default_factory=list)
    user: SimulatedUser | None = None

    @model_validator(mode="after")
    def _has_some_input(self) -> CaseInput:
        if not self.messages and self.user is None:
            raise ValueError("input needs `messages` or a simulated `user`")
        return self


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


class MockResponse(Strict):
    """One declarative response of a mock tool: ``when`` arguments match, ``return`` this; or a ``default``.

    Matching compares each key of ``when`` with the call's argument: strings case- and
    whitespace-insensitively, other values by equality. A string result with ``template: true`` is
    rendered with Jinja, the call's arguments as variables.
    """

    when: dict[str, Any] | None = None
    return_: Any = Field(default=None, alias="return")
    default: Any = None
    template: bool = False

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _one_form(self) -> MockResponse:
        is_default = "default" in self.model_fields_set
        is_when = "when" in self.model_fields_set or "return_" in self.model_fields_set
        if is_default == is_when:
            raise ValueError("a response is either `when` + `return`, or `default`")
        if is_when and "return_" not in self.model_fields_set:
            raise ValueError("a `when` response needs a `return` value")
        if self.template:
            for text in _strings(self.value):
                try:
                    check_syntax(text)
                except TemplateError as exc:
                    raise ValueError(f"templated response {text[:60]!r}: {exc.problem}") from None
        return self

    @property
    def value(self) -> Any:
        """What the tool returns when this response is chosen."""
        return self.default if "default" in self.model_fields_set else self.return_


class MockTool(Strict):
    """A tool defined in the case: name, JSON Schema parameters and declarative responses."""

    name: Annotated[str, Field(pattern=r"^[a-zA-Z_][a-zA-Z0-9_\-]{0,63}$")]
    description: str
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    responses: list[MockResponse] = Field(default_factory=list)

    @field_validator("parameters")
    @classmethod
    def _valid_schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        check_json_schema(value)
        if value.get("type") != "object":
            raise ValueError("tool parameters must be a JSON Schema with `type: object`")
        return value


Toolset = Literal["filesystem", "memory"]


class Environment(Strict):
    """The world the agent acts in: virtual files, a memory store, built-in toolsets and mock tools."""

    files: dict[str, str] = Field(default_factory=dict, description="Seed files of the virtual filesystem.")
    memory: dict[str, str] = Field(default_factory=dict, description="Seed entries of the memory store.")
    toolsets: list[Toolset] = Field(default_factory=list, description="Built-in tool sets offered.")
    tools: list[MockTool] = Field(default_factory=list, description="Mock tools defined by this case.")

    @model_validator(mode="after")
    def _unique_tool_names(self) -> Environment:
        names = [tool.name for tool in self.tools]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate mock tool names: {duplicates}")
        return self


class ScriptedStep(Strict):
    """One scripted model response: tool calls, or final content, or both."""

    content: str | None = None
    tool_calls: list[ToolCallSpec] = Field(default_factory=list)


class Ideal(Strict):
    """The ideal trajectory: the yardstick for the efficiency ratios."""

    steps: int = Field(ge=1, description="Ideal number of agent steps (model responses).")
    tool_calls: int = Field(ge=0, description="Ideal number of tool calls.")
    latency_s: float | None = Field(default=None, gt=0, description="Ideal wall time; else fastest correct.")
    trajectory: list[ScriptedStep] | None = Field(
        default=None, description="The ideal responses in order; the scripted model replays them."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Ideal:
        if self.trajectory is not None:
            steps = len(self.trajectory)
            calls = sum(len(step.tool_calls) for step in self.trajectory)
            if (steps, calls) != (self.steps, self.tool_calls):
                raise ValueError(
                    f"trajectory has {steps} steps and {calls} tool calls, "
                    f"but steps={self.steps} and tool_calls={self.tool_calls}"
                )
        return self


class ScriptVariant(Strict):
    """Agent responses the scripted model replays instead when the harness holds a phrase: in the system
    prompt (``system_contains``), in the tools offered (``tools_contain``: any tool's or parameter's
    description), or offers exactly ``tools_offered``; every condition given must hold.

    This lets tests simulate a model whose behaviour depends on the harness.
    """

    system_contains: str | None = None
    tools_contain: str | None = None
    tools_offered: list[str] | None = Field(default=None, description="Exactly these tools, in this order.")
    agent: list[ScriptedStep]

    @model_validator(mode="after")
    def _a_condition(self) -> ScriptVariant:
        if self.system_contains is None and self.tools_contain is None and self.tools_offered is None:
            raise ValueError("a script variant needs system_contains, tools_contain or tools_offered")
        return self

    def matches(self, system: str, tools: list[dict[str, Any]]) -> bool:
        """True when every condition given holds for this system prompt and these tools."""
        names = [str(t.get("function", {}).get("name")) for t in tools]
        return ((self.system_contains is None or self.system_contains in system)
                and (self.tools_contain is None or self.tools_contain in json.dumps(tools, ensure_ascii=False))
                and (self.tools_offered is None or self.tools_offered == names))


class Script(Strict):
    """Responses the scripted test-double model replays, per role, instead of the ideal trajectory."""

    agent: list[ScriptedStep] | None = None
    variants: list[ScriptVariant] = Field(default_factory=list)
    judge: list[str] | None = None
    user: list[str] | None = None


class Provenance(Strict):
    """Where an imported or mined case came from."""

    source: str = Field(description="handwritten, bfcl, jsonl, traces, langsmith, ...")
    ref: str | None = Field(default=None, description="Dataset entry id, trace id or file.")
    digest: str | None = Field(default=None, description="Hash of the source record (import dedup).")
    notes: str | None = None


def _serialize_assertions(items: list[Assertion]) -> list[dict[str, Any]]:
    return [item.to_yaml() for item in items]


AssertionList = Annotated[
    list[Annotated[Assertion, BeforeValidator(parse_assertion)]],
    PlainSerializer(_serialize_assertions, return_type=list[dict[str, Any]]),
    Field(json_schema_extra=lambda schema: schema.update({"type": "array", "items": assertions_json_schema()})),
]


class EvalCase(Strict):
    """One eval case: the behaviour it measures, its input, world, success assertions and ideal."""

    id: Annotated[str, Field(pattern=ID_PATTERN, description="Unique id across the suite.")]
    description: str = Field(description="One line: the behaviour this case measures.")
    tags: list[Annotated[str, Field(pattern=TAG_PATTERN)]] = Field(min_length=1)
    tier: Literal["regression", "hillclimb"] = Field(
        default="hillclimb", description="regression: must keep passing; hillclimb: a target."
    )
    status: Literal["active", "draft", "quarantined"] = Field(
        default="active", description="Only active cases run unless evals.include_status says otherwise."
    )
    input: CaseInput
    environment: Environment = Field(default_factory=Environment)
    success: AssertionList = Field(min_length=1)
    ideal: Ideal
    script: Script | None = None
    provenance: Provenance | None = None
    max_steps: int | None = Field(default=None, ge=1, description="Overrides runtime step cap.")

    @field_validator("description")
    @classmethod
    def _one_line(cls, value: str) -> str:
        value = value.strip()
        if not value or "\n" in value:
            raise ValueError("description is one non-empty line")
        return value

    @field_validator("tags")
    @classmethod
    def _unique_tags(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @property
    def category(self) -> str:
        """The primary tag (the first one)."""
        return self.tags[0]


def slug(text: str) -> str:
    """A lowercase id-safe slug of ``text``."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
