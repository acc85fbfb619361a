"""The one kernel limit a large fleet outgrows: inotify instances per user.

Every simulated host runs its own systemd, dbus and dockerd as root, and each of them holds
inotify instances. The kernel counts those per user, not per namespace, and Debian's default
(fs.inotify.max_user_instances = 128) runs out near 30 hosts: the hosts booted last log
"Failed to create inotify object: Too many open files", stay "initializing" and never start
sshd. `up` raises the limit when the fleet needs more and records the value it found;
`down` puts that value back, unless someone changed the limit again in between.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

INSTANCES = Path("/proc/sys/fs/inotify/max_user_instances")
# Measured on a booted fleet: a node holds 6, a gateway 4, a host still booting up to 2 more.
PER_HOST = 12
_ROUND_TO = 128


def instances_needed(hosts: int, in_use: int) -> int:
    """The limit a fleet of `hosts` needs on a machine whose root already holds `in_use` instances."""
    if hosts < 0 or in_use < 0:
        raise ValueError(f"hosts ({hosts}) and in_use ({in_use}) must not be negative")
    wanted = in_use + hosts * PER_HOST
    return -(-wanted // _ROUND_TO) * _ROUND_TO


def plan_raise(current: int, needed: int) -> int | None:
    """The value to set, or None when the current limit is already enough."""
    return needed if current < needed else None


def instances_in_use(proc: Path = Path("/proc")) -> int:
    """Inotify instances held by root's processes (a dup'd descriptor counts twice: errs high)."""
    count = 0
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid != 0:
                continue
            for fd in (entry / "fd").iterdir():
                if os.readlink(fd) == "anon_inode:inotify":
                    count += 1
        except OSError:
            continue  # the process ended while we looked
    return count


def raise_for(hosts: int, record_file: Path, progress) -> None:
    current = int(INSTANCES.read_text())
    target = plan_raise(current, instances_needed(hosts, instances_in_use()))
    if target is None:
        return
    record_file.write_text(json.dumps({"found": current, "set": target}) + "\n")
    INSTANCES.write_text(f"{target}\n")
    progress(f"raised fs.inotify.max_user_instances from {current} to {target} for {hosts} host(s) "
             f"(each runs its own systemd, dbus and dockerd); 'atlas-sim down' puts {current} back")


def restore(record_file: Path, progress) -> None:
    try:
        record = json.loads(record_file.read_text())
    except (OSError, ValueError):
        return
    current = int(INSTANCES.read_text())
    if current != record["set"]:
        progress(f"fs.inotify.max_user_instances is {current}, not the {record['set']} 'up' set: "
                 "someone changed it since; leaving it")
        return
    INSTANCES.write_text(f"{record['found']}\n")
    progress(f"fs.inotify.max_user_instances back to {record['found']}")
