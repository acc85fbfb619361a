"""The exporter's cache: what a scrape sees is the last collection, never a fresh driver query.

As in MindCluster v7.3.0 (collector/common/npu_collector.go): the chip list is read at start and every 60 s; every
metric is collected at start and then every -updateTime seconds (a Go ticker: ticks keep their phase and are
dropped, not queued, when late); cached readings expire 100 s after they were taken. A fault in the node therefore
shows within one update interval, and a chip that disappears keeps its place (reading unhealthy) until the next chip
list refresh.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from . import metrics
from .dcmi import Chip, DcmiError, Driver, Reading
from .hwlog import RunLog
from .textformat import render

CHIP_LIST_SECONDS = 60.0
CACHE_SECONDS = 100.0
CHIP_LIST_KEY = "npu-exporter-npu-list"
_CHIP_LIST_START_CALLER = "common/npu_collector.go:234"
_CHIP_LIST_UPDATED_CALLER = "common/npu_collector.go:244"
_CHIP_LIST_FAILED_CALLER = "common/npu_collector.go:260"
# A goroutine id for the collection loop's log lines; real ids are small numbers like this one.
_COLLECT_GOROUTINE = 41


class _Ticker:
    """time.Ticker's schedule: due at start + k * interval; a late reader gets one tick and the phase is kept."""

    def __init__(self, start: float, interval: float) -> None:
        self.interval = interval
        self.next_due = start + interval

    def take(self, now: float) -> bool:
        if now < self.next_due:
            return False
        missed = int((now - self.next_due) // self.interval)
        self.next_due += (missed + 1) * self.interval
        return True


class MetricsCache:
    def __init__(self, driver: Driver, update_seconds: float, groups: set[str], build_version: str,
                 log: RunLog | None = None, clock: Callable[[], float] = time.time) -> None:
        self.driver = driver
        self.update_seconds = float(update_seconds)
        self.groups = groups
        self.build_version = build_version
        self.log = log
        self.clock = clock
        self.chips: list[Chip] = []
        self.readings: list[Reading] = []
        self._lock = threading.Lock()
        self._collect_ticker: _Ticker | None = None
        self._list_ticker: _Ticker | None = None

    def start(self) -> None:
        """The first chip list and the first collection, both at once, before the server answers."""
        now = self.clock()
        self._refresh_chip_list()
        self._collect(now)
        self._list_ticker = _Ticker(now, CHIP_LIST_SECONDS)
        self._collect_ticker = _Ticker(now, self.update_seconds)

    def tick(self) -> bool:
        """Do whatever is due now; True when a collection ran."""
        if self._collect_ticker is None or self._list_ticker is None:
            self.start()
            return True
        now = self.clock()
        if self._list_ticker.take(now):
            self._refresh_chip_list()
        if self._collect_ticker.take(now):
            self._collect(now)
            return True
        return False

    def seconds_to_next(self) -> float:
        if self._collect_ticker is None or self._list_ticker is None:
            return 0.0
        due = min(self._collect_ticker.next_due, self._list_ticker.next_due)
        return max(0.0, due - self.clock())

    def _refresh_chip_list(self) -> None:
        if self.log:
            self.log.info(_CHIP_LIST_START_CALLER, "start to collect npu chip list info", _COLLECT_GOROUTINE)
        try:
            chips = self.driver.chips()
        except DcmiError as exc:
            # The chip list goes empty; every chip's series goes with it, machine_npu_nums reads 0.
            if self.log:
                self.log.error(_CHIP_LIST_FAILED_CALLER, f"failed to get npu info, error is: {exc}", _COLLECT_GOROUTINE)
            chips = []
        with self._lock:
            self.chips = chips
        if self.log:
            self.log.info(_CHIP_LIST_UPDATED_CALLER, f"update Cache,key is {CHIP_LIST_KEY}", _COLLECT_GOROUTINE)

    def _collect(self, now: float) -> None:
        with self._lock:
            chips = list(self.chips)
        readings = self.driver.read(chips, int(now * 1000))
        with self._lock:
            self.readings = readings

    def text(self) -> str:
        """The /metrics body from the cache as it stands."""
        expired_before = int((self.clock() - CACHE_SECONDS) * 1000)
        with self._lock:
            chips = list(self.chips)
            fresh = [r for r in self.readings if r.timestamp_ms >= expired_before]
        return render(metrics.families(chips, fresh, self.groups, self.build_version))

    def run_forever(self, stop: threading.Event) -> None:
        """The collection loop of the server process (the tests call tick() with their own clock instead)."""
        while not stop.wait(self.seconds_to_next()):
            self.tick()
