#!/usr/bin/python
# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: hccn_ping
short_description: Ping NPU device IPs over the RoCE network with hccn_tool
version_added: "0.1.0"
description:
  - Runs C(hccn_tool -i DEVICE -ping -g address ADDRESS pkt COUNT) for every entry of O(pings), several at a
    time, and returns packets sent and received, loss and round-trip times for each.
  - This is the cross-node check of the vLLM-Ascend multi-node guide; typically every local device pings the
    device IPs of the other nodes.
  - The module reports and never fails on packet loss; deciding what loss is acceptable is left to the caller.
    A ping whose output has no C(packets transmitted) summary (error, timeout) counts as 100% loss and its
    output is kept in C(raw).
  - The module sends ICMP from the NPU NICs but changes nothing; it never reports a change.
author:
  - atlas-vllm contributors (@atlas-vllm)
extends_documentation_fragment:
  - atlas.vllm.read_only
options:
  pings:
    description: The pings to run.
    type: list
    elements: dict
    required: true
    suboptions:
      device:
        description: Local NPU device id (the C(-i) argument).
        type: int
        required: true
      address:
        description: Address to ping, normally another NPU's device IP.
        type: str
        required: true
  count:
    description: Packets per ping (the C(pkt) argument).
    type: int
    default: 3
  parallel:
    description: How many pings run at the same time.
    type: int
    default: 8
  timeout:
    description:
      - Seconds one ping may take on top of its O(count) packets (one second each). A ping that does not answer
        by then is stopped and counts as 100% loss, its C(raw) saying so.
    type: int
    default: 30
  executable:
    description:
      - Path to the C(hccn_tool) binary.
      - By default C(hccn_tool) is looked up on E(PATH), then C(/usr/local/Ascend/driver/tools/hccn_tool) is used.
    type: path
seealso:
  - module: atlas.vllm.hccn_info
"""

EXAMPLES = r"""
- name: Pair local device N with device N of the peer node (peer_device_ips lists the peer's 8 device IPs)
  ansible.builtin.set_fact:
    peer_pings: "{{ peer_pings | default([]) + [{'device': item.0, 'address': item.1}] }}"
  loop: "{{ range(8) | zip(peer_device_ips) | list }}"

- name: Ping the peer from every local device
  atlas.vllm.hccn_ping:
    pings: "{{ peer_pings }}"

- name: Ping two peers from device 0 and 1
  atlas.vllm.hccn_ping:
    pings:
      - device: 0
        address: 11.12.165.80
      - device: 1
        address: 11.12.165.81
    count: 5
  register: ping

- name: No packet loss
  ansible.builtin.assert:
    that: ping.results | selectattr('loss_pct', 'gt', 0) | list | length == 0
    fail_msg: "{{ ping.results | selectattr('loss_pct', 'gt', 0) | map(attribute='raw') | list }}"
"""

RETURN = r"""
results:
  description: One entry per ping, in the order of O(pings).
  returned: success
  type: list
  elements: dict
  contains:
    device:
      description: Local device id.
      type: int
      sample: 0
    address:
      description: Address pinged.
      type: str
      sample: 11.12.165.80
    transmitted:
      description: Packets sent, from the summary line (O(count) when the summary is missing).
      type: int
      sample: 3
    received:
      description: Packets received (0 when the summary is missing).
      type: int
      sample: 3
    loss_pct:
      description: Packet loss in percent (100.0 when the summary is missing).
      type: float
      sample: 0.0
    rtt_ms:
      description: Round-trip time of each reply, in milliseconds.
      type: list
      elements: float
      sample: [0.114, 0.067, 0.063]
    rtt_avg_ms:
      description: Mean of C(rtt_ms); null without replies.
      type: float
      sample: 0.081333
    rc:
      description: Exit status of hccn_tool.
      type: int
      sample: 0
    cmd:
      description: The command that ran.
      type: list
      elements: str
      sample: ["/usr/local/Ascend/driver/tools/hccn_tool", "-i", "0", "-ping", "-g", "address", "11.12.165.80",
               "pkt", "3"]
    raw:
      description: Output of hccn_tool (stdout, then stderr).
      type: str
      sample: "device 0 PING 11.12.165.80\nrecv seq=0,time=0.114000ms\n..."
"""

from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from typing import Any  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.atlas.vllm.plugins.module_utils import bounded_run  # noqa: E402
from ansible_collections.atlas.vllm.plugins.module_utils.hccn import parse_ping  # noqa: E402
from ansible_collections.atlas.vllm.plugins.module_utils.locale_env import C_LOCALE as LOCALE  # noqa: E402
from ansible_collections.atlas.vllm.plugins.module_utils.tool_path import find_tool  # noqa: E402

DEFAULT_EXECUTABLE = "/usr/local/Ascend/driver/tools/hccn_tool"

ARGUMENT_SPEC = {
    "pings": {
        "type": "list",
        "elements": "dict",
        "required": True,
        "options": {
            "device": {"type": "int", "required": True},
            "address": {"type": "str", "required": True},
        },
    },
    "count": {"type": "int", "default": 3},
    "parallel": {"type": "int", "default": 8},
    "timeout": {"type": "int", "default": 30},
    "executable": {"type": "path"},
}


def find_executable(module: AnsibleModule) -> str:
    return find_tool(module, "hccn_tool", DEFAULT_EXECUTABLE)


def ping(executable: str, device: int, address: str, count: int, timeout: int) -> dict[str, Any]:
    argv = [executable, "-i", str(device), "-ping", "-g", "address", address, "pkt", str(count)]
    # Runs in a worker thread: it never ends the module, whatever the tool does.
    deadline = timeout + count
    outcome = bounded_run.run_bounded(argv, deadline, LOCALE)
    rc = outcome.rc
    raw = "\n".join(part for part in (outcome.stdout.rstrip("\n"), outcome.stderr.strip()) if part)
    if outcome.timed_out:
        raw = bounded_run.timeout_message(argv, deadline)
    parsed = parse_ping(raw, expected=count)
    return {
        "device": device,
        "address": address,
        "transmitted": parsed["transmitted"],
        "received": parsed["received"],
        "loss_pct": parsed["loss_pct"],
        "rtt_ms": parsed["rtt_ms"],
        "rtt_avg_ms": parsed["rtt_avg_ms"],
        "rc": rc,
        "cmd": argv,
        "raw": raw,
    }


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    for option in ("count", "parallel", "timeout"):
        if module.params[option] < 1:
            module.fail_json(msg=f"{option} must be at least 1, got {module.params[option]}")
    executable = find_executable(module)
    pings = module.params["pings"]
    count = module.params["count"]
    with ThreadPoolExecutor(max_workers=min(module.params["parallel"], max(len(pings), 1))) as pool:
        results = list(pool.map(
            lambda item: ping(executable, item["device"], item["address"], count, module.params["timeout"]), pings))
    module.exit_json(changed=False, results=results)


if __name__ == "__main__":
    main()
