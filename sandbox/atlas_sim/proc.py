"""Running machine commands: argv lists only, clear errors, and heartbeats for slow ones."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Sequence


class SimError(RuntimeError):
    """A failure atlas-sim reports to the operator as one clear line."""


def run(
    argv: Sequence[str], *, check: bool = True, input_text: str | None = None, cwd: object = None
) -> subprocess.CompletedProcess:
    result = subprocess.run(list(argv), capture_output=True, text=True, input=input_text, cwd=cwd)
    if check and result.returncode != 0:
        output = result.stderr.strip() or result.stdout.strip()
        raise SimError(f"{' '.join(argv)} failed (rc={result.returncode}): {output}")
    return result


def run_with_heartbeat(argv: Sequence[str], progress: Callable[[str], None], label: str, every: float = 10.0) -> None:
    """Run a long command, printing its latest output line every `every` seconds."""
    proc = subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    last = {"line": "", "count": 0}
    tail: list[str] = []

    def reader() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            last["line"] = line.strip()
            last["count"] += 1
            tail.append(line.rstrip())
            del tail[:-20]

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    started = time.monotonic()
    while proc.poll() is None:
        thread.join(timeout=every)
        if proc.poll() is None:
            progress(f"{label}: {time.monotonic() - started:.0f}s, {last['count']} lines, last: {last['line'][:100]}")
    thread.join()
    if proc.returncode != 0:
        raise SimError(f"{label} failed (rc={proc.returncode}):\n" + "\n".join(tail))
