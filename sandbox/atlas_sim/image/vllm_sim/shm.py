"""Shared memory the engine needs for the images in flight, against the container's /dev/shm.

Sources (docs/field-failures.md, row 2): vllm-ascend #3513 and PR #3519: with Docker's default 64 MB /dev/shm the
EngineCore process may core-dump when the load is high; the API server then reports only that the engine core died.
No source gives the load at which 64 MB gives out. The simulator's assumption, documented there: each image
request keeps its decoded pixels (width x height x 3 bytes) in /dev/shm while it is in flight, and the engine dies
when what is held would not fit.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

# Tests point this at a directory standing in for /dev/shm; containers never set it.
SHM_DIR_ENV = "VLLM_SIM_SHM_DIR"


def capacity_bytes() -> int:
    path = os.environ.get(SHM_DIR_ENV) or "/dev/shm"
    try:
        stats = os.statvfs(path)
    except OSError:
        return 0
    return stats.f_blocks * stats.f_frsize


class Ledger:
    """Bytes held in shared memory by the requests in flight; `on_full` runs when a hold does not fit."""

    def __init__(self, capacity: int, on_full: Callable[[], None]) -> None:
        self.capacity = capacity
        self.on_full = on_full
        self.held = 0
        self._lock = threading.Lock()

    def hold(self, nbytes: int) -> None:
        if nbytes <= 0 or self.capacity <= 0:
            return
        with self._lock:
            self.held += nbytes
            full = self.held > self.capacity
        if full:
            self.on_full()

    def release(self, nbytes: int) -> None:
        if nbytes <= 0 or self.capacity <= 0:
            return
        with self._lock:
            self.held -= nbytes


def image_bytes(sizes: list[tuple[str, int, int]]) -> int:
    return sum(width * height * 3 for _fmt, width, height in sizes)


_LEDGER: Ledger | None = None


def install(on_full: Callable[[], None]) -> Ledger:
    global _LEDGER
    _LEDGER = Ledger(capacity_bytes(), on_full)
    return _LEDGER


def hold(nbytes: int) -> None:
    if _LEDGER is not None:
        _LEDGER.hold(nbytes)


def release(nbytes: int) -> None:
    if _LEDGER is not None:
        _LEDGER.release(nbytes)
