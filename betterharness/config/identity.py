"""The experiment's identity: a hash of everything that changes results, and nothing else."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from betterharness.paths import evals_dir, prompts_dir, templates_dir

HASH_VERSION = 1
NOT_HASHED = ("hydra", "runtime", "name")


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def digest_tree(root: Path, pattern: str = "**/*") -> str:
    """sha256 over the relative paths and bytes of every file under ``root`` matching ``pattern``."""
    sha = hashlib.sha256()
    if root.is_dir():
        for path in sorted(p for p in root.glob(pattern) if p.is_file()):
            sha.update(path.relative_to(root).as_posix().encode())
            sha.update(b"\0")
            sha.update(path.read_bytes())
    return sha.hexdigest()


def cases_digest(evals: dict[str, Any]) -> str:
    """sha256 of the selected cases' content, so unrelated case files (mined drafts, imports) never
    change an experiment's identity; falls back to every file under the root when selection fails."""
    from betterharness.config.schema import EvalsConfig
    from betterharness.evals.load import load_cases

    try:
        config = EvalsConfig.model_validate(evals)
        selected = load_cases(config)
    except Exception:  # noqa: BLE001 - the run itself reports the bad config; the hash must not fail
        root = Path(evals["root"]) if evals.get("root") else evals_dir()
        return digest_tree(root, "**/*.yaml")
    payload = [[case.model_dump(mode="json") for case in selected.cases], [e.render() for e in selected.errors]]
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


def input_digests(config: dict[str, Any]) -> dict[str, str]:
    """Digests of the selected eval cases, the harness templates and the prompt templates."""
    harness = config.get("harness") or {}
    template_root = Path(harness["dir"]) if harness.get("dir") else templates_dir()
    return {
        "evals": cases_digest(config.get("evals") or {}),
        "harness": digest_tree(template_root / str(harness.get("name", "default"))),
        "prompts": digest_tree(prompts_dir()),
    }


def config_hash(config: dict[str, Any]) -> str:
    """The 12-hex-digit identity of a resolved config mapping (runtime settings excluded)."""
    hashed = {k: v for k, v in config.items() if k not in NOT_HASHED}
    payload = {"v": HASH_VERSION, "config": hashed, "inputs": input_digests(config)}
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()[:12]


def _bh_id(*, _root_: DictConfig) -> str:
    masked = OmegaConf.masked_copy(_root_, [k for k in _root_.keys() if k not in NOT_HASHED])
    try:
        container = OmegaConf.to_container(masked, resolve=True)
    except Exception:  # noqa: BLE001 - a bad interpolation is reported by the app, not by Hydra's dir resolver
        container = OmegaConf.to_container(masked, resolve=False)
    assert isinstance(container, dict)
    return config_hash({str(k): v for k, v in container.items()})


def register_resolvers() -> None:
    """Register ``${bh_id:}`` (the output folder name); safe to call more than once."""
    OmegaConf.register_new_resolver("bh_id", _bh_id, replace=True)
