#!/usr/bin/python
# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: vllm_router_workers
short_description: Add and remove the workers of a vLLM router through its runtime API
version_added: "0.1.0"
description:
  - Runs on the gateway host and manages which vLLM servers (workers) the vLLM router (PyPI C(vllm-router)) sends
    requests to, through its runtime API on loopback (C(GET /list_workers), C(POST /remove_worker?url=URL),
    C(POST /add_worker?url=URL)).
  - Reads the current members, removes first (O(absent), and with O(exclusive) every member not in O(present)),
    then adds the missing O(present) workers, then reads the members again and returns them.
  - The router adds a worker only once the worker answers its health check, and until then the C(add_worker) call
    does not answer (up to the router's C(--worker-startup-timeout-secs), 600 s by default); O(add_timeout) bounds
    each such call.
  - A worker that the router reports as already existing counts as added. Removing a worker that is not a member
    is not attempted.
  - Membership is runtime state of the router. With O(state_file), the final members are also written to a systemd
    EnvironmentFile (C(ATLAS_ROUTER_WORKERS="URL URL")) that the router's unit reads when it starts, so a restart
    keeps them.
  - In check mode, reports what would be added, removed and written without calling C(add_worker) or
    C(remove_worker) and without writing.
author:
  - atlas-vllm contributors (@atlas-vllm)
extends_documentation_fragment:
  - atlas.vllm.read_only
options:
  router_url:
    description: Base URL of the router's API as seen from this host.
    type: str
    default: http://127.0.0.1:30000
  present:
    description:
      - Worker URLs (e.g. V(http://10.0.0.11:8000)) that must be members afterwards.
      - URLs are compared with the scheme and host lower-cased and without a trailing C(/).
    type: list
    elements: str
    default: []
  absent:
    description: Worker URLs that must not be members afterwards. A URL in both O(present) and O(absent) fails.
    type: list
    elements: str
    default: []
  exclusive:
    description: Also remove every member that is not in O(present).
    type: bool
    default: false
  state_file:
    description:
      - EnvironmentFile to keep the final members in (mode C(0644), written atomically), e.g.
        V(/etc/atlas-vllm/router-workers.env).
      - Written whenever the workers it lists differ from the final members (or it does not exist or does not
        set C(ATLAS_ROUTER_WORKERS)), also when the router's members did not change. Comments, quoting and order
        are not compared.
      - Its directory must exist.
    type: path
  add_timeout:
    description:
      - Timeout in seconds of each C(add_worker) call. The router answers only once the worker is healthy.
    type: float
    default: 60
  timeout:
    description: Timeout in seconds of the other API calls.
    type: float
    default: 10
notes:
  - Needs only the Python standard library on the host. Proxies from the environment are not used.
  - When an C(add_worker) call times out, the router may still add the worker later, once the worker is healthy.
seealso:
  - module: atlas.vllm.vllm_inflight
  - name: vLLM router
    description: The vllm-project's router (PyPI C(vllm-router)).
    link: https://github.com/vllm-project/router
"""

EXAMPLES = r"""
- name: Take the node's instances out of the router before changing them
  atlas.vllm.vllm_router_workers:
    absent: "{{ node_worker_urls }}"
    state_file: /etc/atlas-vllm/router-workers.env
  delegate_to: "{{ groups['gateway'][0] }}"

- name: Put them back once they are healthy (each add waits at most 120 s for the worker)
  atlas.vllm.vllm_router_workers:
    present: "{{ node_worker_urls }}"
    add_timeout: 120
    state_file: /etc/atlas-vllm/router-workers.env
  delegate_to: "{{ groups['gateway'][0] }}"

- name: The router sends to exactly these workers
  atlas.vllm.vllm_router_workers:
    router_url: http://127.0.0.1:30000
    present:
      - http://10.0.0.11:8000
      - http://10.0.0.11:8001
      - http://10.0.0.12:8000
    exclusive: true
    state_file: /etc/atlas-vllm/router-workers.env
  register: router

- name: Show the members
  ansible.builtin.debug:
    var: router.workers
"""

RETURN = r"""
workers:
  description:
    - The router's members after the change, sorted, as C(GET /list_workers) lists them.
    - In check mode, the members the change would leave (normalized).
  returned: success
  type: list
  elements: str
  sample: ["http://10.0.0.11:8000", "http://10.0.0.12:8000"]
added:
  description: Workers added (in check mode, that would be added).
  returned: always
  type: list
  elements: str
  sample: ["http://10.0.0.12:8000"]
removed:
  description: Workers removed (in check mode, that would be removed), as the router spelled them.
  returned: always
  type: list
  elements: str
  sample: ["http://10.0.0.13:8000"]
state_file_changed:
  description: Whether O(state_file) was written (in check mode, would be written); false without O(state_file).
  returned: always
  type: bool
  sample: true
msg:
  description: Summary, or what failed (router URL, the call, the worker).
  returned: always
  type: str
  sample: "added http://10.0.0.12:8000; removed none; 2 workers"
"""

import fcntl  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import tempfile  # noqa: E402
from typing import Any  # noqa: E402
from urllib.error import HTTPError, URLError  # noqa: E402
from urllib.parse import quote  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.urls import open_url  # noqa: E402
from ansible_collections.atlas.vllm.plugins.module_utils.router_api import (  # noqa: E402
    describe,
    membership_changes,
    missing_and_extra,
    normalize_url,
    parse_worker_list,
    predicted_members,
    workers_env,
    workers_env_matches,
)

ARGUMENT_SPEC: dict[str, Any] = {
    "router_url": {"type": "str", "default": "http://127.0.0.1:30000"},
    "present": {"type": "list", "elements": "str", "default": []},
    "absent": {"type": "list", "elements": "str", "default": []},
    "exclusive": {"type": "bool", "default": False},
    "state_file": {"type": "path"},
    "add_timeout": {"type": "float", "default": 60},
    "timeout": {"type": "float", "default": 10},
}

NOT_RUNNING_HINT = "is the atlas-vllm-router service running on this host?"


class RouterError(Exception):
    """A router call that failed, with the message the task reports."""


def _is_timeout(exc: BaseException) -> bool:
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return True
    return isinstance(exc, URLError) and isinstance(exc.reason, (socket.timeout, TimeoutError))


def _is_refused(exc: BaseException) -> bool:
    if isinstance(exc, ConnectionRefusedError):
        return True
    return isinstance(exc, URLError) and isinstance(exc.reason, ConnectionRefusedError)


class Router:
    def __init__(self, base: str, timeout: float, add_timeout: float) -> None:
        self.base = base
        self.timeout = timeout
        self.add_timeout = add_timeout

    def call(self, method: str, path: str, timeout: float) -> tuple[int, str]:
        """``(status, body)`` of one call; HTTP error statuses are returned, network failures raise RouterError."""
        url = self.base + path
        try:
            response = open_url(url, method=method, timeout=timeout, use_proxy=False, follow_redirects="none",
                                headers={"Accept": "application/json, text/plain"})
            return response.getcode(), response.read().decode("utf-8", "replace")
        except HTTPError as exc:
            try:
                body = exc.read().decode("utf-8", "replace")
            except Exception:  # noqa: BLE001 - the status alone still says what happened
                body = ""
            return exc.code, body
        except Exception as exc:  # noqa: BLE001 - turned into a message naming the router and the call
            if _is_refused(exc):
                raise RouterError(
                    f"{method} {url}: connection refused by the router at {self.base}: {NOT_RUNNING_HINT}"
                ) from exc
            if _is_timeout(exc):
                raise RouterError(
                    f"{method} {url}: the router at {self.base} did not answer within {timeout}s"
                ) from exc
            reason = exc.reason if isinstance(exc, URLError) else exc
            raise RouterError(f"{method} {url}: cannot reach the router at {self.base}: {reason}") from exc

    def list_workers(self) -> list[str]:
        status, body = self.call("GET", "/list_workers", self.timeout)
        if status != 200:
            raise RouterError(f"GET {self.base}/list_workers returned {status}: {body.strip()[:300]}")
        try:
            return parse_worker_list(body)
        except ValueError as exc:
            raise RouterError(f"GET {self.base}/list_workers: {exc}") from exc

    def remove(self, worker: str) -> None:
        path = f"/remove_worker?url={quote(worker, safe=':/')}"
        status, body = self.call("POST", path, self.timeout)
        if status != 200:
            raise RouterError(f"removing worker {worker}: POST {self.base}{path} returned {status}: "
                              f"{body.strip()[:300]}")

    def add(self, worker: str) -> bool:
        """Add ``worker``; False when the router says it already exists (that is success too)."""
        path = f"/add_worker?url={quote(worker, safe=':/')}"
        try:
            status, body = self.call("POST", path, self.add_timeout)
        except RouterError as exc:
            if _is_timeout(exc.__cause__):
                raise RouterError(
                    f"adding worker {worker}: the router at {self.base} did not answer within add_timeout "
                    f"{self.add_timeout}s. The router waits for a worker to become healthy before adding it "
                    f"(up to its --worker-startup-timeout-secs): is the vLLM server at {worker} up and healthy? "
                    "The router may still add it once it is."
                ) from exc
            raise
        if status == 200:
            return True
        if status == 400 and "already exists" in body.lower():
            return False
        raise RouterError(f"adding worker {worker}: POST {self.base}{path} returned {status}: {body.strip()[:300]}")


def read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def write_state_file(module: AnsibleModule, path: str, content: str) -> None:
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        module.fail_json(msg=f"state_file {path}: directory {directory} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=".router-workers.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        os.chmod(tmp, 0o644)
        module.atomic_move(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    module.set_mode_if_different(path, "0644", False)


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    for option in ("timeout", "add_timeout"):
        if params[option] <= 0:
            module.fail_json(msg=f"{option} must be greater than 0, got {params[option]}")
    try:
        base = normalize_url(params["router_url"])
        present = [normalize_url(url) for url in params["present"]]
        absent = [normalize_url(url) for url in params["absent"]]
        workers_env(present)  # rejects URLs that cannot be kept in the state file
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    router = Router(base, params["timeout"], params["add_timeout"])
    result: dict[str, Any] = {"changed": False, "added": [], "removed": [], "state_file_changed": False}
    state_file = params["state_file"]
    lock = None
    if state_file and not module.check_mode:
        # Nodes of one rolling batch change the same router at once: one at a time keeps the state file true.
        # The lock is on the file's directory, so it leaves nothing behind; it is held until the module exits.
        directory = os.path.dirname(os.path.abspath(state_file))
        if not os.path.isdir(directory):
            module.fail_json(msg=f"state_file {state_file}: directory {directory} does not exist")
        try:
            lock = os.open(directory, os.O_RDONLY)
            fcntl.flock(lock, fcntl.LOCK_EX)
        except OSError as exc:
            module.fail_json(msg=f"state_file {state_file}: cannot lock its directory {directory}: {exc}")
    try:
        try:
            current = router.list_workers()
            to_add, to_remove = membership_changes(current, present, absent, params["exclusive"])
        except (RouterError, ValueError) as exc:
            module.fail_json(msg=str(exc), **result)

        if module.check_mode:
            final = predicted_members(current, to_add, to_remove)
            state_changed = bool(state_file) and not workers_env_matches(read_text(state_file), final)
            module.exit_json(changed=bool(to_add or to_remove or state_changed), workers=final, added=to_add,
                             removed=to_remove, state_file_changed=state_changed,
                             msg=f"would add {describe(to_add)}; would remove {describe(to_remove)}")

        try:
            for worker in to_remove:
                router.remove(worker)
                result["removed"].append(worker)
                result["changed"] = True
            for worker in to_add:
                if router.add(worker):
                    result["added"].append(worker)
                    result["changed"] = True
            final = sorted(router.list_workers())
        except RouterError as exc:
            done = (f" (done before the failure: added {describe(result['added'])}; "
                    f"removed {describe(result['removed'])})")
            module.fail_json(msg=str(exc) + (done if result["changed"] else ""), **result)
        result["workers"] = final
        if state_file:
            if not workers_env_matches(read_text(state_file), final):
                write_state_file(module, state_file, workers_env(final))
                result["state_file_changed"] = True
                result["changed"] = True
        left = missing_and_extra(final, present, absent)
        if left["missing"] or left["still_there"]:
            module.fail_json(
                msg=f"the router at {base} lists {describe(final)} after the change: "
                f"missing {describe(left['missing'])}, still there {describe(left['still_there'])} "
                "(changed by another client at the same time?)",
                **result,
            )
        result["msg"] = (f"added {describe(result['added'])}; removed {describe(result['removed'])}; "
                         f"{len(final)} workers")
        module.exit_json(**result)

    finally:
        # Exiting the module (or a test's caught exit) always lets the next change in.
        if lock is not None:
            os.close(lock)


if __name__ == "__main__":
    main()
