"""LangSmith: each rollout exported as a run with its score as feedback, and runs read back for mining.

Local ``traces.jsonl`` is always written regardless; export is best effort and never affects a run.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import uuid
from typing import Any

from betterharness.agent.trace import Trace
from betterharness.errors import BHError
from betterharness.scoring.score import Score


class TraceSink:
    """Sends each rollout to LangSmith as a run, when ``LANGSMITH_API_KEY`` is set and enabled.

    Export is best effort: a failure is reported once on stderr and never affects the run.
    """

    def __init__(self, project: str, metadata: dict[str, Any], enabled: bool = True) -> None:
        self.project = project
        self.metadata = metadata
        self.client: Any = None
        self.failed = False
        if enabled and os.environ.get("LANGSMITH_API_KEY"):
            try:
                from langsmith import Client

                self.client = Client()
            except Exception as exc:  # noqa: BLE001 - export is optional
                self._fail(exc)

    @property
    def enabled(self) -> bool:
        """True when rollouts are being exported."""
        return self.client is not None and not self.failed

    def _fail(self, exc: Exception) -> None:
        self.failed = True
        print(f"warning: LangSmith export disabled: {exc}", file=sys.stderr)

    def send(self, trace: Trace, score: Score) -> None:
        """Queue one rollout (with its score as feedback) for upload."""
        if not self.enabled:
            return
        run_id = uuid.uuid4()
        start = dt.datetime.fromtimestamp(trace.started_at, tz=dt.UTC)
        try:
            self.client.create_run(
                id=run_id, name=trace.case_id, run_type="chain", project_name=self.project,
                inputs={"messages": trace.messages[:2]}, outputs={"final_text": trace.final_text},
                start_time=start, end_time=start + dt.timedelta(seconds=trace.wall_s), error=trace.error,
                extra={"metadata": {**self.metadata, "epoch": trace.epoch, "harness": trace.harness_hash,
                                    "steps": len(trace.steps), "tool_calls": len(trace.tool_calls)}},
            )
            if not score.errored:  # an infrastructure failure is not a score
                self.client.create_feedback(run_id, key="correctness", score=score.correctness)
        except Exception as exc:  # noqa: BLE001 - export is optional
            self._fail(exc)


def fetch_runs(run_ids: list[str], client: Any = None) -> list[dict[str, Any]]:
    """Runs read from LangSmith with their child runs (needs ``LANGSMITH_API_KEY``, unless given a client)."""
    if client is None:
        if not os.environ.get("LANGSMITH_API_KEY"):
            raise BHError("--run-id needs LangSmith access, and LANGSMITH_API_KEY is not set",
                          key="LANGSMITH_API_KEY",
                          fix="export LANGSMITH_API_KEY=..., or mine an exported runs.json")
        from langsmith import Client

        client = Client()
    runs = []
    for run_id in run_ids:
        try:
            run = client.read_run(run_id, load_child_runs=True)
        except Exception as exc:  # noqa: BLE001 - any client failure becomes one clear message
            raise BHError(f"could not read LangSmith run {run_id}: {exc}", value=run_id,
                          fix="check the run id and that the API key can read its project") from None
        runs.append(run.model_dump(mode="json") if hasattr(run, "model_dump") else dict(run))
    return runs
