# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""One deploy per fleet at a time: the lock file a run leaves on each node, and what a second run does about it.

Two deploys against one fleet undo each other (one removes the containers the other just planned, both write one
weights download). Each run writes ``{run_id, owner, controller, started, acquired}`` to a file on every node it
changes and removes it at its end. A second run finding another run's lock waits. The lock is taken over when the
run that holds it is over: started from this same controller and its ansible-playbook process is gone (a run that
an error stopped, or Ctrl-C, never reaches its release), or older than the maximum age (from another controller),
or when the operator says so.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

FREE, OURS, HELD, STALE, BROKEN, ENDED = "free", "ours", "held", "stale", "broken", "ended"


def parse_lock(text: str) -> dict[str, Any]:
    """The holder recorded in a lock file; an unreadable file is a holder nobody can name (it still holds)."""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    return data if isinstance(data, dict) else {"run_id": None, "owner": "unknown (unreadable lock file)"}


def age_seconds(holder: dict[str, Any], now: datetime) -> float | None:
    try:
        acquired = datetime.fromisoformat(str(holder.get("acquired")))
    except ValueError:
        return None
    return (now - acquired).total_seconds()


def decide(holder: dict[str, Any] | None, run_id: str, now: datetime, max_age: int, break_lock: bool,
           controller: str = "", live_pids: list[int] | None = None) -> str:
    """FREE: no lock; OURS: this run holds it; ENDED/STALE/BROKEN: take it over; HELD: another run holds it, wait.

    ENDED: the holder ran on ``controller`` (this run's) and its process is not among ``live_pids`` there.
    """
    if holder is None:
        return FREE
    if holder.get("run_id") == run_id:
        return OURS
    if controller and holder.get("controller") == controller and holder.get("pid") not in (live_pids or []):
        return ENDED
    age = age_seconds(holder, now)
    if age is not None and age > max_age:
        return STALE
    if break_lock:
        return BROKEN
    return HELD


def describe(holder: dict[str, Any], now: datetime) -> str:
    """``alice@ops-1 (run 20261204T0200Z-41, started 2026-12-04T02:00:03, holding it for 610 s)``."""
    age = age_seconds(holder, now)
    held = f", holding it for {age:.0f} s" if age is not None else ""
    return (f"{holder.get('owner') or 'unknown'} (run {holder.get('run_id') or '?'}, started "
            f"{holder.get('started') or '?'}{held})")
