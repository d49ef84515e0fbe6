"""A validated config with its identity: the output folder, its provenance and its status."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from betterharness.config.identity import HASH_VERSION, config_hash, input_digests
from betterharness.config.schema import ExperimentConfig
from betterharness.store import write_json, write_text

PACKAGES = ("betterharness", "hydra-core", "omegaconf", "pydantic", "litellm", "jinja2", "xllamacpp", "langsmith")
SWEEP_ENV = "BH_SWEEP_ID"


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


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Experiment:
    """One experiment's folder ``outputs/<hash>/`` and its ``experiment.json``."""

    def __init__(self, config: ExperimentConfig, folder: Path, *, hash: str | None = None,
                 choices: dict[str, str] | None = None, overrides: list[str] | None = None) -> None:
        self.config = config
        self.folder = folder
        self.choices = choices or {}
        self.overrides = overrides or []
        self.hash = hash or config_hash(config.model_dump(mode="json"))
        """The identity: Hydra's ``${bh_id:}`` of the composed config when run from the CLI."""
        self.path = folder / "experiment.json"
        self.record: dict[str, Any] = {}

    def start(self, extra: dict[str, Any] | None = None) -> None:
        """Write the resolved config and ``experiment.json`` (status running; start time kept on resume)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        previous: dict[str, Any] = {}
        if self.path.exists():
            import json

            try:
                previous = json.loads(self.path.read_text(encoding="utf-8"))
            except ValueError:
                previous = {}
        dump = self.config.model_dump(mode="json")
        write_text(self.folder / "config.yaml", yaml.safe_dump(dump, sort_keys=False))
        self.record = {
            "name": self.config.name,
            "hash": self.hash,
            "hash_version": HASH_VERSION,
            "status": "running",
            "config": dump,
            "choices": self.choices,
            "overrides": self.overrides,
            "inputs": input_digests(dump),
            "packages": package_versions(),
            "git_sha": git_sha(Path.cwd()),
            "sweep_id": os.environ.get(SWEEP_ENV),
            "started_at": previous.get("started_at", _now()),
            "resumed_at": _now() if previous else None,
            "ended_at": None,
            **(extra or {}),
        }
        write_json(self.path, self.record)

    def finish(self, status: str = "complete", **extra: Any) -> None:
        """Mark the experiment ended."""
        self.record.update(status=status, ended_at=_now(), **extra)
        write_json(self.path, self.record)


def discard_if_empty(folder: Path) -> None:
    """Remove an output folder that holds nothing but Hydra's bookkeeping (after a config error)."""
    if not folder.is_dir():
        return
    leftovers = [p for p in folder.iterdir() if p.name not in (".hydra", "betterharness.log")]
    if not leftovers:
        shutil.rmtree(folder, ignore_errors=True)
