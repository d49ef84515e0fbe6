"""The simulated user: a persona with a goal, played by the ``user`` role or by scripted replies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from betterharness.evals.case import SimulatedUser
from betterharness.models.completion import ModelClient, Usage
from betterharness.paths import USER_PROMPT, prompts_dir
from betterharness.sandbox import render_text


class UserSimulator:
    """Produces the user's next turn; ``None`` means the user is done (stop signal or turn cap)."""

    def __init__(self, spec: SimulatedUser, client: ModelClient | None, max_turns: int,
                 template: Path | None = None) -> None:
        self.spec = spec
        self.client = client
        self.max_turns = min(spec.max_turns, max_turns)
        self.turns = 0
        self.usage = Usage()
        self.template = template or prompts_dir() / USER_PROMPT

    def opening(self) -> str:
        """The first user message."""
        self.turns = 1
        return self.spec.opening

    async def reply(self, history: list[dict[str, Any]]) -> str | None:
        """The user's answer to the agent's last message, or None when the conversation ends."""
        if self.turns >= self.max_turns:
            return None
        if self.spec.replies is not None:
            index = self.turns - 1
            if index >= len(self.spec.replies):
                return None
            text = self.spec.replies[index]
        else:
            if self.client is None:
                return None
            system = render_text(self.template.read_text(encoding="utf-8"),
                                 {"persona": self.spec.persona, "goal": self.spec.goal, "facts": self.spec.facts,
                                  "stop_signal": self.spec.stop_signal},
                                 origin=str(self.template))
            # The simulator sees the conversation from the other side: the agent's turns are its "user".
            flipped = [{"role": "system", "content": system}]
            for message in history:
                if message["role"] == "user":
                    flipped.append({"role": "assistant", "content": message.get("content") or ""})
                elif message["role"] == "assistant" and message.get("content"):
                    flipped.append({"role": "user", "content": message["content"]})
            text, usage = await self.client.text(flipped)
            self.usage.add(usage)
        self.turns += 1
        if self.spec.stop_signal in text:
            return None
        return text.strip()
