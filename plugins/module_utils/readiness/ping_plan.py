# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Which peer devices each node pings.

Every node pings from each usable device to the same-index usable device of its peers (HCCL rings connect
same-index devices across nodes). The mode chooses the peers:

``ring``  the next node in play order (the last pings the first): one peer per node whatever the fleet size, and
          every node and device index both sends and receives.
``all``   every other node: the full mesh, n - 1 peers per node, for day 1 and after network work.

docs/preflight.md says what each mode can and cannot detect.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.atlas.vllm.plugins.module_utils.readiness.checks import ReadinessInputError

MODES = ("ring", "all")


def peers(hosts: list[str], host: str, mode: str) -> list[str]:
    """The nodes ``host`` pings, in play order."""
    if mode not in MODES:
        raise ReadinessInputError(f"hccl_network_ping_mode must be one of {', '.join(MODES)}, got {mode!r}")
    if host not in hosts or len(hosts) < 2:
        return []
    if mode == "ring":
        return [hosts[(hosts.index(host) + 1) % len(hosts)]]
    return [other for other in hosts if other != host]


def pings_per_node(mode: str, nodes: int, devices: int) -> int:
    """How many pings one node sends when every device is usable (the cost the mode puts on each node)."""
    return len(peers([str(index) for index in range(nodes)], "0", mode)) * devices


def ping_targets(nodes: Any, host: str, mode: str = "ring") -> list[dict[str, Any]]:
    """Pings ``host`` runs: each usable local device to the same-index usable device of each peer.

    ``nodes``: ``[{host, devices: [{device, ip, usable}]}]`` of every node in the play, in play order. Pairs with
    an end that is already known bad are not pinged: that device's own check names the cause once.
    """
    by_host = {node["host"]: node for node in nodes}
    if host not in by_host:
        return []
    hosts = [node["host"] for node in nodes]
    mine = {item["device"]: item for item in by_host[host].get("devices") or []}
    targets = []
    for peer in peers(hosts, host, mode):
        for item in by_host[peer].get("devices") or []:
            local = mine.get(item["device"])
            if local and local.get("usable") and item.get("usable"):
                targets.append({"device": item["device"], "address": item["ip"]})
    return targets
