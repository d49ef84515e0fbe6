"""The house rules that keep the data flow one-way: no cycles, registries by name, one suite load per run."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest
from hydra import compose, initialize_config_dir

from betterharness.errors import BHError
from betterharness.registry import Registry

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "betterharness"


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), i.e. import cycles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on.add(module)
        for other in graph.find_modules_directly_imported_by(module):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = []
            while True:
                item = stack.pop()
                on.discard(item)
                group.append(item)
                if item == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_no_import_cycles_not_even_inside_functions() -> None:
    assert _cycles(grimp.build_graph("betterharness")) == []


def test_the_layers_contract_holds_and_can_fail(tmp_path: Path) -> None:
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint, "import-linter is part of the test extra"
    kept = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True)
    assert kept.returncode == 0, kept.stdout
    copy = tmp_path / "repo"
    shutil.copytree(PACKAGE, copy / "betterharness")
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    with (copy / "betterharness" / "evals" / "split.py").open("a") as f:
        f.write("\n\ndef _backwards() -> None:\n    from betterharness.runner import run_rollouts  # noqa: F401\n")
    broken = subprocess.run([lint], cwd=copy, capture_output=True, text=True,
                            env={"PYTHONPATH": str(copy), "PATH": str(Path(sys.executable).parent)})
    assert broken.returncode != 0 and "betterharness.evals.split -> betterharness.runner" in broken.stdout


def test_no_orchestration_code_names_a_provider() -> None:
    orchestration = [PACKAGE / "runner.py", PACKAGE / "cli" / "run.py", *(PACKAGE / "optimize").glob("*.py"),
                     *(PACKAGE / "agent").glob("*.py")]
    for path in orchestration:
        text = path.read_text(encoding="utf-8")
        for name in ('"scripted"', "models.scripted", "models.local", "models.embedded", "provider_of", '"local"'):
            assert name not in text, (path, name)


def test_every_package_states_its_public_api() -> None:
    for init in PACKAGE.rglob("__init__.py"):
        text = init.read_text(encoding="utf-8")
        assert text.startswith('"""'), init
        if init.parent != PACKAGE:
            assert "__all__" in text, f"{init} lists no public API"


def test_registration_is_lazy_and_an_unknown_name_lists_the_choices() -> None:
    things: Registry[object] = Registry("thing", key="thing")
    things.lazy("later", "betterharness_no_such_module:thing")  # registering imports nothing
    things.register("now", 42)
    assert things.get("now") == 42 and things.names() == ["later", "now"]
    with pytest.raises(BHError) as info:
        things.get("nwo")
    assert info.value.allowed == ["later", "now"] and "did you mean 'now'" in str(info.value.fix)
    with pytest.raises(BHError, match="cannot be imported"):
        things.get("later")


def test_start_up_imports_no_heavy_library() -> None:
    probe = ("import sys, betterharness.cli.run, betterharness.runner, betterharness.optimize.loop; "
             "print(sorted(m for m in ('litellm', 'xllamacpp', 'langsmith') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "[]", out.stderr


def test_the_suite_is_loaded_once_per_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from betterharness.cli.run import run_experiment
    from betterharness.config.load import load_config
    from betterharness.evals import load
    from betterharness.experiment import prepare
    from betterharness.paths import conf_dir

    calls = []
    original = load.load_all

    def counting(*args: object, **kwargs: object) -> load.CaseSet:
        calls.append(args)
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(load, "load_all", counting)
    for optimizer in ("none", "hillclimb"):
        calls.clear()
        overrides = ["model=scripted", "roles=scripted", "evals=tool_use", f"optimizer={optimizer}",
                     f"runtime.outputs={tmp_path / optimizer}"]
        overrides += ["optimizer.budget.max_iterations=0"] if optimizer != "none" else []
        with initialize_config_dir(version_base="1.3", config_dir=str(conf_dir())):
            cfg = compose("config", overrides=overrides)
        assert run_experiment(prepare(load_config(cfg))).exists()
        assert len(calls) == 1, optimizer
