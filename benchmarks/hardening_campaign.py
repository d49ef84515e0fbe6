"""Hardening campaign (issue 9, item 10): bad input, kill -9, provider faults and hang attempts, with figures.

Every probe drives the real CLI, ``python -m betterharness ...``, in a subprocess with a timeout
(a timeout counts as a hang), with ``BH_OFFLINE=1`` and ``LITELLM_LOCAL_MODEL_COST_MAP=True``, in a
temporary folder. Models are the scripted test double or the loopback OpenAI-compatible server of
``tests/fixtures/openai_server.py`` on 127.0.0.1: nothing reaches the network and the embedded model is
never loaded.

1. **Bad input.** Each class is a config override, a harness template, a case file among good ones or
   an import file. A config error must exit 2 with a message that names the file or key and a fix, and
   no traceback; a bad case file among good ones must be skipped with such a warning while the run goes
   on (exit 0, the good cases scored, the file listed in ``report.md``).
2. **kill -9.** A run of several cases x epochs against a slow loopback server is SIGKILLed at chosen
   moments, then resumed with the same command until it completes; the rows of ``scores.jsonl`` and
   ``traces.jsonl`` are then counted: lost = (case, epoch) keys missing, duplicated = rows beyond the
   unique keys.
3. **Provider faults.** The server answers 401, 403, 404, 429 (with and without Retry-After), 500, 503,
   empty ``choices``, a body that is not JSON, malformed tool-call arguments, too slowly, not at all, or
   dies mid-run. Infrastructure failures must never be a model score: a refused key, an unknown model and
   a provider that is down exit 3; transient faults are retried and scored.
4. **Hang attempts.** Scripted agents call ``grep`` with ``(a+)+$``, ``glob`` with ten ``**/`` segments,
   mocks render ``{{ 9**(9**8) }}`` or huge ranges, a case's own regex is a ReDoS pattern, and a model
   never answers; each with a small ``limits.max_wall_s``. The wall time of each case is recorded.

    python -m benchmarks.hardening_campaign            # everything, ~8 min on 2 idle cores
    python -m benchmarks.hardening_campaign --quick    # a subset of each section, ~2.5 min

writes ``benchmarks/results-hardening-2026-12-01.md`` (``--out``) and a JSON file beside it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from aiohttp import web

from tests.fixtures.openai_server import OpenAIServer, Reply

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "benchmarks" / "results-hardening-2026-12-01.md"
MODEL_ID = "openai/campaign-model"
KEY_ENV = "BH_CAMPAIGN_KEY"
SECRET = "sk-campaign-SECRET-7f3a9c"
GOOD_CASES = ["tool_use/tool_use_weather_single_call.yaml", "file_operations/file_ops_edit_one_word.yaml",
              "followup_quality/followup_schedule_given.yaml"]
"""Shipped cases that pass on the scripted model: the good cases beside each bad one."""
TRACEBACK = "Traceback (most recent call last)"
CLI_TIMEOUT_S = 120.0
"""Longest any one CLI process may take; past it the process is killed and counted as a hang."""


# ---------------------------------------------------------------------------------------------------------
# Running the CLI
# ---------------------------------------------------------------------------------------------------------


@dataclass
class CliResult:
    """One finished (or timed-out) CLI process."""

    args: list[str]
    code: int | None
    """Exit code; None when the process passed its timeout and was killed."""
    stdout: str
    stderr: str
    wall_s: float

    @property
    def timed_out(self) -> bool:
        """True when the process had to be killed at its timeout (a hang)."""
        return self.code is None

    @property
    def traceback(self) -> bool:
        """True when a Python traceback reached the user."""
        return TRACEBACK in self.stderr or TRACEBACK in self.stdout


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of every CLI process: offline guard on, no cost-map fetch, no real keys."""
    env = {**os.environ, "BH_OFFLINE": "1", "LITELLM_LOCAL_MODEL_COST_MAP": "True", KEY_ENV: "sk-campaign-test",
           "PYTHONUNBUFFERED": "1"}
    for key in ("LANGSMITH_API_KEY", "LANGCHAIN_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "BH_DEBUG",
                "HYDRA_FULL_ERROR"):
        env.pop(key, None)
    env.update(extra or {})
    return env


def _command(args: Sequence[str]) -> list[str]:
    return [sys.executable, "-m", "betterharness", *args]


def _kill_group(proc: subprocess.Popen[Any]) -> None:
    """SIGKILL the process group of a child this campaign started (each child leads its own session)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def run_cli(args: Sequence[str], *, cwd: Path, timeout: float = CLI_TIMEOUT_S,
            env: dict[str, str] | None = None) -> CliResult:
    """Run ``python -m betterharness <args>`` to its end, or kill it at ``timeout`` seconds."""
    start = time.perf_counter()
    proc = subprocess.Popen(_command(args), cwd=cwd, env=env or cli_env(), text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, err = proc.communicate()
        code = None
    return CliResult(list(args), code, out, err, time.perf_counter() - start)


def first_error_line(text: str) -> str:
    """The line a user reads first: the first ``error:``/``warning:`` line, else the first non-empty one."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if line.startswith(("error:", "warning:")):
            return line[:160]
    return lines[0][:160] if lines else ""


def run_folders(outputs: Path) -> list[Path]:
    """The run folders under an outputs root (not ``_cache``, ``_sweeps``, ...)."""
    if not outputs.is_dir():
        return []
    return sorted(p for p in outputs.iterdir() if p.is_dir() and not p.name.startswith("_"))


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON document, or None when it is missing or unreadable."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def dump_yaml(data: Any) -> str:
    """YAML text of ``data`` (key order kept)."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=10_000)


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def workdir(prefix: str, keep: bool = False) -> Iterator[Path]:
    """A fresh temporary folder, removed afterwards unless ``keep``."""
    path = Path(tempfile.mkdtemp(prefix=f"bh-campaign-{prefix}-"))
    try:
        yield path
    finally:
        if not keep:
            shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------------------------------------------------
# Cases and suites
# ---------------------------------------------------------------------------------------------------------


def write_good_suite(folder: Path) -> None:
    """Copy the shipped good cases into ``folder`` (one per tag folder)."""
    for rel in GOOD_CASES:
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "evals" / rel, target)


def minimal_case(case_id: str, **fields: Any) -> dict[str, Any]:
    """A valid case the scripted model passes (answers ``ok``), with ``fields`` overriding its keys."""
    case: dict[str, Any] = {
        "id": case_id, "description": f"Campaign case {case_id}.", "tags": ["tool_use"],
        "input": {"messages": [{"role": "user", "content": "Say ok."}]},
        "success": [{"final_text_contains": ["ok"]}],
        "ideal": {"steps": 1, "tool_calls": 0, "trajectory": [{"content": "ok"}]},
    }
    case.update(fields)
    return case


def echo_case(case_id: str, tool: bool = False) -> dict[str, Any]:
    """A case the loopback server's echo policy passes: one call (or a tool call, then the answer)."""
    case: dict[str, Any] = {
        "id": case_id, "description": f"Campaign case {case_id}: reports what the loopback model says.",
        "tags": ["campaign"], "input": {"messages": [{"role": "user", "content": f"Tell me about {case_id}."}]},
        "success": [{"final_text_contains": ["echo:"]}], "ideal": {"steps": 1, "tool_calls": 0},
    }
    if tool:
        case["environment"] = {"tools": [{
            "name": "lookup", "description": "Look a topic up.",
            "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
            "responses": [{"default": {"status": "ok", "facts": ["it exists"]}}]}]}
        case["ideal"] = {"steps": 2, "tool_calls": 1}
    return case


def write_cases(folder: Path, cases: Sequence[dict[str, Any]]) -> None:
    """Write each case as ``<folder>/<tag>/<id>.yaml``."""
    for case in cases:
        path = folder / case["tags"][0] / f"{case['id']}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump_yaml(case), encoding="utf-8")


def alias_bomb_case() -> str:
    """A case whose mock ``default:`` is a YAML alias bomb: nine levels of nine aliases (9**9 values)."""
    lines = ["id: alias_bomb", "description: An alias bomb in an untyped field.", "tags: [tool_use]",
             "input: {messages: [{role: user, content: hi}]}", "environment:", "  tools:", "    - name: t",
             "      description: d", "      responses:", "        - default:"]
    names = "abcdefghij"
    lines.append('            a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]')
    for prev, name in zip(names, names[1:], strict=False):
        lines.append(f"            {name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    lines += ["success: [{final_text_contains: [x]}]", "ideal: {steps: 1, tool_calls: 0}"]
    return "\n".join(lines) + "\n"


def deep_case(depth: int = 70) -> str:
    """A case whose mock ``default:`` nests ``depth`` flow lists."""
    case = minimal_case("too_deep", environment={"tools": [{"name": "t", "description": "d",
                                                             "responses": [{"default": "PLACEHOLDER"}]}]})
    return dump_yaml(case).replace("PLACEHOLDER", "[" * depth + "1" + "]" * depth)


# ---------------------------------------------------------------------------------------------------------
# 1. Bad input
# ---------------------------------------------------------------------------------------------------------

Base = Literal["scripted", "bare", "loopback", "import"]
Checker = Callable[[CliResult, Path, "OpenAIServer | None"], list[str]]


@dataclass
class BadInput:
    """One bad-input class: what is written, the overrides given, and what the user must be told.

    ``args`` and ``files`` may hold ``@WORK@`` (the probe's folder), ``@SUITE@``, ``@OUT@`` and
    ``@API@`` (the loopback server's base URL). ``names`` must all appear in stderr (the file or key),
    and one of ``fix`` (the next step). With ``bad_file`` the class is one case file among good ones:
    the run must go on (exit 0, ``good`` cases scored, the file listed in report.md).
    """

    name: str
    kind: Literal["override", "config", "harness", "case file", "import", "secret"]
    args: list[str]
    names: list[str]
    fix: list[str]
    base: Base = "scripted"
    exit: int = 2
    files: dict[str, str | bytes] = field(default_factory=dict)
    bad_file: str | None = None
    good: int = len(GOOD_CASES)
    check: Checker | None = None
    quick: bool = True


@dataclass
class BadInputResult:
    """What one bad-input class produced, and whether it was clear."""

    name: str
    kind: str
    exit: int | None
    want_exit: int
    traceback: bool
    named: bool
    fix: bool
    went_on: bool | None
    """For a bad case file among good ones: the run finished with the good cases scored and the file listed."""
    clear: bool
    wall_s: float
    message: str
    problems: list[str]
    args: list[str]


def _no_run_folder(result: CliResult, work: Path, server: OpenAIServer | None) -> list[str]:
    left = run_folders(work / "out")
    return [f"left run folder {left[0].name} behind"] if left else []


def _no_score_printed(result: CliResult, work: Path, server: OpenAIServer | None) -> list[str]:
    problems = _no_run_folder(result, work, server)
    if "correctness" in result.stdout or "All rollouts passed" in result.stdout:
        problems.append("printed a correctness figure for zero cases")
    return problems


def _nothing_imported(result: CliResult, work: Path, server: OpenAIServer | None) -> list[str]:
    written = list((work / "imported").rglob("*.yaml")) if (work / "imported").exists() else []
    return [f"wrote {len(written)} case files from a bad import"] if written else []


def _secret_nowhere(result: CliResult, work: Path, server: OpenAIServer | None) -> list[str]:
    problems = []
    for path in (work / "out").rglob("*"):
        if path.is_file() and SECRET.encode() in path.read_bytes():
            problems.append(f"secret written to {path.relative_to(work / 'out')}")
    for path in work.rglob(".hydra/*"):
        if path.is_file() and SECRET.encode() in path.read_bytes():
            problems.append(f"secret written to {path.relative_to(work)}")
    if SECRET in result.stdout or SECRET in result.stderr:
        problems.append("secret printed")
    used = server is not None and any(SECRET in r.headers.get("Authorization", "") for r in server.chat_requests)
    if not used:
        problems.append("the secret was not sent to the server (the key was not used)")
    if not run_folders(work / "out"):
        problems.append("no run folder")
    return problems


def _yml_loaded(result: CliResult, work: Path, server: OpenAIServer | None) -> list[str]:
    folders = run_folders(work / "out")
    scores = (folders[0] / "scores.jsonl").read_text() if folders and (folders[0] / "scores.jsonl").exists() else ""
    return [] if '"case_id":"yml_case"' in scores else ["the .yml case was not run"]


def _case(case_id: str, **fields: Any) -> str:
    return dump_yaml(minimal_case(case_id, **fields))


def _mock(default: Any, template: bool = False) -> dict[str, Any]:
    response: dict[str, Any] = {"default": default}
    if template:
        response["template"] = True
    return {"tools": [{"name": "t", "description": "d", "responses": [response]}]}


def _harness(source: str) -> dict[str, str | bytes]:
    return {"@WORK@/hs/evil/system_prompt.md.j2": source}


HARNESS = ["harness.dir=@WORK@/hs", "harness.name=evil"]
FIX_LINE = ["fix:"]


def bad_input_classes(quick: bool = False) -> list[BadInput]:
    """Every bad-input class of the campaign (a subset with ``quick``)."""
    big_file = "x" * 2_100_000
    classes = [
        # -- Hydra's own errors (one exit code for every user error) --
        BadInput("unknown group option (model=nope)", "override", ["model=nope"], ["model/nope"],
                 ["Available options"], base="bare", check=_no_run_folder),
        BadInput("key without + (runtime.concurency=2)", "override", ["runtime.concurency=2"],
                 ["runtime.concurency"], ["+runtime.concurency"], check=_no_run_folder),
        BadInput("override syntax error (epochs=[1)", "override", ["epochs=[1"], ["[1"],
                 ["override_grammar", "fix:"], check=_no_run_folder),
        # -- our config validation --
        BadInput("unknown key with + (+runtime.concurency=2)", "config", ["+runtime.concurency=2"],
                 ["runtime.concurency"], ["did you mean"], check=_no_run_folder),
        BadInput("wrong type (epochs=abc)", "config", ["epochs=abc"], ["epochs"], FIX_LINE, check=_no_run_folder),
        BadInput("value not allowed (review.mode=sometimes)", "config", ["review.mode=sometimes"], ["review.mode"],
                 ["'auto'"], check=_no_run_folder),
        BadInput("unresolvable interpolation (model.id=${nope})", "config", ["model.id=${nope}"], ["model.id"],
                 FIX_LINE, check=_no_run_folder),
        BadInput("out-of-range limit (limits.max_wall_s=-1)", "config", ["limits.max_wall_s=-1"],
                 ["limits.max_wall_s"], FIX_LINE, check=_no_run_folder),
        BadInput("unknown tag (evals.include_tags=[nope])", "config", ["evals.include_tags=[nope]"], ["'nope'"],
                 FIX_LINE, check=_no_run_folder),
        BadInput("filter selects zero cases (evals.ids=[nothing_*])", "config", ["evals.ids=[nothing_*]"],
                 ["evals.ids"], FIX_LINE, check=_no_score_printed),
        BadInput("evals.root does not exist", "config", ["evals.root=@WORK@/no_such_folder"], ["evals.root"],
                 FIX_LINE, base="bare", check=_no_run_folder),
        BadInput("runtime.outputs is a file", "config", ["runtime.outputs=@WORK@/a_file"], ["runtime.outputs"],
                 FIX_LINE, files={"@WORK@/a_file": "not a folder\n"}),
        BadInput("runtime.outputs unwritable", "config", ["runtime.outputs=@UNWRITABLE@"], ["runtime.outputs"],
                 FIX_LINE),
        BadInput("absolute evals.files glob (/etc/**/*.yaml)", "config", ["evals.files=[/etc/**/*.yaml]"],
                 ["evals.files"], FIX_LINE, check=_no_run_folder),
        BadInput("evals.files glob with .. (../**/*.yaml)", "config", ["evals.files=[../**/*.yaml]"],
                 ["evals.files"], FIX_LINE, check=_no_run_folder, quick=False),
        BadInput("unset model.api_key_env variable", "config", ["model.api_key_env=BH_CAMPAIGN_UNSET_KEY"],
                 ["BH_CAMPAIGN_UNSET_KEY"], ["export BH_CAMPAIGN_UNSET_KEY"], base="loopback",
                 check=_no_run_folder),
        # -- harness templates --
        BadInput("{% include %} in a harness template", "harness", HARNESS, ["system_prompt.md.j2"], FIX_LINE,
                 files=_harness("{% include 'other.j2' %}"), check=_no_run_folder),
        BadInput("{% extends %} / {% import %} in a harness template", "harness", HARNESS, ["system_prompt.md.j2"],
                 FIX_LINE, files=_harness("{% import 'macros.j2' as m %}{% extends 'base.j2' %}"),
                 check=_no_run_folder, quick=False),
        BadInput("huge range in a harness template", "harness", HARNESS, ["system_prompt.md.j2"], FIX_LINE,
                 files=_harness("{{ range(10**9) | list | length }}"), check=_no_run_folder),
        BadInput("nested ranges (10^10 iterations) in a harness template", "harness", HARNESS,
                 ["system_prompt.md.j2"], FIX_LINE,
                 files=_harness("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"),
                 check=_no_run_folder, quick=False),
        BadInput("memory-exhausting harness template ('x' * 10**9)", "harness", HARNESS, ["system_prompt.md.j2"],
                 FIX_LINE, files=_harness("{{ 'x' * 10**9 }}"), check=_no_run_folder),
        BadInput("harness template syntax error", "harness", HARNESS, ["system_prompt.md.j2"], FIX_LINE,
                 files=_harness("{{ oops( "), check=_no_run_folder),
        BadInput("harness.name that does not exist", "harness", ["harness.name=nope"], ["harness"], FIX_LINE,
                 check=_no_run_folder, quick=False),
        # -- one bad case file among good ones: skipped with a warning, the run goes on --
        BadInput("unknown key in a case YAML", "case file", [], ["unknown_key.yaml", "sucess"], FIX_LINE,
                 exit=0, bad_file="unknown_key.yaml",
                 files={"@SUITE@/tool_use/unknown_key.yaml": _case("unknown_key") + "sucess: [{x: 1}]\n"}),
        BadInput("wrong type in a case (ideal.steps: two)", "case file", [], ["wrong_type.yaml", "ideal.steps"],
                 FIX_LINE, exit=0, bad_file="wrong_type.yaml",
                 files={"@SUITE@/tool_use/wrong_type.yaml": _case("wrong_type", ideal={"steps": "two",
                                                                                       "tool_calls": 0})}),
        BadInput("malformed YAML", "case file", [], ["broken.yaml:"], FIX_LINE, exit=0, bad_file="broken.yaml",
                 files={"@SUITE@/tool_use/broken.yaml": "id: broken\ndescription: [oops\n"}),
        BadInput(f"YAML alias bomb in a mock default: ({len(alias_bomb_case())} bytes, 9**9 values)", "case file",
                 [], ["alias_bomb.yaml"], FIX_LINE, exit=0, bad_file="alias_bomb.yaml",
                 files={"@SUITE@/tool_use/alias_bomb.yaml": alias_bomb_case()}),
        BadInput("nesting depth 70 > 64", "case file", [], ["too_deep.yaml", "64"], FIX_LINE, exit=0,
                 bad_file="too_deep.yaml", files={"@SUITE@/tool_use/too_deep.yaml": deep_case()}),
        BadInput("case file over 2 MB", "case file", [], ["too_big.yaml", "2000000"], FIX_LINE, exit=0,
                 bad_file="too_big.yaml",
                 files={"@SUITE@/tool_use/too_big.yaml": _case("too_big", environment={"files": {"/a": big_file}})}),
        BadInput("invalid regex in final_text_regex (lookaround)", "case file", [],
                 ["bad_regex.yaml:", "success.0"], FIX_LINE, exit=0, bad_file="bad_regex.yaml",
                 files={"@SUITE@/tool_use/bad_regex.yaml": _case("bad_regex",
                                                                 success=[{"final_text_regex": "o(?!k)"}])}),
        BadInput("unbalanced regex in final_text_regex ((a+)", "case file", [], ["bad_regex2.yaml"], FIX_LINE,
                 exit=0, bad_file="bad_regex2.yaml",
                 files={"@SUITE@/tool_use/bad_regex2.yaml": _case("bad_regex2", success=[{"final_text_regex": "(a+"}])},
                 quick=False),
        BadInput("mock template with a Jinja syntax error", "case file", [], ["bad_mock.yaml", "template"],
                 FIX_LINE, exit=0, bad_file="bad_mock.yaml",
                 files={"@SUITE@/tool_use/bad_mock.yaml": _case("bad_mock", environment=_mock("{{ oops(", True))}),
        BadInput("unknown assertion (final_txt_contains)", "case file", [], ["bad_assertion.yaml"], FIX_LINE,
                 exit=0, bad_file="bad_assertion.yaml",
                 files={"@SUITE@/tool_use/bad_assertion.yaml": _case("bad_assertion",
                                                                     success=[{"final_txt_contains": ["ok"]}])}),
        BadInput("duplicate case id", "case file", [], ["duplicate case id", "zz_dupe.yaml"], FIX_LINE, exit=0,
                 bad_file="zz_dupe.yaml",
                 files={"@SUITE@/tool_use/zz_dupe.yaml": _case("tool_use_weather_single_call")}),
        BadInput("case file not UTF-8", "case file", [], ["latin1.yaml"], FIX_LINE, exit=0, bad_file="latin1.yaml",
                 files={"@SUITE@/tool_use/latin1.yaml": _case("latin1", description="caf\u00e9").encode("latin-1")},
                 quick=False),
        BadInput("case file that is a list, not a mapping", "case file", [], ["a_list.yaml"], FIX_LINE, exit=0,
                 bad_file="a_list.yaml", files={"@SUITE@/tool_use/a_list.yaml": "- id: a\n- id: b\n"}, quick=False),
        BadInput(".yml case file (must load and run)", "case file", [], [], [], exit=0, good=len(GOOD_CASES) + 1,
                 files={"@SUITE@/tool_use/yml_case.yml": _case("yml_case")}, check=_yml_loaded),
        # -- import --
        BadInput("invalid JSONL to import", "import", ["import", "jsonl", "@WORK@/bad.jsonl", "--dest",
                                                        "@WORK@/imported"], ["bad.jsonl:2"], FIX_LINE, base="import",
                 files={"@WORK@/bad.jsonl": json.dumps({"id": "a", "messages": "hi", "expected": {"answer": "x"}})
                        + "\n{not json\n"}, check=_nothing_imported),
        BadInput("YAML alias bomb in imported JSON lines", "import",
                 ["import", "jsonl", "@WORK@/bomb.jsonl", "--dest", "@WORK@/imported"], ["bomb.jsonl:1"], FIX_LINE,
                 base="import", files={"@WORK@/bomb.jsonl": alias_bomb_jsonl()}, check=_nothing_imported),
        BadInput("JSON line nesting 70 > 64", "import",
                 ["import", "jsonl", "@WORK@/deep.jsonl", "--dest", "@WORK@/imported"], ["deep.jsonl:1"], FIX_LINE,
                 base="import", files={"@WORK@/deep.jsonl": json.dumps(
                     {"id": "d", "messages": "hi", "expected": {"answer": "x"},
                      "tool_outputs": [{"name": "t", "arguments": {}, "output": _nested(70)}]}) + "\n"},
                 check=_nothing_imported),
        BadInput("JSON line over 2 MB", "import",
                 ["import", "jsonl", "@WORK@/big.jsonl", "--dest", "@WORK@/imported"], ["big.jsonl:1"], FIX_LINE,
                 base="import", files={"@WORK@/big.jsonl": json.dumps(
                     {"id": "b", "messages": "x" * 2_100_000, "expected": {"answer": "x"}}) + "\n"},
                 check=_nothing_imported, quick=False),
        BadInput("JSON line missing `expected`", "import",
                 ["import", "jsonl", "@WORK@/missing.jsonl", "--dest", "@WORK@/imported"], ["missing.jsonl:1",
                                                                                          "expected"], FIX_LINE,
                 base="import", files={"@WORK@/missing.jsonl": json.dumps({"id": "m", "messages": "hi"}) + "\n"},
                 check=_nothing_imported, quick=False),
        # -- a secret on the command line --
        BadInput("secret as +model.params.api_key=... (used, written nowhere)", "secret",
                 ["model.api_key_env=null", f"+model.params.api_key={SECRET}"], ["model.params.api_key"],
                 ["api_key_env"], base="loopback", exit=0, check=_secret_nowhere),
    ]
    return [c for c in classes if not quick or (c.quick and c.name.startswith(QUICK_BAD_INPUTS))]


QUICK_BAD_INPUTS = (
    "unknown group option", "key without +", "override syntax error", "unknown key with +", "wrong type (epochs",
    "filter selects zero", "runtime.outputs is a file", "runtime.outputs unwritable", "absolute evals.files",
    "unset model.api_key_env", "{% include %}", "huge range", "memory-exhausting", "unknown key in a case",
    "YAML alias bomb in a mock", "nesting depth", "case file over 2 MB", "invalid regex", "mock template with",
    ".yml case file", "invalid JSONL", "YAML alias bomb in imported", "secret as",
)
"""The bad-input classes of ``--quick`` (name prefixes): one or more of every kind."""


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def alias_bomb_jsonl() -> str:
    """A "JSON" line written in YAML flow style with anchors: nine levels of nine aliases."""
    levels = ['"a": &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    names = "abcdefghij"
    for prev, name in zip(names, names[1:], strict=False):
        levels.append(f'"{name}": &{name} [' + ",".join([f"*{prev}"] * 9) + "]")
    return '{"id": "bomb", "messages": "hi", "expected": {"answer": "x"}, "tags": [], ' + ", ".join(levels) + "}\n"


def unwritable_path(work: Path) -> Path:
    """A path no run folder can be created under: a read-only folder, or /sys for root (who ignores modes)."""
    if os.geteuid() == 0:
        return Path("/sys/bh_campaign_outputs")
    folder = work / "read_only"
    folder.mkdir(exist_ok=True)
    folder.chmod(0o500)
    return folder / "out"


def _expand(text: str, tokens: dict[str, str]) -> str:
    for token, value in tokens.items():
        text = text.replace(token, value)
    return text


def _base_args(base: Base, tokens: dict[str, str]) -> list[str]:
    common = [f"evals.root={tokens['@SUITE@']}", f"runtime.outputs={tokens['@OUT@']}", "runtime.progress=false"]
    if base == "scripted":
        return ["model=scripted", "roles=scripted", "evals=all", *common]
    if base == "loopback":
        return ["model=vllm", f"model.id={MODEL_ID}", f"model.api_base={tokens['@API@']}",
                f"model.api_key_env={KEY_ENV}", "roles=default", "evals=all", "runtime.retries=0", *common]
    if base == "bare":
        return [f"runtime.outputs={tokens['@OUT@']}", "runtime.progress=false"]
    return []


def run_bad_input(probe: BadInput, work: Path, timeout: float = CLI_TIMEOUT_S) -> BadInputResult:
    """Set up one bad-input class in ``work``, run the CLI, and judge what the user was told."""
    suite = work / "suite"
    write_good_suite(suite)
    server = OpenAIServer().start() if probe.base == "loopback" else None
    tokens = {"@WORK@": str(work), "@SUITE@": str(suite), "@OUT@": str(work / "out"),
              "@API@": server.api_base if server else "", "@UNWRITABLE@": str(unwritable_path(work))}
    try:
        for rel, content in probe.files.items():
            path = Path(_expand(rel, tokens))
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        if probe.base == "loopback":
            write_cases(suite, [echo_case("echo_one")])
        args = [*_base_args(probe.base, tokens), *(_expand(a, tokens) for a in probe.args)]
        if probe.base == "loopback":  # the loopback suite: its own case only
            args = [a for a in args if not a.startswith("evals=")] + ["evals=all", "evals.include_tags=[campaign]"]
        result = run_cli(args, cwd=work, timeout=timeout)
        problems: list[str] = []
        if result.timed_out:
            problems.append(f"no answer within {timeout:g}s (hang)")
        if result.code != probe.exit:
            problems.append(f"exit {result.code}, want {probe.exit}")
        if result.traceback:
            problems.append("traceback on stderr")
        named = all(_expand(n, tokens) in result.stderr for n in probe.names)
        fixed = not probe.fix or any(f in result.stderr for f in probe.fix)
        if not named:
            problems.append("message does not name " + ", ".join(repr(n) for n in probe.names
                                                                  if _expand(n, tokens) not in result.stderr))
        if not fixed:
            problems.append("message gives no fix (" + " / ".join(repr(f) for f in probe.fix) + ")")
        went_on: bool | None = None
        if probe.bad_file is not None or probe.kind == "case file":
            went_on = _went_on(result, work / "out", probe)
            if not went_on:
                problems.append("the run did not go on with the good cases")
        if probe.check is not None:
            problems += probe.check(result, work, server)
    finally:
        if server is not None:
            server.stop()
    return BadInputResult(probe.name, probe.kind, result.code, probe.exit, result.traceback, named, fixed, went_on,
                          not problems, round(result.wall_s, 2),
                          first_error_line(result.stderr) or first_error_line(result.stdout), problems, probe.args)


def _went_on(result: CliResult, outputs: Path, probe: BadInput) -> bool:
    if result.code != 0 or f"correctness 1.00 over {probe.good} cases" not in result.stdout:
        return False
    if probe.bad_file is None:
        return True
    folders = run_folders(outputs)
    report = (folders[0] / "report.md").read_text(encoding="utf-8") if folders else ""
    section = report.split("## Invalid case files", 1)[1] if "## Invalid case files" in report else ""
    return probe.bad_file in section


def run_bad_inputs(classes: Sequence[BadInput], workers: int = 2, keep: bool = False) -> list[BadInputResult]:
    """Run every class (``workers`` at a time), each in its own temporary folder."""

    def one(probe: BadInput) -> BadInputResult:
        with workdir("bad", keep) as work:
            return run_bad_input(probe, work)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, classes))


# ---------------------------------------------------------------------------------------------------------
# 2. kill -9
# ---------------------------------------------------------------------------------------------------------

Trigger = tuple[str, float]
"""When to SIGKILL an attempt: ("time", s after launch), ("requests", n model calls received in this attempt),
("rows", n rows in scores.jsonl), ("more_rows", n rows more than at launch), ("all_rows", 0): every row
written; ("metrics", 0): this attempt wrote metrics.json (the report is written next); ("after_first_call", s):
s seconds after this attempt's first model call reached the server (start-up time does not count)."""


@dataclass
class KillPoint:
    """A kill scenario: one trigger per killed attempt, then a resume that runs to the end."""

    name: str
    triggers: list[Trigger]
    quick: bool = True


@dataclass
class KillResult:
    """Rows after a kill scenario's final resume, against the expected (case, epoch) keys."""

    name: str
    kills: int
    landed: int
    """Kills that hit a running process (the others found it already finished)."""
    rows_at_kills: list[int]
    on_disk_at_kills: list[str]
    resume_exits: list[int | None]
    final_exit: int | None
    status: str | None
    expected: int
    score_rows: int
    trace_rows: int
    lost: int
    duplicated: int
    torn_rows: int
    """Unparseable lines left inside scores.jsonl / traces.jsonl after the final resume."""
    set_aside: int
    """Lines kept aside in ``*.torn`` and ``traces.orphans.jsonl``."""
    model_calls: int
    wall_s: float
    tracebacks: int
    problems: list[str]


KILL_CASES = 8
KILL_EPOCHS = 2
KILL_DELAY_S = 0.8
KILL_CONCURRENCY = 3


def kill_points(quick: bool = False) -> list[KillPoint]:
    """The kill scenarios (a subset with ``quick``)."""
    rng = random.Random(9)
    points = [
        KillPoint("during start-up (0.3 s after launch)", [("time", 0.3)], quick=False),
        KillPoint("before the first row (first model call in flight)", [("requests", 1)], quick=False),
        KillPoint("mid-run, after 3 rows", [("rows", 3)]),
        KillPoint("mid-run, after 10 rows", [("rows", 10)], quick=False),
        KillPoint("after the last row (final metrics/report write)", [("all_rows", 0)]),
        KillPoint("as this run's metrics.json lands (report.md next), 3 runs in a row", [("metrics", 0)] * 3,
                  quick=False),
        KillPoint("repeatedly: after each new row, 6 times", [("more_rows", 1)] * 6, quick=False),
        KillPoint("random moments, 5 times (seed 9: 0-4 s after the attempt's first model call)",
                  [("after_first_call", round(rng.uniform(0.0, 4.0), 2)) for _ in range(5)], quick=False),
    ]
    return [p for p in points if p.quick or not quick]


def count_lines(path: Path) -> int:
    """Newline-terminated lines of a file (0 when it is missing)."""
    try:
        return path.read_bytes().count(b"\n")
    except OSError:
        return 0


@dataclass
class RowCount:
    """The rows of one JSONL file, by (case, epoch) key."""

    rows: int
    unique: int
    torn: int
    keys: set[tuple[str, int]]


def count_rows(path: Path) -> RowCount:
    """Parse a scores/traces file: rows, unique (case, epoch) keys and unparseable lines."""
    keys: list[tuple[str, int]] = []
    torn = 0
    try:
        lines = path.read_bytes().splitlines()
    except OSError:
        lines = []
    for line in lines:
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            keys.append((str(row["case_id"]), int(row.get("epoch", 0))))
        except (ValueError, KeyError, TypeError):
            torn += 1
    return RowCount(len(keys), len(set(keys)), torn, set(keys))


def _since_first_call(server: OpenAIServer, before: int) -> float:
    """Seconds since the first model call after the first ``before`` ones; -1 before it arrived."""
    requests = server.chat_requests
    return time.time() - requests[before].received_at if len(requests) > before else -1.0


def _newer(path: Path, since: float) -> bool:
    try:
        return path.stat().st_mtime >= since
    except OSError:
        return False


def _run_folder(outputs: Path) -> Path | None:
    for folder in run_folders(outputs):
        if (folder / "experiment.json").exists():
            return folder
    return None


def _kill_args(server: OpenAIServer, suite: Path, outputs: Path) -> list[str]:
    return ["model=vllm", f"model.id={MODEL_ID}", f"model.api_base={server.api_base}", f"model.api_key_env={KEY_ENV}",
            "roles=default", "evals=all", f"evals.root={suite}", f"runtime.outputs={outputs}",
            "runtime.progress=false", f"runtime.concurrency={KILL_CONCURRENCY}", f"epochs={KILL_EPOCHS}"]


def _attempt(args: list[str], work: Path, trigger: Trigger, server: OpenAIServer, outputs: Path,
             expected: int, guard_s: float = 90.0) -> tuple[bool, int, str, int | None, str]:
    """Launch the run and SIGKILL it at ``trigger``: (landed, rows at the kill, files on disk, exit, stderr)."""
    folder = _run_folder(outputs)
    rows_before = count_lines(folder / "scores.jsonl") if folder else 0
    requests_before = len(server.chat_requests)
    start, launched = time.monotonic(), time.time()
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(_command(args), cwd=work, env=cli_env(), stdout=subprocess.DEVNULL, stderr=err,
                                stdin=subprocess.DEVNULL, text=True, start_new_session=True)
        kind, value = trigger
        landed = False
        while time.monotonic() - start < guard_s:
            if proc.poll() is not None:
                break
            folder = _run_folder(outputs)
            rows = count_lines(folder / "scores.jsonl") if folder else 0
            fire = ((kind == "time" and time.monotonic() - start >= value)
                    or (kind == "requests" and len(server.chat_requests) - requests_before >= value)
                    or (kind == "rows" and rows >= value)
                    or (kind == "more_rows" and rows >= rows_before + value)
                    or (kind == "all_rows" and rows >= expected)
                    or (kind == "metrics" and folder is not None and _newer(folder / "metrics.json", launched))
                    or (kind == "after_first_call" and _since_first_call(server, requests_before) >= value))
            if fire:
                _kill_group(proc)
                landed = True
                break
            time.sleep(0.002 if kind in ("all_rows", "metrics") else 0.01)
        else:
            _kill_group(proc)  # the guard: a run that neither finished nor reached its trigger
        proc.wait()
        folder = _run_folder(outputs)
        rows = count_lines(folder / "scores.jsonl") if folder else 0
        disk = ",".join(name for name in ("metrics.json", "report.md")
                        if folder is not None and _newer(folder / name, launched)) or "-"
        err.seek(0)
        stderr = err.read()
    return landed, rows, disk, None if landed else proc.returncode, stderr


def run_kill_point(point: KillPoint, work: Path) -> KillResult:
    """Run one kill scenario against a slow loopback server, resume to the end, and count the rows."""
    suite = work / "suite"
    cases = [echo_case(f"kill_{i:02d}") for i in range(KILL_CASES)]
    write_cases(suite, cases)
    outputs = work / "out"
    expected_keys = {(c["id"], e) for c in cases for e in range(KILL_EPOCHS)}
    start = time.perf_counter()
    problems: list[str] = []
    tracebacks = 0
    with OpenAIServer(delay_s=KILL_DELAY_S) as server:
        args = _kill_args(server, suite, outputs)
        rows_at, disk_at, exits = [], [], []
        landed = 0
        for trigger in point.triggers:
            hit, rows, disk, code, stderr = _attempt(args, work, trigger, server, outputs, len(expected_keys))
            tracebacks += TRACEBACK in stderr
            landed += hit
            rows_at.append(rows)
            disk_at.append(disk)
            exits.append(code)
        final = run_cli(args, cwd=work, timeout=CLI_TIMEOUT_S)
        calls = len(server.chat_requests)
    tracebacks += final.traceback
    folder = _run_folder(outputs)
    scores = count_rows(folder / "scores.jsonl") if folder else RowCount(0, 0, 0, set())
    traces = count_rows(folder / "traces.jsonl") if folder else RowCount(0, 0, 0, set())
    aside = sum(count_lines(p) for p in folder.glob("*.torn")) + count_lines(folder / "traces.orphans.jsonl") \
        if folder else 0
    record = read_json(folder / "experiment.json") if folder else None
    lost = max(len(expected_keys - scores.keys), len(expected_keys - traces.keys))
    duplicated = max(scores.rows - scores.unique, traces.rows - traces.unique)
    if final.code != 0:
        problems.append(f"the resume exited {final.code}: {first_error_line(final.stderr)}")
    if lost:
        problems.append(f"{lost} rows lost")
    if duplicated:
        problems.append(f"{duplicated} rows duplicated")
    if scores.torn or traces.torn:
        problems.append(f"{scores.torn + traces.torn} unparseable lines left in the row files")
    if tracebacks:
        problems.append(f"{tracebacks} tracebacks")
    if final.timed_out:
        problems.append("the resume hung")
    return KillResult(point.name, len(point.triggers), landed, rows_at, disk_at, exits, final.code,
                      (record or {}).get("status"), len(expected_keys), scores.rows, traces.rows, lost, duplicated,
                      scores.torn + traces.torn, aside, calls, round(time.perf_counter() - start, 1), tracebacks,
                      problems)


def run_kill_points(points: Sequence[KillPoint], keep: bool = False) -> list[KillResult]:
    """Run the kill scenarios one after another (their timing must not compete for the CPU)."""
    results = []
    for point in points:
        with workdir("kill", keep) as work:
            results.append(run_kill_point(point, work))
    return results


# ---------------------------------------------------------------------------------------------------------
# 3. Provider faults
# ---------------------------------------------------------------------------------------------------------

RawMode = Literal["empty_choices", "bad_json", "drop"]


class FaultServer(OpenAIServer):
    """The loopback server, plus replies its queue cannot express: empty ``choices``, a body that is not
    JSON, a connection dropped without an answer (``raw`` for the next requests, ``raw_always`` for all)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.raw: deque[RawMode] = deque()
        self.raw_always: RawMode | None = None
        self._raw_lock = threading.Lock()

    async def _chat(self, request: web.Request) -> web.Response:
        with self._raw_lock:
            mode = self.raw.popleft() if self.raw else self.raw_always
        if mode is None:
            return await super()._chat(request)
        body = await request.json()
        self._log(request, body)
        if mode == "empty_choices":
            return web.json_response({"id": "chatcmpl-empty", "object": "chat.completion", "created": int(time.time()),
                                      "model": body.get("model"), "choices": [],
                                      "usage": {"prompt_tokens": 1, "completion_tokens": 0, "total_tokens": 1}})
        if mode == "bad_json":
            return web.Response(status=200, text='{"id": "chatcmpl-broken", "choices": [{"message": ',
                                content_type="application/json")
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=200, text="")


Program = Callable[[FaultServer], None]


@dataclass
class Fault:
    """One fault kind: how the server misbehaves, and what the run must do about it.

    ``want_errored`` is the number of rollouts that must be counted as errored (not scored); None
    leaves it unchecked. ``fatal`` faults must stop the run with a message naming the model and a fix.
    """

    name: str
    program: Program
    want_exit: int
    want_errored: int | None = 0
    fatal: bool = False
    overrides: list[str] = field(default_factory=list)
    server: Literal["up", "none", "dies"] = "up"
    cases: int = 3
    tool: bool = True
    want_in_output: str | None = None
    """Text that must appear in stderr, stdout or betterharness.log (what the provider returned, a cap)."""
    quick: bool = True


@dataclass
class FaultResult:
    """What one fault kind produced."""

    name: str
    exit: int | None
    want_exit: int
    status: str | None
    errored_metrics: int | None
    """``overall.errors`` of metrics.json (None: no metrics.json)."""
    errored_rows: int
    scored_rows: int
    scored_failures: int
    """Scored rollouts that failed: an infrastructure fault turned into a model score (cases pass otherwise)."""
    names_model_and_fix: bool | None
    requests: int
    resumed: str | None
    said_in: str | None
    """Where the text the fault must produce was found (``Fault.want_in_output``)."""
    right: bool
    wall_s: float
    message: str
    problems: list[str]


def _fail(status: int, times: int, message: str | None = None, retry_after: float | None = None) -> Program:
    return lambda server: server.fail(status, times=times, message=message, retry_after=retry_after)


def _raw(mode: RawMode, times: int = 1, always: bool = False) -> Program:
    def program(server: FaultServer) -> None:
        if always:
            server.raw_always = mode
        server.raw.extend([mode] * times)

    return program


def _queue(*replies: Reply) -> Program:
    return lambda server: server.queue(*replies)


def fault_kinds(quick: bool = False) -> list[Fault]:
    """Every fault kind of the campaign (a subset with ``quick``)."""
    faults = [
        Fault("401 on every call (refused key)", _fail(401, 100, "Incorrect API key provided"), 3, None, fatal=True),
        Fault("403 on every call (permission denied)", _fail(403, 100, "Permission denied"), 3, None, fatal=True,
              quick=False),
        Fault("404 on every call (unknown model)", _fail(404, 100, "The model `campaign-model` does not exist"), 3,
              None, fatal=True),
        Fault('400 "model not found"', _fail(400, 100, "model 'campaign-model' not found"), 3, None, fatal=True,
              quick=False),
        Fault("400 other bad request (once)", _fail(400, 1, "invalid parameter: temperature"), 0, 1,
              want_in_output="invalid parameter", quick=False),
        Fault("429 without Retry-After (twice)", _fail(429, 2), 0, 0),
        Fault("429 with Retry-After: 1 (once)", _fail(429, 1, retry_after=1), 0, 0, quick=False),
        Fault("429 with Retry-After: 3600, past the 60 s cap (once)", _fail(429, 1, retry_after=3600), 0, 0,
              want_in_output="longer than", quick=False),
        Fault("429 past the retries (3 in a row, retries=2)", _fail(429, 3), 0, 1, quick=False),
        Fault("500 (twice)", _fail(500, 2), 0, 0),
        Fault("503 (twice)", _fail(503, 2), 0, 0, quick=False),
        Fault("empty choices (once)", _raw("empty_choices"), 0, 1, want_in_output="no choices"),
        Fault("empty choices on every call", _raw("empty_choices", always=True), 3, None, fatal=True,
              want_in_output="no choices", quick=False),
        Fault("body that is not JSON (once)", _raw("bad_json"), 0, None, quick=False),
        Fault("connection dropped without an answer (once)", _raw("drop"), 0, 0, quick=False),
        Fault("malformed tool-call arguments (once)", _queue(Reply.tools(("lookup", '{"q": "x",,'))), 0, 0),
        Fault("reply slower than request_timeout_s=2 (once)", _queue(Reply.hang(30)), 0, 0),
        Fault("reply slower than request_timeout_s=2 on every call", lambda s: setattr(s, "delay_s", 30.0), 3,
              None, fatal=True, cases=2, quick=False),
        Fault("connection refused (nothing listening)", lambda s: None, 3, None, fatal=True, server="none"),
        Fault("server dies mid-run (then restarts; resume)", lambda s: None, 3, None, fatal=True, server="dies",
              cases=8),
    ]
    return [f for f in faults if not quick or (f.quick and f.name.startswith(QUICK_FAULTS))]


QUICK_FAULTS = ("401 on every call", "429 without", "500 (twice)", "empty choices (once)", "reply slower than "
                "request_timeout_s=2 (once)", "connection refused")
"""The fault kinds of ``--quick`` (name prefixes)."""


def _fault_args(api_base: str, suite: Path, outputs: Path, fault: Fault) -> list[str]:
    return ["model=vllm", f"model.id={MODEL_ID}", f"model.api_base={api_base}", f"model.api_key_env={KEY_ENV}",
            "roles=default", "evals=all", f"evals.root={suite}", f"runtime.outputs={outputs}", "runtime.progress=false",
            "runtime.concurrency=1", "runtime.retries=2", "runtime.backoff_s=0.2", "runtime.request_timeout_s=2",
            "runtime.cache=false", *fault.overrides]


def _rows(folder: Path | None) -> list[dict[str, Any]]:
    if folder is None or not (folder / "scores.jsonl").exists():
        return []
    rows = []
    for line in (folder / "scores.jsonl").read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            pass
    return rows


def _errored(row: dict[str, Any]) -> bool:
    """errors.is_infrastructure, on a stored score row."""
    return row.get("error_kind") is not None and row.get("error_kind") != "context"


def run_fault(fault: Fault, work: Path) -> FaultResult:
    """Run one fault kind against its own loopback server (or none) and judge the outcome."""
    suite = work / "suite"
    write_cases(suite, [echo_case(f"fault_{i}", tool=fault.tool) for i in range(fault.cases)])
    outputs = work / "out"
    problems: list[str] = []
    resumed: str | None = None
    server: FaultServer | None = None
    if fault.server == "none":
        api_base = f"http://127.0.0.1:{free_port()}/v1"
    else:
        server = FaultServer(delay_s=0.3 if fault.server == "dies" else 0.0)
        server.start()
        fault.program(server)
        api_base = server.api_base
    args = _fault_args(api_base, suite, outputs, fault)
    try:
        if fault.server == "dies" and server is not None:
            result = _run_and_kill_server(args, work, outputs, server)
        else:
            result = run_cli(args, cwd=work)
        requests = len(server.chat_requests) if server is not None else 0
    finally:
        if server is not None:
            server.stop()
    folder = _run_folder(outputs)
    record = read_json(folder / "experiment.json") if folder else None
    metrics = read_json(folder / "metrics.json") if folder else None
    rows = _rows(folder)
    errored = [r for r in rows if _errored(r)]
    scored = [r for r in rows if not _errored(r)]
    failures = [r for r in scored if float(r.get("correctness", 0)) < 1.0]
    log = (folder / "betterharness.log").read_text(encoding="utf-8", errors="replace") \
        if folder and (folder / "betterharness.log").exists() else ""
    names: bool | None = None
    if fault.fatal:
        names = MODEL_ID in result.stderr and "fix:" in result.stderr
        if not names:
            problems.append("the stop message does not name the model and a fix")
        if "correctness" in result.stdout:
            problems.append("printed a correctness figure")
    elif errored:
        last = result.stdout.strip().splitlines()[0] if result.stdout.strip() else ""
        names = MODEL_ID in last and "errored" in last
        if not names:
            problems.append("the final line does not name the model and the errored rollouts")
    if result.timed_out:
        problems.append("hang: the run passed its timeout")
    if result.code != fault.want_exit:
        problems.append(f"exit {result.code}, want {fault.want_exit}")
    if result.traceback:
        problems.append("traceback on stderr")
    if failures:
        problems.append(f"{len(failures)} rollouts scored as model failures: "
                        + "; ".join(str(r.get("error") or r.get("verdicts"))[:120] for r in failures[:2]))
    if fault.want_errored is not None and len(errored) != fault.want_errored:
        problems.append(f"{len(errored)} rollouts errored, want {fault.want_errored}")
    if fault.fatal and record is not None and record.get("status") != "failed":
        problems.append(f"status {record.get('status')!r}, want 'failed'")
    if not fault.fatal and result.code == 0 and len(scored) + len(errored) != fault.cases:
        problems.append(f"{len(scored) + len(errored)} rows for {fault.cases} cases")
    said_in = None
    if fault.want_in_output:
        places = {"stderr": result.stderr, "stdout": result.stdout, "betterharness.log": log,
                  "scores.jsonl": json.dumps(rows), "experiment.json": json.dumps(record or {})}
        said_in = ", ".join(name for name, text in places.items() if fault.want_in_output in text) or None
        if said_in is None:
            problems.append(f"nothing says {fault.want_in_output!r}")
    if fault.server == "dies":
        resumed, more = _resume_after_death(args, work, outputs, api_base, fault.cases)
        problems += more
    wall = result.wall_s
    return FaultResult(fault.name, result.code, fault.want_exit, (record or {}).get("status"),
                       ((metrics or {}).get("overall") or {}).get("errors"), len(errored), len(scored), len(failures),
                       names, requests, resumed, said_in, not problems, round(wall, 1), _message(result), problems)


def _message(result: CliResult) -> str:
    error = first_error_line(result.stderr)
    if error.startswith("error:"):
        return error
    lines = result.stdout.strip().splitlines()
    return (lines[0] if lines else error)[:160]


def _run_and_kill_server(args: list[str], work: Path, outputs: Path, server: FaultServer) -> CliResult:
    """Run, and stop the server once two rows are written."""
    start = time.perf_counter()
    proc = subprocess.Popen(_command(args), cwd=work, env=cli_env(), text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, start_new_session=True)

    def watch() -> None:
        deadline = time.monotonic() + CLI_TIMEOUT_S
        while proc.poll() is None and time.monotonic() < deadline:
            folder = _run_folder(outputs)
            if folder is not None and count_lines(folder / "scores.jsonl") >= 2:
                server.stop()
                return
            time.sleep(0.01)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        out, err = proc.communicate(timeout=CLI_TIMEOUT_S)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, err = proc.communicate()
        code = None
    watcher.join(timeout=5)
    return CliResult(args, code, out, err, time.perf_counter() - start)


def _resume_after_death(args: list[str], work: Path, outputs: Path, api_base: str,
                        cases: int) -> tuple[str, list[str]]:
    """Restart a server on the dead one's port, resume, and check every case has one scored row."""
    port = int(api_base.rsplit(":", 1)[1].split("/", 1)[0])
    with OpenAIServer(port=port):
        again = run_cli(args, cwd=work)
    rows = _rows(_run_folder(outputs))
    scored = [(r["case_id"], r.get("epoch", 0)) for r in rows if not _errored(r)]
    superseded = sum(_errored(r) for r in rows)
    summary = (f"exit {again.code}, {len(set(scored))}/{cases} scored, {len(scored) - len(set(scored))} duplicated, "
               f"{superseded} errored rows kept beside their rerun")
    problems = []
    if again.code != 0 or len(set(scored)) != cases or len(scored) != len(set(scored)):
        problems.append(f"resume after the server came back: {summary}")
    return summary, problems


def run_faults(faults: Sequence[Fault], workers: int = 2, keep: bool = False) -> list[FaultResult]:
    """Run every fault kind, ``workers`` at a time, each with its own server and folder."""

    def one(fault: Fault) -> FaultResult:
        with workdir("fault", keep) as work:
            return run_fault(fault, work)

    ordered = sorted(faults, key=lambda f: "3600" not in f.name)  # the 60 s wait first, beside the others
    with ThreadPoolExecutor(max_workers=workers) as pool:
        done = dict(zip((f.name for f in ordered), pool.map(one, ordered), strict=True))
    return [done[f.name] for f in faults]


# ---------------------------------------------------------------------------------------------------------
# 4. Hang attempts
# ---------------------------------------------------------------------------------------------------------

HANG_WALL_S = 1.0
"""``limits.max_wall_s`` of the scripted hang runs."""
SILENT_WALL_S = 2.0
"""``limits.max_wall_s`` of the run whose model never answers."""
OVERRUN_S = 0.5
"""How far past its limit a case may end before it counts as an overrun (the limit did not fire on time)."""


@dataclass
class HangCase:
    """One hang attempt: a case (scripted agent) and what it tries."""

    case: dict[str, Any]
    attempt: str


@dataclass
class HangRun:
    """How one case of one run ended."""

    wall_s: float | None
    """The case's own wall time (scores.jsonl); None when it never ended."""
    ended: str
    run_exit: int | None
    run_wall_s: float
    timed_out: bool


@dataclass
class HangResult:
    """One hang attempt: run alone, and in one run with every other attempt (and healthy cases) beside it."""

    case_id: str
    attempt: str
    limit_s: float
    alone: HangRun
    together: HangRun | None
    hang: bool
    """The case never ended, or its run passed the CLI timeout."""
    overran: bool
    """The case ended more than OVERRUN_S past its limit (the time limit did not fire on time)."""
    wrong_outcome: bool
    """A case that passes alone but not beside the others (another case's work was billed to it)."""


def _scripted(case_id: str, attempt: str, steps: list[dict[str, Any]], *, files: dict[str, str] | None = None,
              toolsets: list[str] | None = None, tools: list[dict[str, Any]] | None = None,
              success: list[dict[str, Any]] | None = None) -> HangCase:
    environment: dict[str, Any] = {}
    if files:
        environment["files"] = files
    if toolsets:
        environment["toolsets"] = toolsets
    if tools:
        environment["tools"] = tools
    calls = sum(len(step.get("tool_calls", [])) for step in steps)
    case = {"id": case_id, "description": f"Hang attempt: {attempt}.", "tags": ["hang"],
            "input": {"messages": [{"role": "user", "content": "Go."}]}, "environment": environment,
            "success": success or [{"final_text_contains": ["done"]}],
            "ideal": {"steps": len(steps), "tool_calls": calls}, "script": {"agent": steps}}
    return HangCase(case, attempt)


def _call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def _template_tool(source: str) -> list[dict[str, Any]]:
    return [{"name": "render", "description": "Render a report.", "responses": [{"default": source,
                                                                                "template": True}]}]


def hang_cases() -> list[HangCase]:
    """The scripted hang attempts, and one healthy case beside them."""
    long_line = {"/big.txt": "a" * 5000 + "!\n", "/small.txt": "a" * 41 + "!\n"}
    deep = {f"/{'d/' * 12}f{i}.py": "x = 1\n" for i in range(3)}
    done = {"content": "done"}
    return [
        _scripted("hang_grep_redos", "grep `(a+)+$` over a 5,000-character line", [_call("grep", pattern="(a+)+$"),
                                                                                  done],
                  files=long_line, toolsets=["filesystem"]),
        _scripted("hang_grep_redos_count", "grep `(a+)+b` (count mode) over 41 a's", [
            _call("grep", pattern="(a+)+b", output_mode="count"), done], files=long_line, toolsets=["filesystem"]),
        _scripted("hang_glob_deep", "glob with ten `**/` segments over 12-deep files", [
            _call("glob", pattern="**/" * 10 + "*.py"), done], files=deep, toolsets=["filesystem"]),
        _scripted("hang_glob_braces", "glob with a brace bomb {a,b} x 12 (4,096 patterns)", [
            _call("glob", pattern="{a,b}" * 12), done], files=deep, toolsets=["filesystem"]),
        _scripted("hang_grep_glob_filter", "grep whose file filter has ten `**/` segments", [
            _call("grep", pattern="x", glob="**/" * 10 + "*.py"), done], files=deep, toolsets=["filesystem"]),
        _scripted("hang_mock_pow", "mock template `{{ 9**(9**8) }}`", [_call("render"), done],
                  tools=_template_tool("{{ 9**(9**8) }}")),
        _scripted("hang_mock_range", "mock template: nested range(100000) loops (10^10 iterations)",
                  [_call("render"), done],
                  tools=_template_tool("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}"
                                       "{% endfor %}")),
        _scripted("hang_mock_huge_range", "mock template `{{ range(10**9) | list }}`", [_call("render"), done],
                  tools=_template_tool("{{ range(10**9) | list | length }}")),
        _scripted("hang_mock_memory", "mock template `{{ 'x' * 10**9 }}`", [_call("render"), done],
                  tools=_template_tool("{{ 'x' * 10**9 }}")),
        _scripted("hang_case_regex", "the case's own final_text_regex `(a+)+$` over 5,000 a's",
                  [{"content": "a" * 5000 + "!"}], success=[{"final_text_regex": "(a+)+$"}]),
        _scripted("ok_bystander_grep", "healthy: one ordinary grep, beside the others", [
            _call("grep", pattern="a+!"), done], files=long_line, toolsets=["filesystem"]),
        _scripted("ok_bystander_answer", "healthy: answers at once, beside the others", [done]),
    ]


def _scripted_args(suite: Path, outputs: Path, concurrency: int) -> list[str]:
    return ["model=scripted", "roles=scripted", "evals=all", f"evals.root={suite}", f"runtime.outputs={outputs}",
            "runtime.progress=false", "runtime.cache=false", f"limits.max_wall_s={HANG_WALL_S:g}",
            f"runtime.concurrency={concurrency}"]


def _ended(rows: dict[str, dict[str, Any]], case_id: str, run: CliResult) -> HangRun:
    row = rows.get(case_id)
    if row is None:
        ended = "never (no row)"
    elif row.get("error"):
        ended = f"error: {str(row['error'])[:80]}"
    else:
        failed = [v.get("detail") or v.get("assertion") for v in row.get("verdicts", []) if not v.get("passed")]
        ended = "passed" if not failed else f"failed: {str(failed[0])[:80]}"
    wall = round(float(row["wall_s"]), 3) if row is not None else None
    return HangRun(wall, ended, run.code, round(run.wall_s, 1), run.timed_out)


def run_hangs(work: Path) -> list[HangResult]:
    """Run each scripted hang attempt alone (two runs at a time), then all of them in one run with healthy
    cases beside them, then a model that never answers; time every case."""
    cases = hang_cases()

    def by_itself(item: HangCase) -> HangRun:
        case_id = item.case["id"]
        suite, outputs = work / f"alone_{case_id}", work / f"alone_{case_id}_out"
        write_cases(suite, [item.case])
        run = run_cli(_scripted_args(suite, outputs, 1), cwd=work)
        return _ended({r["case_id"]: r for r in _rows(_run_folder(outputs))}, case_id, run)

    with ThreadPoolExecutor(max_workers=2) as pool:
        alone = dict(zip((c.case["id"] for c in cases), pool.map(by_itself, cases), strict=True))
    suite, outputs = work / "together", work / "together_out"
    write_cases(suite, [c.case for c in cases])
    run = run_cli(_scripted_args(suite, outputs, len(cases)), cwd=work)
    rows = {r["case_id"]: r for r in _rows(_run_folder(outputs))}
    results = [_judge(item.case["id"], item.attempt, HANG_WALL_S, alone[item.case["id"]],
                      _ended(rows, item.case["id"], run)) for item in cases]
    silent = [echo_case(f"silent_model_{i}") for i in range(2)]
    write_cases(work / "silent", silent)
    with OpenAIServer() as server:
        server.policy = lambda body: Reply.hang(600)
        args = ["model=vllm", f"model.id={MODEL_ID}", f"model.api_base={server.api_base}",
                f"model.api_key_env={KEY_ENV}", "roles=default", "evals=all", f"evals.root={work / 'silent'}",
                f"runtime.outputs={work / 'silent_out'}", "runtime.progress=false", "runtime.retries=0",
                "runtime.request_timeout_s=300", f"limits.max_wall_s={SILENT_WALL_S:g}", "runtime.concurrency=2"]
        run = run_cli(args, cwd=work)
    rows = {r["case_id"]: r for r in _rows(_run_folder(work / "silent_out"))}
    results += [_judge(c["id"], "the model never answers (request_timeout_s=300)", SILENT_WALL_S,
                       _ended(rows, c["id"], run), None) for c in silent]
    return results


def _judge(case_id: str, attempt: str, limit: float, alone: HangRun, together: HangRun | None) -> HangResult:
    runs = [r for r in (alone, together) if r is not None]
    hang = any(r.timed_out or r.wall_s is None for r in runs)
    overran = any(r.wall_s is not None and r.wall_s > limit + OVERRUN_S for r in runs)
    wrong = alone.ended == "passed" and together is not None and together.ended != "passed"
    return HangResult(case_id, attempt, limit, alone, together, hang, overran, wrong)


# ---------------------------------------------------------------------------------------------------------
# The campaign and its report
# ---------------------------------------------------------------------------------------------------------


@dataclass
class Campaign:
    """Every figure of one campaign run."""

    mode: str
    started_at: str
    bad_inputs: list[BadInputResult] = field(default_factory=list)
    kills: list[KillResult] = field(default_factory=list)
    faults: list[FaultResult] = field(default_factory=list)
    hangs: list[HangResult] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    load: list[float] = field(default_factory=list)
    """The 1-minute load average at the start and at the end (other work on the machine slows every figure)."""

    def shortfalls(self) -> list[str]:
        """Every way the campaign missed its aim; empty when every class is clear, 0 lost, 0 duplicated, 0 hangs."""
        found = [f"bad input `{r.name}`: {'; '.join(r.problems)}" for r in self.bad_inputs if not r.clear]
        found += [f"kill point `{r.name}`: {'; '.join(r.problems)}" for r in self.kills if r.problems]
        found += [f"fault `{r.name}`: {'; '.join(r.problems)}" for r in self.faults if not r.right]
        for r in self.hangs:
            if r.hang or r.overran or r.wrong_outcome:
                what = "hung" if r.hang else "overran its limit" if r.overran else "wrong outcome"
                together = (f"; beside the others {r.together.wall_s}s, {r.together.ended}"
                            if r.together is not None else "")
                found.append(f"hang attempt `{r.case_id}` ({r.attempt}) {what}: limit {r.limit_s:g}s; alone "
                             f"{r.alone.wall_s}s, {r.alone.ended}{together}")
        return found

    def aim_met(self) -> bool:
        """True when nothing fell short."""
        return not self.shortfalls()


def run_campaign(quick: bool = False, sections: Sequence[str] = ("bad", "kill", "fault", "hang"),
                 keep: bool = False, log: Callable[[str], None] = print) -> Campaign:
    """Run the chosen sections of the campaign (quick: the subset) and return its figures."""
    campaign = Campaign("quick" if quick else "full", dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                        load=[round(os.getloadavg()[0], 2)])
    if "bad" in sections:
        start = time.perf_counter()
        campaign.bad_inputs = run_bad_inputs(bad_input_classes(quick), keep=keep)
        campaign.seconds["bad input"] = round(time.perf_counter() - start, 1)
        clear = sum(r.clear for r in campaign.bad_inputs)
        log(f"bad input: {clear}/{len(campaign.bad_inputs)} clear ({campaign.seconds['bad input']} s)")
    if "kill" in sections:
        start = time.perf_counter()
        campaign.kills = run_kill_points(kill_points(quick), keep=keep)
        campaign.seconds["kill -9"] = round(time.perf_counter() - start, 1)
        log(f"kill -9: {len(campaign.kills)} points, {sum(r.lost for r in campaign.kills)} lost, "
            f"{sum(r.duplicated for r in campaign.kills)} duplicated ({campaign.seconds['kill -9']} s)")
    if "fault" in sections:
        start = time.perf_counter()
        campaign.faults = run_faults(fault_kinds(quick), keep=keep)
        campaign.seconds["faults"] = round(time.perf_counter() - start, 1)
        log(f"faults: {sum(r.right for r in campaign.faults)}/{len(campaign.faults)} right "
            f"({campaign.seconds['faults']} s)")
    if "hang" in sections:
        start = time.perf_counter()
        with workdir("hang", keep) as work:
            campaign.hangs = run_hangs(work)
        campaign.seconds["hangs"] = round(time.perf_counter() - start, 1)
        log(f"hangs: {sum(r.hang for r in campaign.hangs)} of {len(campaign.hangs)} attempts hung, "
            f"{sum(r.overran for r in campaign.hangs)} overran their limit ({campaign.seconds['hangs']} s)")
    campaign.seconds["total"] = round(sum(campaign.seconds.values()), 1)
    campaign.load.append(round(os.getloadavg()[0], 2))
    return campaign


def _cell(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    text = str(value).replace("|", "\\|").replace("\n", " ")
    return text


def _flag(bad: bool) -> str:
    """A cell for a defect flag: **yes** when it happened."""
    return "**yes**" if bad else "no"


def _table(header: list[str], rows: list[list[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines


def _git() -> tuple[str, list[str]]:
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True,
                               timeout=10).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return "unknown", []
    return sha or "unknown", [line[3:] for line in dirty]


def render_markdown(campaign: Campaign) -> str:
    """The results note: machine facts, the four tables, and what fell short."""
    sha, dirty = _git()
    bad, kills, faults, hangs = campaign.bad_inputs, campaign.kills, campaign.faults, campaign.hangs
    lines = [
        "# Hardening campaign (issue 9, item 10)", "",
        f"Run {campaign.started_at} ({campaign.mode} mode) on {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}; commit {sha}"
        + (f" with uncommitted changes to {', '.join(dirty)}" if dirty else "")
        + f"; 1-minute load average {' → '.join(map(str, campaign.load))} (other work on the machine).",
        "Produced by `python -m benchmarks.hardening_campaign" + (" --quick" if campaign.mode == "quick" else "")
        + "` (benchmarks/hardening_campaign.py): every probe is a real `python -m betterharness` subprocess with a "
          "timeout, `BH_OFFLINE=1`, on the scripted model or the loopback server of tests/fixtures/openai_server.py "
          "(127.0.0.1).", "",
        "## Summary", "",
        *_table(["section", "tried", "aim", "result", "seconds"], [
            ["bad input classes", len(bad), "every class clear", f"{sum(r.clear for r in bad)} clear",
             campaign.seconds.get("bad input")],
            ["kill -9 points", f"{len(kills)} ({sum(r.kills for r in kills)} kills)", "0 lost, 0 duplicated",
             f"{sum(r.lost for r in kills)} lost, {sum(r.duplicated for r in kills)} duplicated",
             campaign.seconds.get("kill -9")],
            ["fault kinds", len(faults), "right outcome", f"{sum(r.right for r in faults)} right",
             campaign.seconds.get("faults")],
            ["hang attempts", len(hangs), "0 hangs (every limit on time)",
             f"{sum(r.hang for r in hangs)} hangs, {sum(r.overran for r in hangs)} overran their limit, "
             f"{sum(r.wrong_outcome for r in hangs)} cases that pass alone failed beside them",
             campaign.seconds.get("hangs")],
        ]), "", f"Whole campaign: {campaign.seconds.get('total')} s.", "",
    ]
    if bad:
        lines += ["## 1. Bad input", "",
                  "Clear = the exit code wanted (2 for a config error; 0 for a bad case file among good ones, which "
                  "is skipped), no traceback, the message names the file or key, it gives a fix, and a skipped "
                  "case file leaves the run going (the good cases scored, the file listed in report.md).", "",
                  *_table(["#", "class", "kind", "exit (want)", "no traceback", "names file/key", "fix",
                           "run went on", "clear", "s", "first line the user reads"],
                          [[i, r.name, r.kind, f"{r.exit} ({r.want_exit})", not r.traceback, r.named, r.fix,
                            r.went_on, r.clear, r.wall_s, f"`{r.message}`" if r.message else ""]
                           for i, r in enumerate(bad, 1)]), ""]
    if kills:
        lines += ["## 2. kill -9", "",
                  f"{KILL_CASES} cases x {KILL_EPOCHS} epochs = {KILL_CASES * KILL_EPOCHS} rollouts, concurrency "
                  f"{KILL_CONCURRENCY}, loopback server answering after {KILL_DELAY_S} s, rollout cache on. Each "
                  "kill is SIGKILL of the process group; the same command then resumes (one more run to the end). "
                  "Lost = (case, epoch) keys missing from scores.jsonl or traces.jsonl; duplicated = rows beyond "
                  "the unique keys. Model calls counts what the server answered over all attempts (the minimum is "
                  f"{KILL_CASES * KILL_EPOCHS}; the rest is work in flight at a kill, redone). "
                  "\"Written by the killed attempt\" lists metrics.json / report.md when that attempt wrote them "
                  "before the kill. A kill between one "
                  "rollout's trace line and its score line is a window of microseconds no outside trigger can aim "
                  "at: the repeated and random kills sample it, and tests/store/test_store.py covers it directly.",
                  "",
                  *_table(["point", "kills (landed)", "rows at each kill", "written by the killed attempt",
                           "final exit", "status",
                           "score rows", "trace rows", "lost", "duplicated", "torn left", "set aside", "model calls",
                           "s"],
                          [[r.name, f"{r.kills} ({r.landed})", ", ".join(map(str, r.rows_at_kills)),
                            "; ".join(r.on_disk_at_kills), r.final_exit, r.status,
                            f"{r.score_rows}/{r.expected}", f"{r.trace_rows}/{r.expected}", r.lost, r.duplicated,
                            r.torn_rows, r.set_aside, r.model_calls, r.wall_s] for r in kills]), ""]
    if faults:
        lines += ["## 3. Provider faults", "",
                  "3 cases (each a tool call, then the answer) on the loopback server; runtime.retries=2, "
                  "backoff_s=0.2, request_timeout_s=2, concurrency 1, cache off. Every case passes when the model "
                  "answers, so a scored failure is an infrastructure fault turned into a model score. Right = the "
                  "exit wanted, no scored failure, the errored count wanted, a stop message naming the model and "
                  "a fix (fatal faults) or a final line naming the errored rollouts, and no traceback.", "",
                  *_table(["fault", "exit (want)", "status", "errored (metrics.json)", "errored rows",
                           "scored rows", "scored failures", "names model + fix", "requests", "reported in",
                           "right", "s", "message"],
                          [[r.name + (f" — resume: {r.resumed}" if r.resumed else ""), f"{r.exit} ({r.want_exit})",
                            r.status, r.errored_metrics, r.errored_rows, r.scored_rows, r.scored_failures,
                            r.names_model_and_fix, r.requests, r.said_in, r.right, r.wall_s, f"`{r.message}`"]
                           for r in faults]), ""]
    if hangs:
        lines += ["## 4. Hang attempts", "",
                  f"Each scripted attempt runs alone, then all of them in one run (every case in flight at once) "
                  f"beside two healthy cases (`ok_*`); limits.max_wall_s={HANG_WALL_S:g} in both. The silent model "
                  f"runs apart (limits.max_wall_s={SILENT_WALL_S:g}, request_timeout_s=300). Wall = the case's own "
                  f"time from scores.jsonl. Hang = the case never ended or its run passed the {CLI_TIMEOUT_S:g} s "
                  f"timeout; overran = it ended more than {OVERRUN_S:g} s past its limit (the limit did not fire "
                  "on time); wrong outcome = a case that passes alone did not pass beside the others.", "",
                  *_table(["case", "attempt", "limit s", "alone: wall s", "alone: ended", "beside others: wall s",
                           "beside others: ended", "run wall s (alone / together)", "hang", "overran",
                           "wrong outcome"],
                          [[r.case_id, r.attempt, r.limit_s, r.alone.wall_s, r.alone.ended,
                            r.together.wall_s if r.together else None, r.together.ended if r.together else None,
                            f"{r.alone.run_wall_s} / {r.together.run_wall_s if r.together else '–'}",
                            _flag(r.hang), _flag(r.overran), _flag(r.wrong_outcome)] for r in hangs]), ""]
    shortfalls = campaign.shortfalls()
    lines += ["## What fell short", ""]
    lines += [f"- {s}" for s in shortfalls] if shortfalls else ["Nothing: every class clear, 0 lost, 0 duplicated, "
                                                                "0 hangs, every fault right."]
    return "\n".join(lines) + "\n"


NOTES = "## Notes"
"""A section of the results note written by hand (what the figures mean); a re-run keeps it at the end."""


def write_results(campaign: Campaign, out: Path) -> tuple[Path, Path]:
    """Write the markdown note (keeping its hand-written ``## Notes``) and the JSON figures beside it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    previous = out.read_text(encoding="utf-8") if out.exists() else ""
    notes = previous[previous.index(NOTES):] if NOTES in previous else ""
    out.write_text(render_markdown(campaign) + ("\n" + notes if notes else ""), encoding="utf-8")
    data = asdict(campaign)
    data["shortfalls"] = campaign.shortfalls()
    data["aim_met"] = campaign.aim_met()
    target = out.with_suffix(".json")
    target.write_text(json.dumps(data, indent=1, default=str) + "\n", encoding="utf-8")
    return out, target


def main(argv: Sequence[str] | None = None) -> int:
    """Run the campaign; write the results; exit 1 when the aim was missed."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.hardening_campaign",
                                     description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a subset, under ~3 minutes")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the markdown note (JSON beside it)")
    parser.add_argument("--sections", default="bad,kill,fault,hang", help="comma-separated: bad,kill,fault,hang")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders (for debugging)")
    args = parser.parse_args(argv)
    campaign = run_campaign(args.quick, args.sections.split(","), args.keep)
    md, js = write_results(campaign, args.out)
    for line in campaign.shortfalls():
        print(f"  short: {line}")
    print(f"wrote {md} and {js} ({campaign.seconds.get('total')} s)")
    return 0 if campaign.aim_met() else 1


if __name__ == "__main__":
    raise SystemExit(main())
