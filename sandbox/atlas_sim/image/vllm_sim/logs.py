"""vLLM's log line format: `LEVEL MM-DD hh:mm:ss [file.py:line] message`, behind a per-process prefix.

vLLM decorates stdout/stderr of the API server and engine processes with `(APIServer pid=N)`; lines logged before
that (platform detection) carry no prefix. A multi-line message repeats the header on every line, as vLLM's
NewLineFormatter does for tracebacks.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterable
from typing import TextIO

_LOCK = threading.Lock()


def api_prefix() -> str:
    return f"\033[1;36m(APIServer pid={os.getpid()})\033[0;0m "


def engine_prefix() -> str:
    return f"\033[1;36m(EngineCore_DP0 pid={os.getpid()})\033[0;0m "


def _stamp() -> str:
    return time.strftime("%m-%d %H:%M:%S")


def emit(lines: Iterable[str], stream: TextIO | None = None, prefix: str = "") -> None:
    """Write whole lines atomically so concurrent request threads never interleave halves of lines."""
    out = stream or sys.stdout
    with _LOCK:
        for line in lines:
            out.write(f"{prefix}{line}\n")
        out.flush()


def log(level: str, where: str, message: str, prefix: str = "", stream: TextIO | None = None) -> None:
    header = f"{level} {_stamp()} [{where}] "
    emit((header + part for part in message.split("\n")), stream, prefix)


def info(where: str, message: str, prefix: str | None = None) -> None:
    log("INFO", where, message, api_prefix() if prefix is None else prefix)


def warning(where: str, message: str, prefix: str | None = None) -> None:
    log("WARNING", where, message, api_prefix() if prefix is None else prefix)


def error(where: str, message: str, prefix: str | None = None) -> None:
    log("ERROR", where, message, api_prefix() if prefix is None else prefix, sys.stderr)


def uvicorn(message: str, level: str = "INFO") -> None:
    # uvicorn's `%(levelprefix)s` pads "LEVEL:" to 9 characters.
    emit([f"{level + ':':<9} {message}"], sys.stdout, api_prefix())
