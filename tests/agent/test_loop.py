"""The agent loop with the scripted model: parallel calls, caps, errors and simulated users."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from betterharness.agent.loop import run_case
from betterharness.config.schema import HarnessConfig, LimitsConfig, ModelConfig, RuntimeConfig
from betterharness.evals.case import EvalCase, Script
from betterharness.harness.templates import load_harness
from betterharness.models import connect
from betterharness.models.scripted import ScriptedClient

AGENT = connect(ModelConfig(id="scripted/replay"), RuntimeConfig(), "agent")
USER = connect(ModelConfig(id="scripted/replay"), RuntimeConfig(), "user")


def make(**extra: Any) -> EvalCase:
    base = {"id": "c", "description": "d", "tags": ["t"],
            "input": {"messages": [{"role": "user", "content": "Read both files."}]},
            "environment": {"toolsets": ["filesystem"], "files": {"/a.txt": "A", "/b.txt": "B"}},
            "success": [{"final_text_contains": "A"}], "ideal": {"steps": 2, "tool_calls": 2}}
    return EvalCase.model_validate({**base, **extra})


def read(path: str) -> dict[str, Any]:
    return {"name": "read_file", "arguments": {"file_path": path}}


async def run(case: EvalCase, script: dict[str, list[Any]], limits: LimitsConfig | None = None) -> Any:
    case = case.model_copy(update={"script": Script.model_validate(script)})
    harness = load_harness(HarnessConfig(vars={"agent_name": "Ada"}))
    return await run_case(case, harness, AGENT.bind(case=case), limits or LimitsConfig(), user=USER.bind(case=case))


async def test_parallel_calls_in_one_step_and_history() -> None:
    trace = await run(make(), {"agent": [{"tool_calls": [read("/a.txt"), read("/b.txt")]}, {"content": "A and B"}]})
    assert trace.stop_reason == "final" and trace.error is None
    assert [len(s.tool_calls) for s in trace.steps] == [2, 0]
    assert [r.content for r in trace.steps[0].tool_results] == ["     1\tA", "     1\tB"]
    roles = [m["role"] for m in trace.messages]
    assert roles == ["system", "user", "assistant", "tool", "tool", "assistant"]
    assert "`read_file`" in trace.messages[0]["content"]  # the harness lists the tools
    assert trace.final_text == "A and B" and trace.files == {"/a.txt": "A", "/b.txt": "B"}


async def test_bad_tool_call_becomes_an_error_result_not_a_crash() -> None:
    trace = await run(make(), {"agent": [{"tool_calls": [{"name": "read_file", "arguments": {"path": "/a.txt"}}]},
                                         {"content": "sorry"}]})
    result = trace.steps[0].tool_results[0]
    assert result.error and "file_path" in result.content
    assert trace.stop_reason == "final"


async def test_step_cap() -> None:
    loop = [{"tool_calls": [read("/a.txt")]}] * 5
    trace = await run(make(), {"agent": loop}, LimitsConfig(max_steps=3))
    assert trace.stop_reason == "max_steps" and len(trace.steps) == 3


async def test_token_cap() -> None:
    loop = [{"tool_calls": [read("/a.txt")]}] * 5
    trace = await run(make(), {"agent": loop}, LimitsConfig(max_tokens=1))
    assert trace.stop_reason == "max_tokens" and len(trace.steps) == 1


async def test_wall_time_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    original = ScriptedClient.complete

    async def slow(self: ScriptedClient, *args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(0.5)
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(ScriptedClient, "complete", slow)
    trace = await run(make(), {"agent": [{"content": "A"}]}, LimitsConfig(max_wall_s=0.1))
    assert trace.stop_reason == "timeout" and "wall-time cap" in (trace.error or "")
    assert trace.error_kind is None  # the agent's own doing: scored as a failure


async def test_a_crash_of_ours_is_internal_not_the_agents(monkeypatch: pytest.MonkeyPatch) -> None:
    async def crash(self: ScriptedClient, *args: Any, **kwargs: Any) -> Any:
        raise KeyError("choices")

    monkeypatch.setattr(ScriptedClient, "complete", crash)
    trace = await run(make(), {"agent": [{"content": "A"}]})
    assert (trace.stop_reason, trace.error_kind, trace.error) == ("error", "internal", "KeyError: 'choices'")


async def test_mock_with_no_response_is_a_case_defect() -> None:
    tool = {"name": "lookup", "description": "Find an order.",
            "parameters": {"type": "object", "properties": {"id": {"type": "string"}}},
            "responses": [{"when": {"id": "A1"}, "return": "shipped"}]}
    case = make(environment={"tools": [tool]})
    trace = await run(case, {"agent": [{"tool_calls": [{"name": "lookup", "arguments": {"id": "B2"}}]},
                                       {"content": "A"}]})
    assert trace.steps[0].tool_results[0].error
    assert [(a.kind, a.data["problem"]) for a in trace.annotations] == [
        ("case_defect", 'lookup has no result for arguments {"id": "B2"}.')]


async def test_model_error_is_recorded() -> None:
    trace = await run(make(), {"agent": []})
    assert trace.stop_reason == "error" and "unplanned agent request" in (trace.error or "")
    assert trace.error_kind == "other"  # infrastructure: counted, not scored


SIM = {"persona": "A busy traveller.", "goal": "Book a table for 2 at 7pm.", "opening": "Book me a table.",
       "facts": {"party": "2 people", "time": "7pm"}, "stop_signal": "###STOP###"}


async def test_simulated_user_from_the_user_role_until_stop() -> None:
    case = make(input={"user": SIM}, environment={})
    trace = await run(case, {"agent": [{"content": "For how many, and when?"}, {"content": "Booked for 2 at 7pm."}],
                             "user": ["2 people at 7pm.", "Thanks! ###STOP###"]})
    assert trace.stop_reason == "user_stop" and trace.user_turns == 3
    assert [m["content"] for m in trace.messages if m["role"] == "user"] == ["Book me a table.", "2 people at 7pm."]
    assert trace.final_text == "Booked for 2 at 7pm."


async def test_scripted_replies_and_turn_cap() -> None:
    case = make(input={"user": {**SIM, "replies": ["more", "more", "more"], "max_turns": 2}}, environment={})
    trace = await run(case, {"agent": [{"content": "Which day?"}, {"content": "Which day, again?"}]})
    assert trace.stop_reason == "user_stop" and trace.user_turns == 2
    assert len(trace.steps) == 2


async def test_simulator_prompt_sees_the_conversation_from_the_other_side() -> None:
    from betterharness.agent.user import UserSimulator
    from betterharness.evals.case import SimulatedUser

    seen: list[list[dict[str, str]]] = []

    class Fake:
        async def text(self, messages: list[dict[str, str]], rollout: str | None = None) -> tuple[str, Any]:
            from betterharness.agent.trace import Usage

            seen.append(messages)
            return "It's for 2.", Usage(total_tokens=5)

    sim = UserSimulator(SimulatedUser.model_validate(SIM), Fake(), max_turns=6)  # type: ignore[arg-type]
    sim.opening()
    reply = await sim.reply([{"role": "system", "content": "agent rules"}, {"role": "user", "content": "Book me."},
                             {"role": "assistant", "content": "How many people?"}])
    assert reply == "It's for 2."
    system, *rest = seen[0]
    assert "A busy traveller." in system["content"] and "party: 2 people" in system["content"]
    assert "agent rules" not in str(seen[0])
    assert rest == [{"role": "assistant", "content": "Book me."}, {"role": "user", "content": "How many people?"}]
    assert sim.usage.total_tokens == 5
