"""Composed DictConfig -> validated ExperimentConfig, with errors that point at the YAML file."""

from __future__ import annotations

import difflib
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException
from pydantic import BaseModel, ValidationError

from betterharness.config.schema import ExperimentConfig
from betterharness.errors import ConfigError
from betterharness.paths import conf_dir

GROUPS = ("model", "roles", "evals", "split", "optimizer", "review", "harness", "runtime")


def _model_at(path: Sequence[str | int]) -> type[BaseModel] | None:
    """The pydantic model that holds the field at ``path`` (for listing allowed keys)."""
    model: type[BaseModel] = ExperimentConfig
    for part in path[:-1]:
        if isinstance(part, int) or part not in model.model_fields:
            return None
        annotation = model.model_fields[part].annotation
        candidates = [annotation, *typing.get_args(annotation)]
        nested = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if nested is None:
            return None
        model = nested
    return model


def _source_of(key: str, choices: Mapping[str, str], overrides: Sequence[str]) -> str:
    """Where a dotted key was set: the command line, a group's option file, or the primary config."""
    matches = [o for o in overrides if (name := o.lstrip("+~").split("=", 1)[0]) == key or key.startswith(name + ".")]
    if matches:
        return f"the command line ({max(matches, key=lambda o: len(o.split('=', 1)[0]))})"
    group = key.split(".", 1)[0]
    if group in choices and choices[group]:
        return str(conf_dir() / group / f"{choices[group]}.yaml")
    return str(conf_dir() / "config.yaml")


def validate_config(
    container: Mapping[str, Any],
    choices: Mapping[str, str] | None = None,
    overrides: Sequence[str] = (),
) -> ExperimentConfig:
    """Validate a resolved config mapping; raise ConfigError naming file, key, value and fix."""
    try:
        return ExperimentConfig.model_validate(dict(container))
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = [str(p) for p in error["loc"]]
        key = ".".join(loc)
        value = error.get("input")
        allowed: list[str] | str | None = None
        fix = f"correct `{key}` in that file, or override it: python -m betterharness {key}=<value>"
        if error["type"] == "extra_forbidden":
            parent = _model_at(loc)
            fields = sorted(parent.model_fields) if parent else []
            allowed = fields
            close = difflib.get_close_matches(loc[-1], fields, n=1)
            hint = f"did you mean `{'.'.join([*loc[:-1], close[0]])}`? " if close else ""
            fix = f"{hint}remove or rename the key `{key}`"
            problem = f"unknown config key `{key}`"
        else:
            expected = (error.get("ctx") or {}).get("expected")
            allowed = expected if expected else None
            problem = f"bad value for `{key}`: {error['msg']}"
        raise ConfigError(
            problem,
            file=_source_of(key, choices or {}, overrides),
            key=key,
            value=value if not isinstance(value, dict) else None,
            allowed=allowed,
            fix=fix,
        ) from exc


def load_config(cfg: DictConfig, choices: Mapping[str, str] | None = None, overrides: Sequence[str] = ()) -> (
    ExperimentConfig
):
    """Resolve ``cfg`` (without its ``hydra`` node) and validate it."""
    try:
        container = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None)
        raise ConfigError(f"the config does not resolve: {str(exc).splitlines()[0]}", key=key,
                          file=_source_of(key, choices or {}, overrides) if key else None,
                          fix="set the missing value (key=value) or fix the ${...} interpolation") from None
    assert isinstance(container, dict)
    container.pop("hydra", None)
    return validate_config({str(k): v for k, v in container.items()}, choices, overrides)
