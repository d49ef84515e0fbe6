"""Runner overhead: betterharness ``run_rollouts`` against a bare asyncio loop over ``litellm.acompletion``.

Every runner drives the same local OpenAI-compatible server (``tests/fixtures/openai_server.py``),
which answers each request after a fixed delay. The server runs in its own process, so its CPU is
not counted and it does not compete for the runners' GIL. Each case takes two model calls: the
model calls one tool (a mock tool that answers at once), then gives its final answer.

Each runner is measured in a fresh child process after a short warm-up, so litellm's import and
first-call and connection set-up are not counted: wall time (``perf_counter``) and process CPU time
(``process_time``, all threads, including 0.5 s after the run for deferred logging work).

    /work/venv/bin/python benchmarks/runner_overhead.py --cases 400

prints a table and writes ``benchmarks/results.md`` (figures, machine facts, start-up times), keeping
its hand-written ``## Notes`` section.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import cProfile
import gc
import importlib.metadata
import json
import math
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results.md"
NOTES = "## Notes"
"""A section of results.md written by hand; a re-run keeps it below the new figures."""
MODEL = "openai/bench-model"
KEY_ENV = "BH_BENCH_KEY"
MODES = ("bare", "openai", "betterharness", "betterharness_nocache")
LABELS = {"bare": "bare loop, litellm.acompletion", "openai": "bare loop, openai SDK (reference)",
          "betterharness": "betterharness run_rollouts (defaults: rollout cache on)",
          "betterharness_nocache": "betterharness run_rollouts, runtime.cache=false"}
TOOL_RESULT = {"status": "shipped"}
TOOL: dict[str, Any] = {
    "name": "lookup_order",
    "description": "Look an order up by id.",
    "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]},
}

Run = Callable[[], Awaitable[int]]
"""One prepared batch of cases; returns the number of model calls it made."""


@dataclass
class Measurement:
    """One timed run of one runner."""

    mode: str
    cases: int
    calls: int
    wall_s: float
    cpu_s: float

    @property
    def cpu_ms_per_call(self) -> float:
        """Process CPU per model call, in milliseconds."""
        return 1000 * self.cpu_s / max(self.calls, 1)


# ---------- the runners (child process) ----------


def system_prompt() -> str:
    """The system prompt betterharness renders for the benchmark case, so every runner sends the same text."""
    from betterharness.config.schema import HarnessConfig
    from betterharness.harness.templates import load_harness

    harness = load_harness(HarnessConfig(vars={"agent_name": "Assistant"}))
    return harness.system_prompt([{"name": TOOL["name"], "description": TOOL["description"]}], {})


def user_text(index: int) -> str:
    """The user message of case ``index``."""
    return f"Where is order {index}?"


def prepare_bare(api_base: str, concurrency: int) -> Callable[[int, str], Run]:
    """A bare asyncio loop over ``litellm.acompletion``: two calls per case, the tool answered inline."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    system, tools = system_prompt(), [{"type": "function", "function": TOOL}]
    key = os.environ[KEY_ENV]

    def prepare(n: int, tag: str) -> Run:
        async def case(index: int, semaphore: asyncio.Semaphore) -> int:
            async with semaphore:
                messages: list[dict[str, Any]] = [{"role": "system", "content": system},
                                                  {"role": "user", "content": user_text(index)}]
                first = await litellm.acompletion(model=MODEL, messages=messages, tools=tools, api_base=api_base,
                                                  api_key=key, timeout=60, num_retries=0)
                message = first.choices[0].message
                calls = message.tool_calls or []
                messages.append({"role": "assistant", "content": message.content, "tool_calls": [
                    {"id": c.id, "type": "function",
                     "function": {"name": c.function.name, "arguments": c.function.arguments}} for c in calls]})
                messages.extend({"role": "tool", "tool_call_id": c.id, "content": json.dumps(TOOL_RESULT)}
                                for c in calls)
                second = await litellm.acompletion(model=MODEL, messages=messages, tools=tools, api_base=api_base,
                                                   api_key=key, timeout=60, num_retries=0)
                assert calls and not second.choices[0].message.tool_calls, "unexpected server behaviour"
                return 2

        async def run() -> int:
            semaphore = asyncio.Semaphore(concurrency)
            return sum(await asyncio.gather(*(case(i, semaphore) for i in range(n))))

        return run

    return prepare


def prepare_openai(api_base: str, concurrency: int) -> Callable[[int, str], Run]:
    """The same loop over the openai SDK's ``AsyncOpenAI`` (a reference point, not a target)."""
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=api_base, api_key=os.environ[KEY_ENV], max_retries=0, timeout=60)
    system, tools = system_prompt(), [{"type": "function", "function": TOOL}]
    model = MODEL.split("/", 1)[1]

    def prepare(n: int, tag: str) -> Run:
        async def case(index: int, semaphore: asyncio.Semaphore) -> int:
            async with semaphore:
                messages: list[Any] = [{"role": "system", "content": system},
                                       {"role": "user", "content": user_text(index)}]
                first = await client.chat.completions.create(model=model, messages=messages, tools=tools)
                message = first.choices[0].message
                calls = message.tool_calls or []
                messages.append(message.model_dump(exclude_none=True))
                messages.extend({"role": "tool", "tool_call_id": c.id, "content": json.dumps(TOOL_RESULT)}
                                for c in calls)
                await client.chat.completions.create(model=model, messages=messages, tools=tools)
                return 2

        async def run() -> int:
            semaphore = asyncio.Semaphore(concurrency)
            return sum(await asyncio.gather(*(case(i, semaphore) for i in range(n))))

        return run

    return prepare


def prepare_betterharness(api_base: str, concurrency: int, cache: bool = True) -> Callable[[int, str], Run]:
    """``run_rollouts`` over N eval cases with one mock tool, scored and stored in a temporary RolloutStore.

    The outputs root (and so the rollout cache) is a fresh temporary folder: every rollout is a miss
    that is run and then written to the cache, as in a first run.
    """
    from betterharness.config.schema import ExperimentConfig, HarnessConfig, ModelConfig, RuntimeConfig
    from betterharness.evals.case import EvalCase
    from betterharness.harness.templates import load_harness
    from betterharness.runner import run_rollouts
    from betterharness.store import RolloutStore

    folder = Path(tempfile.mkdtemp(prefix="bh-bench-"))
    atexit.register(shutil.rmtree, folder, True)
    config = ExperimentConfig(
        model=ModelConfig(id=MODEL, api_base=api_base, api_key_env=KEY_ENV),
        runtime=RuntimeConfig(concurrency=concurrency, progress=False, langsmith=False, request_timeout_s=60,
                              outputs=str(folder / "outputs"), cache=cache),
    )
    harness = load_harness(HarnessConfig(vars={"agent_name": "Assistant"}))

    def case(index: int, tag: str) -> EvalCase:
        return EvalCase.model_validate({
            "id": f"bench_{tag}_{index}", "description": "Looks an order up, then answers.", "tags": ["tool_use"],
            "input": {"messages": [{"role": "user", "content": user_text(index)}]},
            "environment": {"tools": [{**TOOL, "responses": [{"default": TOOL_RESULT}]}]},
            "success": [{"tool_called": {"name": TOOL["name"]}}, {"final_text_contains": f"order {index}"}],
            "ideal": {"steps": 2, "tool_calls": 1},
        })

    def prepare(n: int, tag: str) -> Run:
        cases = [case(i, tag) for i in range(n)]
        store = RolloutStore(folder / tag)

        async def run() -> int:
            scores, stats = await run_rollouts(cases, harness, config, store, epochs=1)
            failed = [s.case_id for s in scores if not s.passed]
            assert not failed, f"{len(failed)} cases failed, e.g. {failed[:3]} {stats.errors[:3]}"
            assert stats.ran == n, f"{stats.ran} of {n} ran ({stats.reused} reused, {stats.cached} cached)"
            return 2 * n

        return run

    return prepare


PREPARERS: dict[str, Callable[[str, int], Callable[[int, str], Run]]] = {
    "bare": prepare_bare, "openai": prepare_openai, "betterharness": prepare_betterharness,
    "betterharness_nocache": partial(prepare_betterharness, cache=False),
}


async def measure(mode: str, api_base: str, cases: int, concurrency: int, profile: Path | None) -> Measurement:
    """Warm up (one full-width batch, which also fills the connection pool), then time ``cases`` cases."""
    prepare = PREPARERS[mode](api_base, concurrency)
    await prepare(concurrency, "warmup")()
    run = prepare(cases, "main")
    gc.collect()
    profiler = cProfile.Profile() if profile else None
    cpu, start = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    calls = await run()
    wall = time.perf_counter() - start
    await asyncio.sleep(0.5)
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
    return Measurement(mode, cases, calls, wall, time.process_time() - cpu)


def child(args: argparse.Namespace) -> None:
    """Measure one runner and print the result as one ``RESULT {json}`` line."""
    os.environ["BH_OFFLINE"] = "1"
    os.environ.setdefault(KEY_ENV, "sk-bench")
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    sys.path.insert(0, str(ROOT))
    result = asyncio.run(measure(args.child, args.api_base, args.cases, args.concurrency,
                                 Path(args.profile) if args.profile else None))
    print("RESULT " + json.dumps(asdict(result)), flush=True)


# ---------- orchestration (parent process) ----------


class Server:
    """The fixture server in its own process."""

    def __init__(self, delay_s: float) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.fixtures.openai_server", "--delay", str(delay_s)],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        line = self.process.stdout.readline() if self.process.stdout else ""
        if not line.startswith("listening "):
            self.stop()
            raise SystemExit(f"the fixture server did not start: {line!r}")
        self.api_base = line.split()[1] + "/v1"

    def stop(self) -> None:
        """Close its stdin (it exits) and wait."""
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def run_child(mode: str, api_base: str, cases: int, concurrency: int, profile: Path | None = None) -> Measurement:
    """Run one measurement in a fresh interpreter."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", mode, "--api-base", api_base,
               "--cases", str(cases), "--concurrency", str(concurrency)]
    if profile:
        command += ["--profile", str(profile)]
    env = {**os.environ, "BH_OFFLINE": "1", KEY_ENV: "sk-bench", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    done = subprocess.run(command, cwd=ROOT, env=env, text=True, capture_output=True, timeout=900)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"{mode} run failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return Measurement(**json.loads(lines[-1][len("RESULT "):]))


def median(items: list[Measurement]) -> Measurement:
    """The run with the median wall time."""
    ordered = sorted(items, key=lambda m: m.wall_s)
    return ordered[(len(ordered) - 1) // 2]


def hot_spots(profile: Path, limit: int = 25) -> str:
    """The profile's top functions by own time, and betterharness's functions by cumulative time."""
    stats = pstats.Stats(str(profile))
    total = sum(row[2] for row in stats.stats.values())  # type: ignore[attr-defined]
    rows = []
    for (file, line, name), (_cc, calls, own, cumulative, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append((own, cumulative, calls, f"{_short(file)}:{line}({name})"))
    lines = [f"Profiled time in the event-loop thread: {total:.2f} s (idle `epoll` waits included; cProfile "
             "slows everything it measures, so compare rows with each other, not with the table above).", "",
             "Top functions by own time:", "", "| own s | cum s | calls | function |", "|---:|---:|---:|---|"]
    lines += [f"| {own:.3f} | {cum:.3f} | {calls} | `{where}` |"
              for own, cum, calls, where in sorted(rows, reverse=True)[:limit]]
    ours = [r for r in rows if "betterharness/" in r[3] and "benchmarks/" not in r[3]]
    lines += ["", "betterharness functions by cumulative time:", "", "| cum s | own s | calls | function |",
              "|---:|---:|---:|---|"]
    lines += [f"| {cum:.3f} | {own:.3f} | {calls} | `{where}` |"
              for own, cum, calls, where in sorted(ours, key=lambda r: r[1], reverse=True)[:limit]]
    return "\n".join(lines)


def _short(file: str) -> str:
    for marker in ("site-packages/", "/work/main/", "lib/python3"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file


# ---------- start-up ----------


def startup_commands() -> dict[str, list[str]]:
    """The start-up commands to time, by label."""
    py = sys.executable
    return {
        "python -c pass": [py, "-c", "pass"],
        "python -m betterharness --help": [py, "-m", "betterharness", "--help"],
        "python -m betterharness model=scripted --cfg job": [py, "-m", "betterharness", "model=scripted", "--cfg",
                                                             "job"],
        "python -c 'import litellm'": [py, "-c", "import litellm"],
    }


def time_command(command: list[str], runs: int, env: dict[str, str]) -> tuple[float, float, str]:
    """(mean s, stdev s, tool) over ``runs`` runs after one warm-up: hyperfine when installed."""
    if shutil.which("hyperfine"):
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            subprocess.run(["hyperfine", "--runs", str(runs), "--warmup", "1", "-N", "--export-json", out.name,
                            " ".join(_quote(c) for c in command)],
                           cwd=ROOT, env=env, check=True, capture_output=True)
            result = json.loads(Path(out.name).read_text())["results"][0]
        return result["mean"], result["stddev"] or 0.0, "hyperfine"
    times = []
    for attempt in range(runs + 1):
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
        if attempt:
            times.append(time.perf_counter() - start)
    return statistics.mean(times), statistics.stdev(times), "perf_counter loop"


def _quote(arg: str) -> str:
    return f"'{arg}'" if any(c in arg for c in " ;&|") else arg


def litellm_imports(args: list[str], env: dict[str, str]) -> int:
    """How many ``-X importtime`` lines mention litellm when running ``python -m betterharness <args>``."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "betterharness", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    return sum("litellm" in line for line in done.stderr.splitlines())


def measure_startup(runs: int) -> list[str]:
    """Markdown lines: start-up times and the litellm import check."""
    env = {**os.environ, "BH_OFFLINE": "1", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    lines = ["| command | mean s | ± sd s | runs | tool |", "|---|---:|---:|---:|---|"]
    for label, command in startup_commands().items():
        count = 3 if "litellm" in label else runs
        mean, sd, tool = time_command(command, count, env)
        lines.append(f"| `{label}` | {mean:.3f} | {sd:.3f} | {count} | {tool} |")
        print(f"  start-up {label}: {mean:.3f} s ± {sd:.3f}", flush=True)
    help_count = litellm_imports(["--help"], env)
    job_count = litellm_imports(["model=scripted", "--cfg", "job"], env)
    lines += ["", "litellm modules imported (`python -X importtime -m betterharness … 2>&1 | grep -c litellm`): "
              f"`--help` → **{help_count}**, `model=scripted --cfg job` → **{job_count}**."]
    return lines


# ---------- report ----------


def machine_facts() -> list[str]:
    """Markdown bullet lines describing this machine and the library versions."""
    cpu = "unknown"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    versions = ", ".join(f"{name} {_version(name)}" for name in ("litellm", "openai", "httpx", "aiohttp", "pydantic"))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return [f"- cores: {os.cpu_count()} ({cpu})", f"- Python {platform.python_version()} on {platform.platform()}",
            f"- {versions}", f"- load average when the run started (other work shares this machine): {load}"]


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def render(results: dict[str, list[Measurement]], args: argparse.Namespace) -> list[str]:
    """The results table, as markdown lines."""
    waves = math.ceil(args.cases / args.concurrency)
    ideal = waves * 2 * args.delay
    bare = median(results["bare"]) if results.get("bare") else None
    lines = [f"{args.cases} two-call cases, {args.concurrency} in flight, server delay {args.delay:g} s; "
             f"ideal wall time {ideal:.2f} s ({waves} waves × 2 calls × {args.delay:g} s; the pure throughput "
             f"bound {args.cases * 2 * args.delay / args.concurrency:.2f} s). Median of {args.repeats} run(s) "
             f"by wall time; each run in a fresh process after a {args.concurrency}-case warm-up.", "",
             "| runner | wall s | × ideal | vs bare litellm | CPU s | CPU ms / call | all runs, wall s |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for mode, items in results.items():
        m = median(items)
        versus = f"{100 * (m.wall_s / bare.wall_s - 1):+.0f}%" if bare else "–"
        runs = ", ".join(f"{x.wall_s:.2f}" for x in items)
        lines.append(f"| {LABELS[mode]} | {m.wall_s:.2f} | {m.wall_s / ideal:.2f} | {versus} | {m.cpu_s:.2f} | "
                     f"{m.cpu_ms_per_call:.1f} | {runs} |")
    if bare and results.get("betterharness"):
        ours = median(results["betterharness"])
        extra = ours.cpu_ms_per_call - bare.cpu_ms_per_call
        lines += ["", f"betterharness adds {extra:.1f} ms of CPU per model call over the bare litellm loop "
                  f"({100 * (ours.cpu_s / bare.cpu_s - 1):+.0f}% CPU, {100 * (ours.wall_s / bare.wall_s - 1):+.0f}% "
                  "wall); the aim is within 15% of the bare loop's wall time."]
    return lines


def kept_notes(path: Path) -> str:
    """The hand-written ``## Notes`` section of an earlier results file (kept when the figures are rewritten)."""
    if not path.exists():
        return ""
    text = path.read_text(encoding="utf-8")
    start = text.find(NOTES)
    return "\n" + text[start:].rstrip() + "\n" if start >= 0 else ""


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark (or, with ``--child``, one measurement)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cases", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--delay", type=float, default=0.2, help="server delay per answer, seconds")
    parser.add_argument("--repeats", type=int, default=3, help="runs per runner; the median is reported")
    parser.add_argument("--modes", default=",".join(MODES), help=f"comma-separated, from {', '.join(MODES)}")
    parser.add_argument("--profile", default=None,
                        help="with --child: write a cProfile dump here; otherwise: 'auto' (profile betterharness "
                             "when it is >15%% slower than the bare loop), 'always' or 'never'")
    parser.add_argument("--startup-runs", type=int, default=5, help="0 skips the start-up measurements")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--api-base", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    facts = machine_facts()
    results: dict[str, list[Measurement]] = {mode: [] for mode in modes}
    server = Server(args.delay)
    profile_section: list[str] = []
    try:
        for repeat in range(args.repeats):
            for mode in modes:
                m = run_child(mode, server.api_base, args.cases, args.concurrency)
                results[mode].append(m)
                print(f"  run {repeat + 1} {mode:14} wall {m.wall_s:6.2f} s  cpu {m.cpu_s:6.2f} s  "
                      f"{m.cpu_ms_per_call:5.1f} ms/call", flush=True)
        bare, ours = results.get("bare"), results.get("betterharness")
        slow = bool(bare and ours and median(ours).wall_s > 1.15 * median(bare).wall_s)
        if ours and (args.profile == "always" or (args.profile in (None, "auto") and slow)):
            path = Path(tempfile.gettempdir()) / "bh_runner_overhead.pstats"
            m = run_child("betterharness", server.api_base, args.cases, args.concurrency, profile=path)
            print(f"  profiled run: wall {m.wall_s:.2f} s, cpu {m.cpu_s:.2f} s (dump: {path})", flush=True)
            profile_section = ["", "## Where betterharness spends its CPU (cProfile of one run)", "",
                               hot_spots(path)]
    finally:
        server.stop()
    table = render(results, args)
    startup = measure_startup(args.startup_runs) if args.startup_runs > 0 else []
    command = "python benchmarks/runner_overhead.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = ["# Runner overhead", "", f"`{command.strip()}` on {time.strftime('%Y-%m-%d %H:%M')}.", "",
            "## Machine", "", *facts, "", "## Runner overhead", "", *table, *profile_section]
    if startup:
        text += ["", "## Start-up", "", *startup]
    print("\n".join(table))
    if startup:
        print("\n".join(startup))
    args.output.write_text("\n".join(text) + "\n" + kept_notes(args.output), encoding="utf-8")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
