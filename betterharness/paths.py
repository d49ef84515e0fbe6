"""Where the shipped config, harness templates and eval cases live (checkout or installed wheel)."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


JUDGE_PROMPT = "judge.md.j2"
"""The LLM judge's prompt template, in ``prompts/``."""
USER_PROMPT = "user.md.j2"
"""The simulated user's prompt template, in ``prompts/``."""

CHECKOUT = (PACKAGE_DIR.parent / "pyproject.toml").is_file()
"""True when running from a source checkout (editable install), where data lives beside the package."""


def _first_existing(checkout: Path, packaged: Path) -> Path:
    if CHECKOUT and checkout.is_dir():
        return checkout
    return packaged if packaged.is_dir() else checkout


def conf_dir() -> Path:
    """The Hydra config directory: the checkout's ``conf/`` first, else the copy inside the wheel."""
    return _first_existing(PACKAGE_DIR.parent / "conf", PACKAGE_DIR / "conf")


def templates_dir() -> Path:
    """The directory holding harness template sets (``harness_templates/<set>/``)."""
    return _first_existing(PACKAGE_DIR.parent / "harness_templates", PACKAGE_DIR / "harness_templates")


def evals_dir() -> Path:
    """The directory holding the shipped eval cases (``evals/<category>/*.yaml``)."""
    return _first_existing(PACKAGE_DIR.parent / "evals", PACKAGE_DIR / "evals_data")


def shipped_suite(name: str) -> Path:
    """A shipped case folder other than ``evals/`` (e.g. ``evals_learnable``), in the checkout or the wheel."""
    return _first_existing(PACKAGE_DIR.parent / name, PACKAGE_DIR / name)


def prompts_dir() -> Path:
    """The directory of user-editable prompt templates (judge, simulated user, proposer)."""
    return _first_existing(PACKAGE_DIR.parent / "prompts", PACKAGE_DIR / "prompts")
