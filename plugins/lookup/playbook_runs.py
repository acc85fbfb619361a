# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""This controller's identity, the process of this ansible-playbook run, and the runs still alive here."""

from __future__ import annotations

DOCUMENTATION = r"""
name: playbook_runs
short_description: The ansible-playbook runs alive on this controller, and which one is this run
description:
  - Returns one dictionary with C(controller) (the controller's host name and boot id, so that a process id is
    never compared across machines or reboots), C(pid) (the process id of the ansible-playbook run that
    evaluates it) and C(live) (the process ids of every ansible-playbook process running on this controller).
  - The fleet lock (C(playbooks/lock.yml)) records C(controller) and C(pid); a later run on the same controller
    whose holder's C(pid) is no longer in C(live) knows that run is over (ended by an error that stopped the
    playbook, or by Ctrl-C) and takes its lock over at once.
  - Linux controllers only (it reads C(/proc)). Takes no terms.
version_added: 0.1.0
"""

EXAMPLES = r"""
- name: Name this run
  ansible.builtin.set_fact:
    atlas_controller_run: "{{ lookup('atlas.vllm.playbook_runs') }}"
"""

RETURN = r"""
_raw:
  description: One dictionary with C(controller) (str), C(pid) (int) and C(live) (list of int).
  type: list
  elements: dict
"""

import os  # noqa: E402
import socket  # noqa: E402

from ansible.errors import AnsibleLookupError  # noqa: E402
from ansible.plugins.lookup import LookupBase  # noqa: E402

PROC = "/proc"


def _cmdline(pid: int, proc: str = PROC) -> list[str]:
    try:
        with open(os.path.join(proc, str(pid), "cmdline"), "rb") as handle:
            return [part.decode("utf-8", "replace") for part in handle.read().split(b"\0") if part]
    except OSError:
        return []


def is_playbook(argv: list[str]) -> bool:
    """An ansible-playbook process: the script itself, or Python running it."""
    return any(os.path.basename(part) == "ansible-playbook" for part in argv[:2])


def _parent(pid: int, proc: str = PROC) -> int:
    try:
        with open(os.path.join(proc, str(pid), "stat"), encoding="utf-8") as handle:
            # The command name may hold spaces and parentheses: the fields after it follow the last ')'.
            return int(handle.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def run_pid(start: int, proc: str = PROC) -> int:
    """The main process of the ansible-playbook run ``start`` belongs to.

    Workers are forks of the main process and carry its command line; a run started from a task of another run
    (a playbook that runs ansible-playbook) has a module process between the two, so the climb stops there.
    """
    pid = start
    while pid > 1 and not is_playbook(_cmdline(pid, proc)):
        pid = _parent(pid, proc)
    if pid <= 1:
        return 0
    argv = _cmdline(pid, proc)
    while (parent := _parent(pid, proc)) > 1 and _cmdline(parent, proc) == argv:
        pid = parent
    return pid


def live_runs(proc: str = PROC) -> list[int]:
    pids = sorted(int(name) for name in os.listdir(proc) if name.isdigit())
    return [pid for pid in pids if is_playbook(_cmdline(pid, proc))]


def controller_id(proc: str = PROC) -> str:
    try:
        with open(os.path.join(proc, "sys", "kernel", "random", "boot_id"), encoding="utf-8") as handle:
            boot = handle.read().strip()
    except OSError:
        boot = "unknown-boot"
    return f"{socket.gethostname()}/{boot}"


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        if terms:
            raise AnsibleLookupError(f"playbook_runs takes no terms, got {terms!r}")
        pid = run_pid(os.getpid())
        if not pid:
            raise AnsibleLookupError("playbook_runs: no ansible-playbook process above this one")
        return [{"controller": controller_id(), "pid": pid, "live": live_runs()}]
