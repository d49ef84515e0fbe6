"""Every file betterharness writes: run folders (rollouts, versions, state, reports) and the shared cache.

Each file carries a format version (``store/format.py``); an old file is read or refused with a message.
"""

from betterharness.store.cache import RolloutCache
from betterharness.store.folder import RunFolder, runs_under
from betterharness.store.format import FORMAT_VERSION, StoreError, read_jsonl
from betterharness.store.latency import LatencyBook
from betterharness.store.rollouts import RolloutKey, RolloutStore
from betterharness.store.versions import VersionStore

__all__ = ["FORMAT_VERSION", "LatencyBook", "RolloutCache", "RolloutKey", "RolloutStore", "RunFolder",
           "StoreError", "VersionStore", "read_jsonl", "runs_under"]
