#!/usr/bin/python
# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: hccn_info
short_description: Read the RoCE network state of Ascend NPUs with hccn_tool
version_added: "0.1.0"
description:
  - For each NPU device runs the read-only C(hccn_tool) queries that the vLLM-Ascend multi-node guide uses to
    verify HCCL networking, C(-link -g), C(-net_health -g), C(-ip -g), C(-gateway -g), C(-netdetect -g),
    C(-lldp -g) and C(-tls -g), and pairs the result with the device's lines in C(/etc/hccn.conf).
  - A query that fails is recorded in that device's C(errors) and its value is left null; the other queries and
    devices are still reported, so one broken NIC does not hide the rest.
  - C(Get ipconf failed, because no ip was preset there!) is not an error; it yields a null C(ip).
  - The module only reads; it never reports a change.
author:
  - atlas-vllm contributors (@atlas-vllm)
extends_documentation_fragment:
  - atlas.vllm.read_only
options:
  devices:
    description:
      - NPU device ids (the C(-i) argument of hccn_tool) to query.
      - When omitted, the device ids found in O(hccn_conf) are used; the task fails if that file is missing
        or lists no device, because the set of devices to check would then be unknown.
      - An Atlas 800I A2 node has devices 0 to 7, an A3 node 0 to 15.
    type: list
    elements: int
  executable:
    description:
      - Path to the C(hccn_tool) binary.
      - By default C(hccn_tool) is looked up on E(PATH), then C(/usr/local/Ascend/driver/tools/hccn_tool) is used.
    type: path
  hccn_conf:
    description: Path of the HCCN configuration file written by C(hccn_tool -ip -s) and friends.
    type: path
    default: /etc/hccn.conf
  parallel:
    description: How many devices are queried at the same time.
    type: int
    default: 8
  timeout:
    description:
      - Seconds each hccn_tool call may take. A call that does not answer is stopped and recorded in the device's
        C(errors) as not answering; the device's remaining queries are not asked (they would hang the same way),
        and the other devices are still read.
    type: int
    default: 30
seealso:
  - module: atlas.vllm.hccn_ping
  - module: atlas.vllm.npu_smi_info
"""

EXAMPLES = r"""
- name: Read NPU NIC state for the 8 devices of an Atlas 800I A2
  atlas.vllm.hccn_info:
    devices: "{{ range(8) | list }}"
  register: hccn

- name: Every NIC is up and healthy
  ansible.builtin.assert:
    that:
      - hccn.devices | rejectattr('link', 'equalto', 'UP') | list | length == 0
      - hccn.devices | rejectattr('net_health', 'equalto', 'Success') | list | length == 0
    fail_msg: "{{ hccn.devices | selectattr('errors') | list }}"

- name: Query the devices listed in a non-default hccn.conf
  atlas.vllm.hccn_info:
    hccn_conf: /etc/hccn.conf
    executable: /usr/local/Ascend/driver/tools/hccn_tool
"""

RETURN = r"""
devices:
  description: One entry per queried device, in the order of O(devices).
  returned: success
  type: list
  elements: dict
  contains:
    device:
      description: Device id.
      type: int
      sample: 0
    link:
      description: Value of C(link status), e.g. C(UP) or C(DOWN); null if unknown.
      type: str
      sample: UP
    net_health:
      description: Value of C(net health status), e.g. C(Success), C(Fault), C(Init); null if unknown.
      type: str
      sample: Success
    ip:
      description: Device IP (C(ipaddr)); null when none is configured.
      type: str
      sample: 11.12.165.80
    netmask:
      description: Device netmask; null when no IP is configured.
      type: str
      sample: 255.255.255.0
    gateway:
      description: Default gateway of the device.
      type: str
      sample: 11.12.165.1
    gateway_iface:
      description: Interface named by C(-gateway -g).
      type: str
      sample: eth0
    netdetect:
      description: Network detect address.
      type: str
      sample: 11.12.165.1
    lldp_ifname:
      description: Peer switch port from the LLDP dump (C(Ifname)); null when no LLDP neighbour was seen.
      type: str
      sample: 400GE1/1/5:1
    tls_switch:
      description: TLS switch (0 disabled, 1 enabled); all devices of a cluster must agree.
      type: int
      sample: 0
    tls:
      description: Every C(label[value]) field of C(-tls -g), e.g. C(tls_preconfigured), C(tls_alarm_time_threshold).
      type: dict
      sample: {"dev_id": 0, "tls_switch": 0, "tls_preconfigured": 1, "tls_alarm_time_threshold": 60}
    conf:
      description: This device's keys from O(hccn_conf) (C(address), C(netmask), C(netdetect), C(gateway), ...).
      type: dict
      sample: {"address": "29.1.137.205", "netmask": "255.255.0.0", "send_arp_status": "1"}
    errors:
      description: Query name mapped to the failing command and its output; empty when every query worked.
      type: dict
      sample: {"lldp": "'hccn_tool -i 3 -lldp -g' failed with rc=255: ..."}
    timed_out:
      description: Present and true when a query of this device did not answer within O(timeout).
      returned: when a query timed out
      type: bool
      sample: true
hccn_conf_found:
  description: Whether O(hccn_conf) exists.
  returned: success
  type: bool
  sample: true
"""

import os  # noqa: E402
from collections.abc import Callable  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from typing import Any  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.atlas.vllm.plugins.module_utils import bounded_run  # noqa: E402
from ansible_collections.atlas.vllm.plugins.module_utils.hccn import (  # noqa: E402
    has_no_ip,
    parse_gateway,
    parse_hccn_conf,
    parse_ip,
    parse_link,
    parse_lldp_ifname,
    parse_net_health,
    parse_netdetect,
    parse_tls,
)
from ansible_collections.atlas.vllm.plugins.module_utils.locale_env import C_LOCALE as LOCALE  # noqa: E402
from ansible_collections.atlas.vllm.plugins.module_utils.tool_path import find_tool  # noqa: E402

DEFAULT_EXECUTABLE = "/usr/local/Ascend/driver/tools/hccn_tool"

ARGUMENT_SPEC = {
    "devices": {"type": "list", "elements": "int"},
    "executable": {"type": "path"},
    "hccn_conf": {"type": "path", "default": "/etc/hccn.conf"},
    "parallel": {"type": "int", "default": 8},
    "timeout": {"type": "int", "default": 30},
}

# Query name, hccn_tool arguments after "-i N", and how to turn stdout into entry fields.
QUERIES: list[tuple[str, list[str], Callable[[str], dict[str, Any]]]] = [
    ("link", ["-link", "-g"], lambda out: {"link": parse_link(out)}),
    ("net_health", ["-net_health", "-g"], lambda out: {"net_health": parse_net_health(out)}),
    ("ip", ["-ip", "-g"], lambda out: _ip_fields(parse_ip(out))),
    ("gateway", ["-gateway", "-g"], lambda out: _gateway_fields(parse_gateway(out))),
    ("netdetect", ["-netdetect", "-g"], lambda out: {"netdetect": parse_netdetect(out)}),
    ("lldp", ["-lldp", "-g"], lambda out: {"lldp_ifname": parse_lldp_ifname(out)}),
    ("tls", ["-tls", "-g"], lambda out: _tls_fields(parse_tls(out))),
]


def _ip_fields(ip: dict[str, str | None]) -> dict[str, Any]:
    return {"ip": ip["ipaddr"], "netmask": ip["netmask"]}


def _gateway_fields(gateway: dict[str, str | None]) -> dict[str, Any]:
    return {"gateway": gateway["gateway"], "gateway_iface": gateway["iface"]}


def _tls_fields(tls: dict[str, int | None]) -> dict[str, Any]:
    return {"tls_switch": tls["tls_switch"], "tls": tls}


def empty_entry(device: int, conf: dict[str, str]) -> dict[str, Any]:
    return {
        "device": device,
        "link": None,
        "net_health": None,
        "ip": None,
        "netmask": None,
        "gateway": None,
        "gateway_iface": None,
        "netdetect": None,
        "lldp_ifname": None,
        "tls_switch": None,
        "tls": {},
        "conf": conf,
        "errors": {},
    }


def find_executable(module: AnsibleModule) -> str:
    return find_tool(module, "hccn_tool", DEFAULT_EXECUTABLE)


def query_device(executable: str, device: int, conf: dict[str, str], timeout: int) -> dict[str, Any]:
    """All queries of one device; runs in a worker thread and never ends the module."""
    entry = empty_entry(device, conf)
    for name, args, extract in QUERIES:
        argv = [executable, "-i", str(device), *args]
        outcome = bounded_run.run_bounded(argv, timeout, LOCALE)
        if outcome.timed_out:
            entry["errors"][name] = bounded_run.timeout_message(argv, timeout)
            entry["timed_out"] = True
            break
        # hccn_tool reports "no ip was preset" as a failure; for this module it is a valid state (no IP).
        if outcome.rc != 0 and not (name == "ip" and has_no_ip(outcome.output)):
            entry["errors"][name] = bounded_run.failure_message(argv, outcome)
            continue
        entry.update(extract(outcome.output))
    return entry


def read_conf(path: str) -> tuple[bool, dict[int, dict[str, str]]]:
    if not os.path.exists(path):
        return False, {}
    with open(path, encoding="utf-8", errors="replace") as handle:
        return True, parse_hccn_conf(handle.read())


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    if module.params["parallel"] < 1:
        module.fail_json(msg=f"parallel must be at least 1, got {module.params['parallel']}")
    if module.params["timeout"] < 1:
        module.fail_json(msg=f"timeout must be at least 1 second, got {module.params['timeout']}")
    try:
        conf_found, conf = read_conf(module.params["hccn_conf"])
    except OSError as exc:
        module.fail_json(msg=f"cannot read {module.params['hccn_conf']}: {exc}")
    devices = module.params["devices"]
    if devices is None:
        if not conf:
            module.fail_json(
                msg=f"devices not given and {module.params['hccn_conf']} lists no device "
                f"({'empty' if conf_found else 'missing'}); set devices, e.g. [0, 1, 2, 3, 4, 5, 6, 7]",
                hccn_conf_found=conf_found,
            )
        devices = sorted(conf)
    executable = find_executable(module)
    with ThreadPoolExecutor(max_workers=min(module.params["parallel"], max(len(devices), 1))) as pool:
        entries = list(pool.map(
            lambda device: query_device(executable, device, conf.get(device, {}), module.params["timeout"]), devices))
    module.exit_json(changed=False, devices=entries, hccn_conf_found=conf_found)


if __name__ == "__main__":
    main()
