"""Progress lines for long work: an operator must never watch a silent minute."""

from __future__ import annotations

import sys
import time


class Progress:
    """Prints `[atlas-sim] step… (elapsed)` lines to stderr, so stdout stays machine-readable."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.started = time.monotonic()

    def __call__(self, message: str) -> None:
        if not self.quiet:
            elapsed = time.monotonic() - self.started
            print(f"[atlas-sim {elapsed:6.1f}s] {message}", file=sys.stderr, flush=True)
