#!/usr/bin/python
# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: vllm_inflight
short_description: Count the requests in flight on vLLM servers from their Prometheus metrics
version_added: "0.1.0"
description:
  - Takes one look at C(GET /metrics) of every instance in O(instances) and returns the C(vllm:num_requests_running)
    and C(vllm:num_requests_waiting) gauges (summed over engines), and whether every instance is idle.
  - "Meant for waiting until a node has drained after it was taken out of the router, in a task with
    C(until: result.idle), C(retries) and C(delay), so that Ansible prints a retry line on every look."
  - An instance whose port refuses connections is not running, so it has nothing in flight; it is returned with
    C(reachable=false) and counts as idle.
  - Fails, naming the instance and URL, when C(/metrics) does not answer in time, answers an HTTP error, is not
    Prometheus text, or lacks either gauge.
  - Reads only; never reports a change.
author:
  - atlas-vllm contributors (@atlas-vllm)
extends_documentation_fragment:
  - atlas.vllm.read_only
  - atlas.vllm.vllm_api
options:
  instances:
    description: The vLLM servers to look at.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Name used in messages and results, e.g. the container name.
        type: str
        required: true
      url:
        description: Base URL of the server as seen from the host, e.g. V(http://127.0.0.1:8000).
        type: str
        required: true
  timeout:
    description: Timeout of each C(/metrics) request, in seconds.
    type: float
    default: 5
notes:
  - Needs only the Python standard library on the host. Proxies from the environment are not used.
seealso:
  - module: atlas.vllm.vllm_router_workers
  - module: atlas.vllm.vllm_health
  - name: vLLM metrics
    description: The gauges vLLM serves on /metrics.
    link: https://docs.vllm.ai/en/latest/design/metrics.html
"""

EXAMPLES = r"""
- name: Wait until the node's instances have finished their requests (at most 10 minutes)
  atlas.vllm.vllm_inflight:
    instances:
      - name: vllm-qwen-0
        url: http://127.0.0.1:8000
      - name: vllm-qwen-1
        url: http://127.0.0.1:8001
    api_key: "{{ vllm_api_key }}"
  register: inflight
  until: inflight.idle
  retries: 120
  delay: 5

- name: Report what is still running
  ansible.builtin.debug:
    msg: "{{ inflight.in_flight }} requests in flight"
"""

RETURN = r"""
instances:
  description: One entry per instance, in the order of O(instances).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: O(instances[].name).
      type: str
      sample: vllm-qwen-0
    url:
      description: O(instances[].url).
      type: str
      sample: http://127.0.0.1:8000
    reachable:
      description: Whether C(/metrics) answered; false when the port refused connections (server stopped).
      type: bool
      sample: true
    running:
      description: C(vllm:num_requests_running), summed over engines; 0 when not reachable.
      type: int
      sample: 2
    waiting:
      description: C(vllm:num_requests_waiting), summed over engines; 0 when not reachable.
      type: int
      sample: 0
idle:
  description: Whether no instance has a request running or waiting.
  returned: success
  type: bool
  sample: false
in_flight:
  description: Requests running or waiting on all instances together.
  returned: success
  type: int
  sample: 2
msg:
  description: Summary, or which instance failed and why.
  returned: always
  type: str
  sample: "2 requests in flight: vllm-qwen-0 running 2, waiting 0; vllm-qwen-1 idle"
"""

import socket  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from typing import Any  # noqa: E402
from urllib.error import HTTPError, URLError  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.urls import open_url  # noqa: E402
from ansible_collections.atlas.vllm.plugins.module_utils.vllm_metrics import (  # noqa: E402
    gauge_sum,
    parse_prometheus_text,
)
from ansible_collections.atlas.vllm.plugins.module_utils.vllm_probe import INSTANCE_OPTIONS  # noqa: E402

RUNNING = "vllm:num_requests_running"
WAITING = "vllm:num_requests_waiting"

ARGUMENT_SPEC: dict[str, Any] = {
    "instances": {"type": "list", "elements": "dict", "required": True, "options": INSTANCE_OPTIONS},
    "api_key": {"type": "str", "no_log": True},
    "timeout": {"type": "float", "default": 5},
}


def _refused(exc: BaseException) -> bool:
    reason = exc.reason if isinstance(exc, URLError) else exc
    return isinstance(reason, ConnectionRefusedError)


def _timed_out(exc: BaseException) -> bool:
    reason = exc.reason if isinstance(exc, URLError) else exc
    return isinstance(reason, (socket.timeout, TimeoutError))


def look(instance: dict[str, Any], api_key: str | None, timeout: float) -> dict[str, Any]:
    """One look at an instance: its entry, plus ``error`` (None or why the task must fail). Never raises."""
    url = instance["url"].rstrip("/") + "/metrics"
    entry: dict[str, Any] = {"name": instance["name"], "url": instance["url"], "reachable": False,
                             "running": 0, "waiting": 0}
    label = f"{instance['name']} ({url})"
    headers = {"Accept": "text/plain"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    try:
        response = open_url(url, method="GET", headers=headers, timeout=timeout, use_proxy=False)
        text = response.read().decode("utf-8", "replace")
    except HTTPError as exc:
        return {**entry, "reachable": True, "error": f"{label}: GET /metrics returned {exc.code}"}
    except Exception as exc:  # noqa: BLE001 - each failure becomes a message naming the instance
        if _refused(exc):
            return {**entry, "error": None}  # stopped: nothing can be in flight
        if _timed_out(exc):
            return {**entry, "error": f"{label}: GET /metrics did not answer within {timeout}s"}
        reason = exc.reason if isinstance(exc, URLError) else exc
        return {**entry, "error": f"{label}: GET /metrics failed: {reason}"}
    entry["reachable"] = True
    try:
        samples = parse_prometheus_text(text)
    except ValueError as exc:
        return {**entry, "error": f"{label}: /metrics is not Prometheus text: {exc}"}
    running, waiting = gauge_sum(samples, RUNNING), gauge_sum(samples, WAITING)
    lacking = [name for name, value in ((RUNNING, running), (WAITING, waiting)) if value is None]
    if lacking:
        return {**entry, "error": f"{label}: /metrics has no {' or '.join(lacking)} gauge (is this a vLLM server?)"}
    return {**entry, "running": int(round(running)), "waiting": int(round(waiting)), "error": None}


def summary(entries: list[dict[str, Any]], total: int) -> str:
    parts = []
    for entry in entries:
        if not entry["reachable"]:
            parts.append(f"{entry['name']} stopped")
        elif entry["running"] or entry["waiting"]:
            parts.append(f"{entry['name']} running {entry['running']}, waiting {entry['waiting']}")
        else:
            parts.append(f"{entry['name']} idle")
    head = "idle" if total == 0 else f"{total} request{'s' if total != 1 else ''} in flight"
    return f"{head}: {'; '.join(parts)}"


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    if params["timeout"] <= 0:
        module.fail_json(msg=f"timeout must be greater than 0, got {params['timeout']}")
    instances = params["instances"]
    if not instances:
        module.fail_json(msg="instances is empty: there is nothing to look at")
    for instance in instances:
        if not instance["url"].startswith(("http://", "https://")):
            module.fail_json(msg=f"instance {instance['name']}: url {instance['url']!r} must start with http:// "
                                 "or https://")
    with ThreadPoolExecutor(max_workers=min(len(instances), 16)) as pool:
        looked = list(pool.map(lambda item: look(item, params["api_key"], params["timeout"]), instances))
    errors = [entry.pop("error") for entry in looked]
    entries = looked
    if any(errors):
        module.fail_json(msg="; ".join(error for error in errors if error), changed=False, instances=entries)
    total = sum(entry["running"] + entry["waiting"] for entry in entries)
    module.exit_json(changed=False, instances=entries, idle=total == 0, in_flight=total,
                     msg=summary(entries, total))


if __name__ == "__main__":
    main()
