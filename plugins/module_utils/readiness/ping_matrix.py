# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Every node's pings aggregated into one matrix: per-node ping_matrix checks and the lines people read.

A device that fails with every peer while the peers reach each other is named once, on its node, as the cause;
other failing pairs are named one by one on the node that sent the ping.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.atlas.vllm.plugins.module_utils.readiness.checks import PASS, WARNING, check, require_mapping
from ansible_collections.atlas.vllm.plugins.module_utils.readiness.ping_plan import peers as planned_peers


def _endpoint(node: dict[str, Any], device: int) -> str:
    state = next((item for item in node.get("devices") or [] if item["device"] == device), {})
    return f"{node['host']} {state.get('label') or f'NPU {device}'} ({state.get('ip') or 'no IP'})"


def hccl_network_ping_matrix(nodes: Any, policy: Any) -> dict[str, Any]:
    """Aggregate every node's pings into one matrix and per-node checks.

    ``nodes``: ``[{host, devices: [{device, label, ip, usable, problems}], pings: [hccn_ping results]}]``.
    ``policy``: ``mode``, ``severity``, ``max_loss_pct``, ``multi_node``.
    A node whose device fails with every peer while the peers reach each other is named once as the cause;
    other failing pairs are named one by one on the node that sent the ping.
    """
    nodes = list(nodes or [])
    policy = require_mapping(policy, "hccl_network_ping_matrix policy")
    severity = policy.get("severity") or WARNING
    max_loss = float(policy.get("max_loss_pct") or 0)
    mode = policy.get("mode") or "ring"
    hosts = [node["host"] for node in nodes]
    by_host = {node["host"]: node for node in nodes}
    result: dict[str, list[dict[str, Any]]] = {host: [] for host in hosts}
    if len(nodes) < 2:
        status = WARNING if policy.get("multi_node") else PASS
        for host in hosts:
            result[host].append(check("ping_matrix", status,
                                      "only one node in this play: cross-node ping matrix skipped",
                                      "run preflight on every node of the instance (no --limit) to test the fabric"
                                      if status != PASS else ""))
        return {"checks": result, "lines": ["cross-node ping skipped: only one node in the play"]}

    # (src, dst, device) -> loss; absent = not pinged (an end was known bad).
    address_owner = {}
    for node in nodes:
        for item in node.get("devices") or []:
            if item.get("ip"):
                address_owner[(item["device"], item["ip"])] = node["host"]
    outcome: dict[tuple[str, str, int], float] = {}
    for node in nodes:
        for ping in node.get("pings") or []:
            dst = address_owner.get((ping["device"], ping["address"]))
            if dst is not None:
                outcome[(node["host"], dst, int(ping["device"]))] = float(ping.get("loss_pct", 100.0))

    failed = {key for key, loss in outcome.items() if loss > max_loss}
    blamed: dict[tuple[str, int], list[tuple[str, str, int]]] = {}
    for device in sorted({key[2] for key in outcome}):
        tested = [key for key in outcome if key[2] == device]
        for host in hosts:
            mine = [key for key in tested if host in key[:2]]
            others_ok = any(key not in failed for key in tested if host not in key[:2])
            peers = {key[0] if key[1] == host else key[1] for key in mine}
            if len(peers) >= 2 and others_ok and all(key in failed for key in mine):
                blamed[(host, device)] = mine
    explained = {key for keys in blamed.values() for key in keys}

    for (host, device), keys in sorted(blamed.items()):
        peers = sorted({key[0] if key[1] == host else key[1] for key in keys})
        state = next(item for item in by_host[host]["devices"] if item["device"] == device)
        port = state.get("lldp_ifname")
        result[host].append(check(
            "ping_matrix", severity,
            f"{_endpoint(by_host[host], device)} reaches none of its {len(peers)} peers ({', '.join(peers)}) and "
            "they reach each other: the fault is on this node's side",
            f"check the optical module of {state.get('label') or f'NPU {device}'} and its switch port "
            + (port or f"(hccn_tool -i {device} -lldp -g)"), device))
    for src, dst, device in sorted(failed - explained):
        loss = outcome[(src, dst, device)]
        result[src].append(check(
            "ping_matrix", severity,
            f"{_endpoint(by_host[src], device)} -> {_endpoint(by_host[dst], device)}: {loss:g}% loss",
            f"check the fabric path between the two switch ports (hccn_tool -i {device} -lldp -g on both nodes), "
            f"then re-test with 'hccn_tool -i {device} -ping -g address "
            f"{next(i['ip'] for i in by_host[dst]['devices'] if i['device'] == device)}'", device))

    skipped: dict[str, list[str]] = {}
    for node in nodes:
        for item in node.get("devices") or []:
            if not item.get("usable"):
                skipped.setdefault(node["host"], []).append(item.get("label") or f"NPU {item['device']}")
    lines = []
    for src in hosts:
        for dst in planned_peers(hosts, src, mode):
            keys = [key for key in outcome if key[0] == src and key[1] == dst]
            bad = sorted(key[2] for key in keys if key in failed)
            lines.append(f"{src} -> {dst}: {len(keys) - len(bad)}/{len(keys)} device pairs OK"
                         + (f", failing devices {bad}" if bad else ""))
    for host, labels in sorted(skipped.items()):
        lines.append(f"not pinged (cause named in {host}'s npu_network check): {host} {', '.join(labels)}")
    for host in hosts:
        if not any(item["name"] == "ping_matrix" for item in result[host]):
            sent = sum(1 for key in outcome if key[0] == host)
            note = f"; {', '.join(skipped[host])} not pinged (see npu_network)" if host in skipped else ""
            result[host].append(check("ping_matrix", PASS, f"{sent} pings to {mode} peers within {max_loss:g}% "
                                      f"loss{note}"))
    return {"checks": result, "lines": lines}
