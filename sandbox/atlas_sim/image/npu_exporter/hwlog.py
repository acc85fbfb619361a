"""The exporter's run log (MindCluster's hwlog): the same lines on stdout and in -logFile.

A line reads `[INFO]     2026/01/08 20:30:48.123456 1       npu-exporter/main.go:129    message`: the level padded to
11 characters, Go's log date with microseconds, the goroutine id padded to 8, the caller as `dir/file.go:line` of the
real source, four spaces, then the message (newlines become spaces, at most 1024 characters). The callers passed in
are the file:line of the MindCluster v7.3.0 statements that print each line.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TextIO

DEBUG, INFO, WARN, ERROR, CRITICAL = -1, 0, 1, 2, 3
_PREFIX = {DEBUG: "[DEBUG]    ", INFO: "[INFO]     ", WARN: "[WARN]     ", ERROR: "[ERROR]    ",
           CRITICAL: "[Critical] "}
MAX_LINE = 1024
INIT_CALLER = "hwlog/api.go:108"


class HwlogError(Exception):
    """The logger refused its configuration; str() is hwlog's message."""


def go_log_time(epoch: float) -> str:
    """Go's log.Ldate|log.Lmicroseconds stamp in local time."""
    return datetime.fromtimestamp(epoch).strftime("%Y/%m/%d %H:%M:%S.%f")


class RunLog:
    def __init__(self, level: int, stdout: TextIO, log_file: Path | None, clock: Callable[[], float] = time.time):
        self.level = level
        self.stdout = stdout
        self.log_file = log_file
        self.clock = clock
        self._lock = threading.Lock()

    def line(self, level: int, caller: str, message: str, goroutine: int = 1) -> None:
        if level < self.level:
            return
        text = message.replace("\r", " ").replace("\n", " ")[:MAX_LINE]
        line = f"{_PREFIX[level]}{go_log_time(self.clock())} {str(goroutine):<8}{caller}    {text}\n"
        with self._lock:
            self.stdout.write(line)
            self.stdout.flush()
            if self.log_file is not None:
                with open(self.log_file, "a", encoding="utf-8") as handle:
                    handle.write(line)

    def debug(self, caller: str, message: str, goroutine: int = 1) -> None:
        self.line(DEBUG, caller, message, goroutine)

    def info(self, caller: str, message: str, goroutine: int = 1) -> None:
        self.line(INFO, caller, message, goroutine)

    def warn(self, caller: str, message: str, goroutine: int = 1) -> None:
        self.line(WARN, caller, message, goroutine)

    def error(self, caller: str, message: str, goroutine: int = 1) -> None:
        self.line(ERROR, caller, message, goroutine)


def _create_log_file(path: Path) -> None:
    if not path.parent.is_dir():
        try:
            os.makedirs(path.parent, mode=0o750, exist_ok=True)
        except OSError:
            raise HwlogError("create dirs failed") from None
    else:
        try:
            os.chmod(path.parent, 0o750)
        except OSError:
            raise HwlogError("change log dir mode failed") from None
    if not path.exists():
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o640)
        except OSError:
            raise HwlogError(f"create file({path.name}) failed") from None
        os.close(fd)


def init_run_logger(log_file: str, level: int, max_backups: int, max_age: int, stdout: TextIO,
                    clock: Callable[[], float] = time.time) -> RunLog:
    """hwlog.InitRunLogger: check the path, create directory (0750) and file (0640), validate, say so."""
    if ".." in log_file or "./" in log_file:
        raise HwlogError("log path include invalid char")
    path = Path(log_file)
    if path.is_dir():
        raise HwlogError("config path is not file")
    _create_log_file(path)
    if not 0 < max_backups <= 30:
        raise HwlogError("the number of backup log file range is (0, 30]")
    if not 7 <= max_age <= 700:
        raise HwlogError("the maxage of backup logs range is [7,700]")
    if not DEBUG <= level <= CRITICAL:
        raise HwlogError("the log level range should be [-1, 3]")
    log = RunLog(level, stdout, path, clock)
    log.info(INIT_CALLER, f"{path.name}'s logger init success")
    try:
        os.chmod(path, 0o640)
    except OSError:
        raise HwlogError("set log file mode failed") from None
    return log
