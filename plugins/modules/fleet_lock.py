#!/usr/bin/python
# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: fleet_lock
short_description: Take or release this node's share of the one-deploy-at-a-time fleet lock
version_added: "0.1.0"
description:
  - With O(state=present), creates the lock file O(path) holding the run's id, owner, controller and start time.
    When another run holds it, waits up to O(wait) seconds for it to go, then fails naming the holder.
  - A lock whose run is over is taken over at once, that is one recorded by this O(controller) whose O(pid) is not
    in O(live_pids) (a run that an error stopped, or Ctrl-C, never releases its lock). A lock older than O(max_age)
    seconds is stale and taken over too, as is any lock when O(break_lock=true); the result's RV(replaced) names
    the holder that was replaced.
  - With O(state=absent), removes the lock only when this run holds it; another run's lock is left alone.
  - In check mode nothing is written and nothing waited for; a lock held by another run is returned in
    RV(holder).
author:
  - atlas-vllm contributors (@atlas-vllm)
extends_documentation_fragment:
  - atlas.vllm.read_only
options:
  path:
    description: The lock file. Its directory is created (0755) when missing.
    type: path
    default: /var/lib/atlas-vllm/deploy.lock
  state:
    description: V(present) takes the lock, V(absent) releases this run's lock.
    type: str
    choices: [present, absent]
    default: present
  run_id:
    description: Identifies this run; a lock with the same id is this run's own.
    type: str
    required: true
  owner:
    description: Who runs it, as C(user@controller), shown to a run that finds the lock.
    type: str
    default: unknown
  started:
    description: When the run started (ISO 8601), shown to a run that finds the lock.
    type: str
    default: ""
  controller:
    description: This run's controller (host name and boot id), recorded in the lock and compared with a holder's.
    type: str
    default: ""
  pid:
    description: This run's ansible-playbook process id on O(controller), recorded in the lock.
    type: int
    default: 0
  live_pids:
    description: The ansible-playbook processes alive on O(controller); a holder from there not among them is over.
    type: list
    elements: int
    default: []
  wait:
    description: Seconds to wait for another run's lock before failing.
    type: int
    default: 600
  max_age:
    description: Seconds after which a lock is stale and taken over.
    type: int
    default: 14400
  break_lock:
    description: Take over a lock another run holds, whatever its age (after an interrupted run).
    type: bool
    default: false
notes:
  - The file is created with C(O_EXCL), so two runs arriving at once cannot both take it.
seealso:
  - module: atlas.vllm.npu_smi_info
"""

EXAMPLES = r"""
- name: Take the fleet lock
  atlas.vllm.fleet_lock:
    run_id: "{{ atlas_run_id }}"
    owner: ops@controller-1
    started: "2026-12-04T02:00:03"
    wait: 600

- name: Release it at the end of the run
  atlas.vllm.fleet_lock:
    run_id: "{{ atlas_run_id }}"
    state: absent
"""

RETURN = r"""
acquired:
  description: True when this run holds the lock after the task (state=present).
  returned: always
  type: bool
  sample: true
holder:
  description: The run that held the lock when the task gave up, or in check mode; absent when the lock was free.
  returned: when another run holds the lock
  type: dict
  sample: {"run_id": "20261204T020003Z-4411", "owner": "alice@ops-1", "started": "2026-12-04T02:00:03",
           "acquired": "2026-12-04T02:00:09.114"}
holder_text:
  description: The holder in one line, for messages.
  returned: when another run holds the lock
  type: str
  sample: alice@ops-1 (run 20261204T020003Z-4411, started 2026-12-04T02:00:03, holding it for 610 s)
replaced:
  description: The stale or broken lock this run took over.
  returned: when a lock was taken over
  type: dict
waited_s:
  description: Seconds spent waiting for another run's lock.
  returned: always
  type: float
  sample: 0.0
"""

import json  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402
from datetime import datetime  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.atlas.vllm.plugins.module_utils.fleet_lock import (  # noqa: E402
    BROKEN,
    ENDED,
    FREE,
    HELD,
    OURS,
    STALE,
    decide,
    describe,
    parse_lock,
)

POLL_SECONDS = 2.0

ARGUMENT_SPEC = {
    "path": {"type": "path", "default": "/var/lib/atlas-vllm/deploy.lock"},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "run_id": {"type": "str", "required": True},
    "owner": {"type": "str", "default": "unknown"},
    "started": {"type": "str", "default": ""},
    "controller": {"type": "str", "default": ""},
    "pid": {"type": "int", "default": 0},
    "live_pids": {"type": "list", "elements": "int", "default": []},
    "wait": {"type": "int", "default": 600},
    "max_age": {"type": "int", "default": 14400},
    "break_lock": {"type": "bool", "default": False},
}


def read_holder(path: str) -> dict | None:
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    with os.fdopen(descriptor, encoding="utf-8", errors="replace") as handle:
        return parse_lock(handle.read())


def create(path: str, record: dict) -> bool:
    """Create the lock file if nobody has; False when another process created it first."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(record, handle, sort_keys=True)
        handle.write("\n")
    return True


def now() -> datetime:
    return datetime.now()


def holder_fields(holder: dict | None) -> dict:
    """The holder, as data and in one line, for a result; nothing when the lock is free."""
    return {"holder": holder, "holder_text": describe(holder, now())} if holder else {}


def take(module: AnsibleModule) -> None:
    params = module.params
    path = params["path"]
    record = {"run_id": params["run_id"], "owner": params["owner"], "started": params["started"],
              "controller": params["controller"], "pid": params["pid"]}
    started_wait = time.monotonic()
    replaced = None
    while True:
        holder = read_holder(path)
        verdict = decide(holder, params["run_id"], now(), params["max_age"], params["break_lock"],
                         params["controller"], params["live_pids"])
        waited = round(time.monotonic() - started_wait, 1)
        if verdict == OURS:
            module.exit_json(changed=False, acquired=True, waited_s=waited)
        if module.check_mode:
            module.exit_json(changed=verdict != HELD, acquired=False, waited_s=0.0, **holder_fields(holder))
        if verdict in (STALE, BROKEN, ENDED):
            # Only the run that removes the old lock goes on to create its own; others see a fresh holder.
            replaced = holder
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            verdict = FREE
        if verdict == FREE:
            os.makedirs(os.path.dirname(path) or ".", mode=0o755, exist_ok=True)
            if create(path, dict(record, acquired=now().isoformat(timespec="milliseconds"))):
                result = {"replaced": replaced} if replaced else {}
                module.exit_json(changed=True, acquired=True, waited_s=waited, **result)
            continue
        if waited >= params["wait"]:
            fields = holder_fields(holder)
            module.fail_json(msg=f"the fleet lock {path} is held by {fields['holder_text']}; waited {waited:g} s",
                             acquired=False, waited_s=waited, **fields)
        time.sleep(min(POLL_SECONDS, max(params["wait"] - waited, 0.1)))


def release(module: AnsibleModule) -> None:
    path = module.params["path"]
    holder = read_holder(path)
    if holder is None or holder.get("run_id") != module.params["run_id"]:
        module.exit_json(changed=False, acquired=False, waited_s=0.0, **holder_fields(holder))
    if not module.check_mode:
        os.unlink(path)
    module.exit_json(changed=True, acquired=False, waited_s=0.0)


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    for option in ("wait", "max_age"):
        if module.params[option] < 0:
            module.fail_json(msg=f"{option} must be 0 or more seconds, got {module.params[option]}")
    if module.params["state"] == "present":
        take(module)
    release(module)


if __name__ == "__main__":
    main()
