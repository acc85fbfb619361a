"""npu-exporter's main(): the order of checks and log lines of cmd/npu-exporter/main.go (MindCluster v7.3.0).

Every early stop returns exit status 0, as the real main() does (it logs and returns); only the Go flag package
exits 2. The callers named with each log line are the file:line of the real statements.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import TextIO

from . import build_version, container_procs
from .collector import MetricsCache
from .dcmi import NO_CARD, DcmiError, Driver, LibraryMissing
from .goflag import FlagExit
from .hwlog import HwlogError, RunLog, init_run_logger
from .metric_config import load_groups
from .options import PROMETHEUS, TELEGRAF, Options, check_listen, check_others, parse
from .server import ExporterServer, go_listen_error

_LISTEN_ON = "npu-exporter/main.go:274"
_PARAM_INVALID = "npu-exporter/main.go:188"
_COLLECTOR_FAILED = "npu-exporter/main.go:126"
_STARTING = "npu-exporter/main.go:129"
_LISTEN_FAILED = "npu-exporter/main.go:222"
_UNSAFE_HTTP = "npu-exporter/main.go:471"
_RESET_TIMEOUT = "devmanager/devmanager.go:128"
_DCMI_FAILED = "devmanager/devmanager.go:131"
_CARD_LIST = "devmanager/devmanager.go:136"
_CARD_RETRY = "devmanager/devmanager.go:144"
_CARD_MISMATCH = "devmanager/devmanager.go:155"
_DCMI_VERSION = "devmanager/devmanager.go:165"
_CHIP_NAME = "devmanager/devmanager.go:229"
_NO_CARD = "devmanager/devmanager.go:256"
_CARD_LIST_ERROR = "devmanager/devmanager.go:272"
_RETRY_SECONDS = 10
_MANAGER_NIL = (
    "device Manager is nil, may encounter an exception during initialization. You can check the system log to confirm"
)


def _card_ids(driver: Driver) -> list[int]:
    try:
        return sorted({chip.card_id for chip in driver.chips()})
    except DcmiError:
        return []


def _open_driver(options: Options, log: RunLog, environ: dict[str, str] | None, stderr: TextIO,
                 clock: Callable[[], float], sleep: Callable[[float], None]) -> Driver | None:
    """devmanager.AutoInit: load dcmi and wait (up to -deviceResetTimeout) for the driver to report cards; None,
    after the real log lines, when that fails."""
    timeout = options["deviceResetTimeout"]
    log.info(_RESET_TIMEOUT, f"get card list from dcmi reset timeout is {timeout}")
    try:
        # -containerMode docker: the exporter reads the docker socket (mounted in by the documented deployment).
        socket = container_procs.DOCKER_SOCKET if options["containerMode"] == "docker" else None
        driver = Driver.open(environ, socket if socket and os.path.exists(socket) else None)
    except DcmiError as exc:
        if isinstance(exc, LibraryMissing):
            # The `ldconfig --print-cache | grep libdcmi.so` fallback: grep exits 1, Go's standard logger says so.
            stderr.write(f"{datetime.fromtimestamp(clock()).strftime('%Y/%m/%d %H:%M:%S')} "
                         "command exec failed, exit status 1\n")
            stderr.flush()
        log.error(_DCMI_FAILED, f"deviceManager init failed, prepare dcmi failed, err: {exc}")
        log.error(_COLLECTOR_FAILED, "new npu collector failed, error is auto init failed, "
                                     f"err: get chip info failed, err: {_MANAGER_NIL}")
        return None
    cards = _wait_for_cards(driver, timeout, log, sleep)
    log.info(_DCMI_VERSION, f"the dcmi version is {driver.dcmi_version()}")
    if not cards:
        log.error(_CARD_LIST_ERROR, NO_CARD)
        log.error(_NO_CARD, "get card list failed for init")
        log.error(_COLLECTOR_FAILED, "new npu collector failed, error is auto init failed, err: get card list failed "
                                     "for init")
        return None
    node = driver.twin.load_node()
    dev_type = "Ascend910A3" if node.get("layout") == "a3" else "Ascend910B"
    log.info(_CHIP_NAME, f"chipName: {driver.chips()[0].model_name.split('-')[0]}, devType: {dev_type}")
    return driver


def _wait_for_cards(driver: Driver, timeout: int, log: RunLog, sleep: Callable[[float], None]) -> list[int]:
    """GetDeviceManager's loop: ask for the card list every 10 s until it answers or the timeout has passed."""
    elapsed, attempt, delay = 0, 0, _RETRY_SECONDS
    while elapsed <= timeout:
        cards = _card_ids(driver)
        if cards:
            log.info(_CARD_LIST, f"deviceManager get cardList is [{' '.join(map(str, cards))}], "
                                 f"cardList length equal to cardNum: {len(cards)}")
            return cards
        if timeout - elapsed > 0:
            delay = min(_RETRY_SECONDS, timeout - elapsed)
        attempt += 1
        log.warn(_CARD_RETRY, f"deviceManager get card list failed (attempt {attempt}), cardNum=-1, cardList=[], "
                              f"err: {NO_CARD}")
        if elapsed + delay <= timeout:
            sleep(delay)
            elapsed += delay
            continue
        log.warn(_CARD_MISMATCH, "deviceManager get cardList is [], but cardNum is -1, please check whether the real "
                                 "number of npu matches the cardList")
        elapsed += delay
    return []


def main(argv: list[str] | None = None, environ: dict[str, str] | None = None, stdout: TextIO | None = None,
         stderr: TextIO | None = None, clock: Callable[[], float] = time.time, program: str | None = None,
         sleep: Callable[[float], None] = time.sleep) -> int:
    """The command; `program` is what Go's usage calls os.Args[0]."""
    argv = sys.argv[1:] if argv is None else argv
    stdout = sys.stdout if stdout is None else stdout
    stderr = sys.stderr if stderr is None else stderr
    try:
        options = parse(argv, program or sys.argv[0], stderr)
    except FlagExit as exc:
        return exc.code
    if options["version"]:
        stdout.write(f"NPU-exporter version: {build_version()} \n")
        return 0
    platform_name = options["platform"]
    if platform_name not in (PROMETHEUS, TELEGRAF):
        stderr.write(f"platform is not supported:{platform_name}")
        return 0
    if platform_name == TELEGRAF:
        stderr.write("the twin's npu-exporter serves Prometheus only; -platform=Telegraf is not simulated\n")
        return 1
    try:
        log = init_run_logger(options["logFile"], options["logLevel"], options["maxBackups"], options["maxAge"],
                              stdout, clock)
    except HwlogError as exc:
        stdout.write(f"hwlog init failed, error is {exc}\n")
        stderr.write(str(exc))
        return 0
    problem = check_listen(options)
    if problem is None:
        log.info(_LISTEN_ON, f"listen on: {options['ip']}")
        problem = check_others(options)
    if problem is not None:
        log.error(_PARAM_INVALID, problem)
        return 0
    driver = _open_driver(options, log, environ, stderr, clock, sleep)
    if driver is None:
        return 0
    log.info(_STARTING, f"npu exporter starting and the version is {build_version()}")
    return serve(options, driver, log, clock)


def serve(options: Options, driver: Driver, log: RunLog, clock: Callable[[], float]) -> int:
    cache = MetricsCache(driver, options["updateTime"], load_groups(log), build_version(), log, clock)
    cache.start()
    ip, port = options["ip"], options["port"]
    try:
        server = ExporterServer((ip, port), cache, log, port)
    except OSError as exc:
        log.error(_LISTEN_FAILED, f"listen ip and port error: {go_listen_error(ip, port, exc)}")
        return 0
    # Like the Go binary, die by the signal on SIGINT instead of raising KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    stop = threading.Event()
    threading.Thread(target=cache.run_forever, args=(stop,), name="collect", daemon=True).start()
    log.warn(_UNSAFE_HTTP, "enable unsafe http server")
    try:
        server.serve_forever()
    finally:
        stop.set()
        server.server_close()
    return 0
