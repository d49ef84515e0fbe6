"""Eval case files -> validated EvalCase list, filtered by tags, tiers, ids and status."""

from __future__ import annotations

import fnmatch
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import ValidationError

from betterharness.config.schema import EvalsConfig
from betterharness.errors import CaseError, ConfigError
from betterharness.evals.case import EvalCase
from betterharness.evals.yaml_lines import YAMLLimit, line_of, load_with_nodes
from betterharness.paths import evals_dir, shipped_suite


def _located(path: Path, line: int | None) -> str:
    return f"{path}:{line}" if line else str(path)


class _Invalid(CaseError):
    """A case that failed validation, before its location is known."""

    def located(self, file: str, fix: str) -> CaseError:
        """The same error, naming where it is and how to fix it."""
        return CaseError(self.problem, file=file, key=self.key, value=self.value, allowed=self.allowed, fix=fix)


def first_error(exc: ValidationError) -> tuple[list[str | int], _Invalid]:
    """The first pydantic error of a case as (location, error without a file): key, value, allowed values."""
    error = exc.errors()[0]
    loc = [p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
    allowed = None
    if error["type"] == "extra_forbidden":
        allowed = "see evals/schema.json"
    elif error.get("ctx", {}).get("expected"):
        allowed = error["ctx"]["expected"]
    value = error.get("input")
    return loc, _Invalid(f"invalid case: {error['msg']}", key=".".join(map(str, loc)) or "(top level)",
                         value=None if isinstance(value, dict | list) else value, allowed=allowed)


def load_case_file(path: Path) -> EvalCase:
    """Load and validate one case file; raise CaseError naming the file, line, key and fix."""
    try:
        text = path.read_text(encoding="utf-8")
        data, node = load_with_nodes(text)
    except YAMLLimit as exc:
        raise CaseError(f"case file refused: {exc}", file=_located(path, exc.line),
                        fix="write the values out instead of repeating anchors (&a / *a), or split the case") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise CaseError(
            f"malformed YAML: {getattr(exc, 'problem', None) or exc}",
            file=_located(path, line),
            fix="fix the YAML syntax at that line (indentation, a missing colon or quote)",
        ) from None
    except OSError as exc:
        raise CaseError(f"cannot read case file: {exc.strerror}", file=path) from None
    except UnicodeDecodeError:
        raise CaseError("case file is not UTF-8 text", file=path, fix="save the file as UTF-8") from None
    if not isinstance(data, dict):
        raise CaseError("a case file holds one mapping (id, description, tags, ...)", file=path,
                        fix="see evals/schema.json for the fields")
    try:
        return EvalCase.model_validate(data)
    except ValidationError as exc:
        loc, error = first_error(exc)
        raise error.located(_located(path, line_of(node, loc)),
                            "edit the case file; `python -m betterharness catalog` validates every case") from None


@dataclass
class CaseSet:
    """The cases that loaded, and the errors of the files that did not (they never stop a run)."""

    cases: list[EvalCase] = field(default_factory=list)
    errors: list[CaseError] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)
    """Case id -> the file it came from."""

    def tags(self) -> list[str]:
        """Every tag used by the loaded cases."""
        return sorted({tag for case in self.cases for tag in case.tags})


def case_root(config: EvalsConfig) -> Path:
    """The directory the config's case globs are relative to: the shipped ``evals/`` when ``root`` is null; a
    bare folder name that is not in the working directory names a shipped suite (``evals_learnable``)."""
    if not config.root:
        return evals_dir()
    root = Path(config.root).expanduser()
    if not root.is_absolute() and not root.exists() and "/" not in config.root:
        shipped = shipped_suite(config.root)
        if shipped.is_dir():
            return shipped
    return root


def load_all(root: Path, patterns: list[str] | None = None) -> CaseSet:
    """Load every case file under ``root``; invalid files and duplicate ids become errors."""
    found: dict[Path, None] = {}
    for pattern in patterns or ["**/*.yaml"]:
        if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
            raise ConfigError(f"evals.files pattern {pattern!r} leaves evals.root", key="evals.files", value=pattern,
                              fix="globs are relative to evals.root: set evals.root to the folder and the glob "
                                  "inside it, e.g. evals.root=/data/cases evals.files=['**/*.yaml']")
        variants = [pattern, pattern[: -len(".yaml")] + ".yml"] if pattern.endswith(".yaml") else [pattern]
        for variant in variants:  # a .yml case file is a case file too
            for path in sorted(root.glob(variant)):
                if path.is_file() and path.suffix in (".yaml", ".yml"):
                    found[path] = None
    result = CaseSet()
    for path in found:
        try:
            case = load_case_file(path)
        except CaseError as exc:
            result.errors.append(exc)
            continue
        if case.id in result.files:
            result.errors.append(
                CaseError(
                    f"duplicate case id {case.id!r}", file=path, key="id", value=case.id,
                    fix=f"ids are unique across the suite; {result.files[case.id]} already uses it",
                )
            )
            continue
        result.files[case.id] = path
        result.cases.append(case)
    return result


def select(cases: CaseSet, config: EvalsConfig) -> CaseSet:
    """Filter by status, tags, tiers, ids and the per-tag limit; an unknown tag is a ConfigError."""
    known = set(cases.tags())
    for key, tags in (("evals.include_tags", config.include_tags), ("evals.exclude_tags", config.exclude_tags)):
        unknown = [t for t in tags if t not in known]
        if unknown:
            raise ConfigError(
                f"unknown tag {unknown[0]!r}: no case under {case_root(config)} has it",
                key=key, value=unknown[0], allowed=sorted(known),
                fix=f"pick a tag that exists, e.g. {key}=[{sorted(known)[0] if known else 'tool_use'}]",
            )
    kept: list[EvalCase] = []
    per_tag: dict[str, int] = defaultdict(int)
    for case in sorted(cases.cases, key=lambda c: c.id):
        if case.status not in config.include_status or case.tier not in config.tiers:
            continue
        if config.include_tags and not set(case.tags) & set(config.include_tags):
            continue
        if set(case.tags) & set(config.exclude_tags):
            continue
        if config.ids and not any(fnmatch.fnmatchcase(case.id, p) for p in config.ids):
            continue
        if config.limit is not None:
            if per_tag[case.category] >= config.limit:
                continue
            per_tag[case.category] += 1
        kept.append(case)
    return CaseSet(cases=kept, errors=cases.errors, files={c.id: cases.files[c.id] for c in kept})


def why_none(cases: CaseSet, config: EvalsConfig) -> ConfigError:
    """The error for a selection that kept no case: which filter matched nothing (or that only their mix did)."""
    root = case_root(config)
    if not cases.cases:
        return ConfigError(f"no valid case file under {root}", key="evals.root", value=str(root),
                           fix="point evals.root at a folder of case YAML files (see evals/ for examples)")
    filters = [
        ("evals.include_status", config.include_status, lambda c: c.status in config.include_status),
        ("evals.tiers", config.tiers, lambda c: c.tier in config.tiers),
        ("evals.include_tags", config.include_tags,
         lambda c: not config.include_tags or bool(set(c.tags) & set(config.include_tags))),
        ("evals.exclude_tags", config.exclude_tags, lambda c: not set(c.tags) & set(config.exclude_tags)),
        ("evals.ids", config.ids, lambda c: not config.ids or any(fnmatch.fnmatchcase(c.id, p) for p in config.ids)),
    ]
    for key, value, keeps in filters:
        if not any(keeps(c) for c in cases.cases):
            return ConfigError(f"{key} matches none of the {len(cases.cases)} cases under {root}", key=key,
                               value=value,
                               fix=f"widen {key}, or run `python -m betterharness catalog` to see the cases")
    return ConfigError(f"no case passes every filter at once ({len(cases.cases)} cases under {root})", key="evals",
                       value={k: v for k, v, _ in filters if v}, fix="widen one of the evals.* filters")


def load_cases(config: EvalsConfig) -> CaseSet:
    """Load the suite the config points at and keep the selected cases."""
    root = case_root(config)
    if not root.is_dir():
        raise ConfigError(f"eval directory {root} does not exist", key="evals.root", value=config.root,
                          fix="point evals.root at a folder of case YAML files, or null for the shipped suite")
    loaded = load_all(root, config.files)
    selected = select(loaded, config)
    if not selected.cases:
        raise why_none(loaded, config)
    return selected
