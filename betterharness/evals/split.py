"""Per-tag stratified split into optimization, holdout and sealed test sets, deterministic from the seed."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, Field

from betterharness.config.schema import SplitConfig
from betterharness.errors import ConfigError
from betterharness.evals.case import EvalCase

SplitName = Literal["optimization", "holdout", "test"]
SPLITS: tuple[SplitName, ...] = ("optimization", "holdout", "test")


class Split(BaseModel):
    """Case ids per split, and the per-tag breakdown that proves every tag is on both sides."""

    seed: int
    optimization: list[str] = Field(default_factory=list)
    holdout: list[str] = Field(default_factory=list)
    test: list[str] = Field(default_factory=list)
    by_tag: dict[str, dict[str, list[str]]] = Field(default_factory=dict)

    def ids(self, name: SplitName) -> list[str]:
        """The case ids of split ``name``."""
        return list(getattr(self, name))

    def of(self, name: SplitName, cases: Sequence[EvalCase]) -> list[EvalCase]:
        """The cases of split ``name`` from ``cases``, in id order."""
        wanted = set(self.ids(name))
        return [c for c in cases if c.id in wanted]


def _order(case_id: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}:{case_id}".encode()).hexdigest()


def _counts(n: int, config: SplitConfig) -> tuple[int, int, int]:
    test = round(n * config.test) if config.test else 0
    if config.test and test == 0 and n >= 3:
        test = 1
    rest = n - test
    optimization = max(1, min(rest - 1, round(n * config.optimization)))
    return optimization, rest - optimization, test


def stratum(case: EvalCase, selected: Sequence[str] = ()) -> str:
    """The tag a case is split under: its first tag among the selected ones, else its first tag."""
    return next((tag for tag in case.tags if tag in selected), case.category)


def split_cases(cases: Sequence[EvalCase], config: SplitConfig, selected: Sequence[str] = ()) -> Split:
    """Split each tag's cases; every tag lands in both optimization and holdout.

    A case is stratified by its first tag among ``selected`` (the run's ``evals.include_tags``), else by
    its first tag. Within a tag, cases are ordered by sha256(seed:id), so the split depends only on the
    ids and the seed, never on file order.
    """
    groups: dict[str, list[EvalCase]] = defaultdict(list)
    for case in cases:
        groups[stratum(case, selected) if config.stratify_by_tag else "all"].append(case)
    need = 3 if config.test else 2
    split = Split(seed=config.seed)
    for tag, members in sorted(groups.items()):
        if len(members) < need:
            raise ConfigError(
                f"tag {tag!r} has {len(members)} case(s); a split needs at least {need} per tag "
                f"(one per {'optimization, holdout and test' if config.test else 'optimization and holdout'})",
                key="evals", value=tag,
                fix=f"add cases tagged {tag}, drop the tag (evals.exclude_tags=[{tag}]), or set split.test=0",
            )
        ordered = sorted(members, key=lambda c: _order(c.id, config.seed))
        n_opt, n_hold, _ = _counts(len(ordered), config)
        parts = {"optimization": ordered[:n_opt], "holdout": ordered[n_opt:n_opt + n_hold],
                 "test": ordered[n_opt + n_hold:]}
        split.by_tag[tag] = {name: sorted(c.id for c in part) for name, part in parts.items()}
        for name, part in parts.items():
            getattr(split, name).extend(c.id for c in part)
    for name in SPLITS:
        getattr(split, name).sort()
    return split
