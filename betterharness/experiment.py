"""An experiment, prepared once per run: the validated config, its cases, its harness and its identity.

The identity (the output folder's name) is a hash of everything that changes results and nothing else:
the composed config without ``runtime`` and ``name``, the content of the *selected* cases, the harness
version, and the prompt templates this run actually uses. Cases are loaded here once, and every later
stage receives them.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from betterharness.config.schema import ExperimentConfig
from betterharness.digest import canonical_json, digest_files, digest_of, sha256_hex
from betterharness.errors import ConfigError
from betterharness.evals.case import EvalCase
from betterharness.evals.load import CaseSet, load_cases
from betterharness.harness.templates import Harness, load_harness
from betterharness.paths import JUDGE_PROMPT, USER_PROMPT, prompts_dir
from betterharness.secrets import redact, redact_override

HASH_VERSION = 3
NOT_HASHED = ("runtime", "name")
"""Top-level config keys that never change results."""
OPTIMIZE_ONLY = ("optimizer", "review", "split")
"""Top-level config keys that change only an optimize run's results (a plain run never reads them)."""
PACKAGES = ("betterharness", "hydra-core", "omegaconf", "pydantic", "litellm", "jinja2", "xllamacpp", "langsmith")


def prompts_used(config: ExperimentConfig, cases: Sequence[EvalCase]) -> list[str]:
    """The prompt templates (under ``prompts/``) that can shape this run's results."""
    used = sorted({prompt for case in cases for a in case.success for prompt in a.prompts})
    if any(case.input.user is not None and case.input.user.replies is None for case in cases):
        used.append(USER_PROMPT)
    if config.optimizer.name != "none":
        used.append(config.optimizer.proposer_template)
    return used


def roles_used(config: ExperimentConfig, cases: Sequence[EvalCase]) -> list[str]:
    """The model roles this run calls: the agent, and the judge, simulated user and proposer when needed."""
    prompts = set(prompts_used(config, cases))
    used = ["agent"]
    used += ["judge"] if JUDGE_PROMPT in prompts else []
    used += ["user"] if USER_PROMPT in prompts else []
    used += ["proposer"] if config.optimizer.name != "none" else []
    return used


def check_keys(config: ExperimentConfig, cases: Sequence[EvalCase]) -> None:
    """Stop before anything is written when a role this run calls names an ``api_key_env`` that is unset."""
    for role in roles_used(config, cases):
        env = config.role(role).api_key_env  # type: ignore[arg-type]
        if env and not os.environ.get(env):
            raise ConfigError(f"the {role} model's key variable {env} is not set",
                              key="model.api_key_env" if role == "agent" else f"roles.{role}.api_key_env",
                              value=env, fix=f"export {env}=<your key>, or point api_key_env at the variable "
                                             "holding it")


def input_digests(config: ExperimentConfig, cases: Sequence[EvalCase], harness: Harness) -> dict[str, str]:
    """Digests of the selected cases, the harness version and the prompts the run uses."""
    return {
        "evals": digest_of([case.model_dump(mode="json") for case in cases]),
        "harness": harness.hash,
        "prompts": digest_files(prompts_dir(), prompts_used(config, cases)),
    }


def hashed_config(dumped: dict[str, Any]) -> dict[str, Any]:
    """The part of a (redacted, JSON-dumped) config that can change results: never the runtime or the name,
    and for a plain run (``optimizer.name: none``) not the optimizer, review or split settings either, so
    a new optimizer key does not change every plain run's identity."""
    plain = (dumped.get("optimizer") or {}).get("name") == "none"
    return {k: v for k, v in dumped.items() if k not in NOT_HASHED and not (plain and k in OPTIMIZE_ONLY)}


def identity(config: ExperimentConfig, cases: Sequence[EvalCase], harness: Harness) -> str:
    """The 12-hex-digit identity of an experiment (runtime settings excluded)."""
    hashed = hashed_config(redact(config.model_dump(mode="json")))
    payload = {"v": HASH_VERSION, "config": hashed, "inputs": input_digests(config, cases, harness)}
    return sha256_hex(canonical_json(payload))[:12]


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages that shape results."""
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_sha(cwd: Path) -> str | None:
    """The git commit of ``cwd``'s checkout, with ``-dirty`` when it has changes; None outside git."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5)
        if sha.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=cwd, capture_output=True, text=True, timeout=5)
        return sha.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


@dataclass(frozen=True)
class Experiment:
    """One experiment: what it runs, on what, and where its results go (``<outputs>/<hash>/``)."""

    config: ExperimentConfig
    cases: CaseSet
    harness: Harness
    hash: str
    folder: Path
    inputs: dict[str, str] = field(default_factory=dict)
    choices: dict[str, str] = field(default_factory=dict)
    overrides: list[str] = field(default_factory=list)

    def provenance(self) -> dict[str, Any]:
        """What ``experiment.json`` records besides the status: config, identity, inputs, packages, git."""
        return {
            "name": self.config.name,
            "hash": self.hash,
            "hash_version": HASH_VERSION,
            "config": redact(self.config.model_dump(mode="json")),
            "choices": self.choices,
            "overrides": [redact_override(o) for o in self.overrides],
            "inputs": self.inputs,
            "packages": package_versions(),
            "git_sha": git_sha(Path.cwd()),
            "cases": [case.id for case in self.cases.cases],
            "harness_hash": self.harness.hash,
            "invalid_cases": [error.render() for error in self.cases.errors],
        }


def prepare(config: ExperimentConfig, choices: dict[str, str] | None = None,
            overrides: Sequence[str] = ()) -> Experiment:
    """Load the cases (once) and the harness, and name the experiment by its identity."""
    cases = load_cases(config.evals)
    harness = load_harness(config.harness)
    digest = identity(config, cases.cases, harness)
    return Experiment(config=config, cases=cases, harness=harness, hash=digest,
                      folder=Path(config.runtime.outputs) / digest,
                      inputs=input_digests(config, cases.cases, harness), choices=dict(choices or {}),
                      overrides=list(overrides))
