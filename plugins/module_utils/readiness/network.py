# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""hccl_network's checks of one node's NPU NICs (link, IP against /etc/hccn.conf, net_health, gateway,
netdetect) from what the hccn_info module read, and the devices the ping stage may use."""

from __future__ import annotations

import re
from typing import Any

from ansible_collections.atlas.vllm.plugins.module_utils.readiness.checks import PASS, WARNING, check, require_mapping

# "'hccn_tool -i 3 -link -g' failed with rc=1: " in front of the tool's own output.
_ERROR_OUTPUT_RE = re.compile(r"^'[^']*' failed with rc=-?\d+: ")


def device_problems(entry: dict[str, Any], label: str) -> tuple[list[str], str]:
    """What is wrong with one device's NIC, and the one action that addresses the first cause."""
    device = entry["device"]
    errors = {key: value for key, value in (entry.get("errors") or {}).items() if key not in ("lldp", "tls")}
    conf = entry.get("conf") or {}
    problems: list[str] = []
    actions: list[str] = []
    if entry.get("timed_out"):
        # Nothing else was asked of a device whose hccn_tool hangs; its other fields say nothing.
        return ([f"{'; '.join(str(value) for value in (entry.get('errors') or {}).values())}"],
                f"the NIC of {label} or its driver is wedged: check dmesg, reboot the node if "
                f"'hccn_tool -i {device} -link -g' still hangs")
    if errors:
        # A device the driver cannot see fails every query with the same text; say it once.
        by_output: dict[str, list[str]] = {}
        for key, value in sorted(errors.items()):
            by_output.setdefault(_ERROR_OUTPUT_RE.sub("", str(value)), []).append(key)
        problems.append("; ".join(f"hccn_tool -i {device} failed ({', '.join(keys)}): {output}"
                                  for output, keys in by_output.items()))
        actions.append(f"run 'hccn_tool -i {device} -link -g' by hand; a device the driver does not see is an "
                       "npu_driver problem (see its checks)")
    if entry.get("link") not in (None, "UP"):
        port = entry.get("lldp_ifname")
        where = f" {port}" if port else f" (hccn_tool -i {device} -lldp -g names it when the link is up)"
        problems.append(f"link {entry.get('link')}")
        actions.append(f"check the optical module and cable of {label} and its switch port{where}")
    # A missing IP comes before net_health: without an IP the health stays Init, so the IP is the cause.
    if entry.get("ip") is None and "ip" not in errors:
        problems.append("no device IP")
        actions.append(f"set it: hccn_tool -i {device} -ip -s address <ip> netmask <mask> (it is then written to "
                       "/etc/hccn.conf)")
    elif entry.get("ip") and conf.get("address") != entry.get("ip"):
        problems.append(f"IP {entry.get('ip')} differs from /etc/hccn.conf address_{device}="
                        f"{conf.get('address') or '(absent)'}")
        actions.append(f"make /etc/hccn.conf and the device agree: hccn_tool -i {device} -ip -s address "
                       "<ip> netmask <mask>")
    if entry.get("net_health") not in (None, "Success"):
        problems.append(f"net_health {entry.get('net_health')}")
        if entry.get("net_health") == "Init":
            actions.append(f"set a detect address: hccn_tool -i {device} -netdetect -s address <gateway>")
        else:
            actions.append(f"check the link and the detect address ({entry.get('netdetect') or 'none'}) of device "
                           f"{device}: hccn_tool -i {device} -net_health -g")
    if entry.get("gateway") is None and "gateway" not in errors:
        problems.append("no gateway")
        actions.append(f"set it: hccn_tool -i {device} -gateway -s gateway <gateway>")
    if entry.get("netdetect") is None and "netdetect" not in errors:
        problems.append("no netdetect address")
        actions.append(f"set it: hccn_tool -i {device} -netdetect -s address <gateway>")
    return problems, (actions[0] if actions else "")


def hccl_network_assess(hccn: Any, policy: Any) -> dict[str, Any]:
    """Per-device NIC checks of one node from the registered hccn_info result.

    ``policy``: ``devices`` (ids that must be checked), ``severity`` (CRITICAL or WARNING), ``labels``
    (logic id -> name, e.g. ``NPU 3 chip 1``; missing ids are named ``NPU <id>``).
    Returns ``checks`` and ``devices``: ``[{device, label, ip, usable, problems}]`` for the ping stage.
    """
    hccn = require_mapping(hccn, "hccl_network_assess input")
    policy = require_mapping(policy, "hccl_network_assess policy")
    severity = policy.get("severity") or WARNING
    labels = {int(key): value for key, value in (policy.get("labels") or {}).items()}
    wanted = [int(item) for item in policy.get("devices") or []]
    if hccn.get("failed") or "devices" not in hccn:
        message = hccn.get("msg") or "hccn_info returned nothing"
        return {
            "checks": [check("npu_network", severity, f"hccn_tool could not be queried: {message}",
                             "check that the driver's hccn_tool is installed "
                             "(/usr/local/Ascend/driver/tools/hccn_tool) and the driver is loaded")],
            "devices": [],
        }
    checks = []
    states = []
    entries = {int(entry["device"]): entry for entry in hccn["devices"]}
    unseen = []
    for device in wanted or sorted(entries):
        label = labels.get(device, f"NPU {device}")
        if labels and device not in labels:
            # npu-smi does not show it: npu_driver names that cause; its NIC errors would only repeat it.
            unseen.append(label)
            continue
        entry = entries.get(device)
        if entry is None:
            problems, action = ["not queried"], "re-run; the device was not part of the hccn_info result"
        else:
            problems, action = device_problems(entry, label)
        ip = (entry or {}).get("ip")
        if problems:
            checks.append(check("npu_network", severity, f"{label} ({ip or 'no IP'}): {', '.join(problems)}",
                                action, device))
        usable = bool(entry) and entry.get("link") == "UP" and ip is not None and not problems
        states.append({"device": device, "label": label, "ip": ip, "usable": usable, "problems": problems,
                       "lldp_ifname": (entry or {}).get("lldp_ifname")})
    if not checks:
        checks.append(check("npu_network", PASS, f"{len(states)} NPU NICs: link UP, net_health Success, IP as in "
                            "/etc/hccn.conf, gateway and netdetect set"))
    if unseen:
        checks.append(check("npu_network", PASS, f"not checked, npu-smi does not show them (see the npu_driver "
                            f"checks): {', '.join(unseen)}"))
    return {"checks": checks, "devices": states}
