"""The sandbox network: a `lab` netns with two bridges and no uplink, one netns per node and gateway.

Management network 10.231.0.0/24 on bridge `mgmt` (nodes from .11, gateways from .201); NPU fabric
10.232.0.0/16 on bridge `fabric` (one veth per NPU device, named npu<N> inside the node; gateways
have none). While the sandbox is up the root namespace holds blackhole routes for both ranges, so a
mistake can never route a packet out.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from .proc import run

LAB = "lab"
MGMT_BRIDGE = "mgmt"
FABRIC_BRIDGE = "fabric"
MGMT_NET = ipaddress.ip_network("10.231.0.0/24")
FABRIC_NET = ipaddress.ip_network("10.232.0.0/16")
BLACKHOLES = ("10.231.0.0/16", "10.232.0.0/16")
LAB_MGMT_IP = "10.231.0.1"
LAB_FABRIC_IP = "10.232.0.1"
NETNS_DIR = Path("/run/netns")


def node_ip(index: int) -> str:
    return str(MGMT_NET.network_address + 10 + index)


def gateway_ip(index: int) -> str:
    return str(MGMT_NET.network_address + 200 + index)


def mac_for(ip: str) -> str:
    """A fixed MAC per IP: re-using an IP with a new MAC stalls SSH on stale ARP entries."""
    octets = ipaddress.ip_address(ip).packed
    return "02:00:" + ":".join(f"{b:02x}" for b in octets)


def netns_exists(name: str) -> bool:
    return (NETNS_DIR / name).exists()


def in_ns(ns: str, *argv: str) -> list[str]:
    return ["ip", "-n", ns, *argv]


def create_lab() -> None:
    run(["ip", "netns", "add", LAB])
    run(in_ns(LAB, "link", "set", "lo", "up"))
    for bridge, address in ((MGMT_BRIDGE, f"{LAB_MGMT_IP}/24"), (FABRIC_BRIDGE, f"{LAB_FABRIC_IP}/16")):
        run(in_ns(LAB, "link", "add", bridge, "type", "bridge"))
        run(in_ns(LAB, "addr", "add", address, "dev", bridge))
        run(in_ns(LAB, "link", "set", bridge, "up"))


def add_blackholes() -> None:
    for prefix in BLACKHOLES:
        if not _has_blackhole(prefix):
            run(["ip", "route", "add", "blackhole", prefix])


def remove_blackholes() -> None:
    for prefix in BLACKHOLES:
        if _has_blackhole(prefix):
            run(["ip", "route", "del", "blackhole", prefix])


def _has_blackhole(prefix: str) -> bool:
    return bool(run(["ip", "route", "show", "type", "blackhole", prefix], check=False).stdout.strip())


def create_node(name: str, index: int, fabric: list[tuple[str, str]]) -> None:
    """Create the node's netns, its management veth and one fabric veth per NPU device.

    `fabric` lists (interface name in the node, address/prefix) per device.
    """
    _create_host(name, node_ip(index), f"m{index:02d}")
    # Several fabric ports share one subnet: each must answer ARP only for its own address,
    # so a port that is down really stops answering.
    for key, value in (("arp_ignore", "1"), ("arp_announce", "2"), ("rp_filter", "0")):
        run(["ip", "netns", "exec", name, "sysctl", "-q", "-w", f"net.ipv4.conf.all.{key}={value}"])
    for device, (iface, address) in enumerate(fabric):
        lab_end = f"f{index:02d}d{device}"
        run(["ip", "link", "add", lab_end, "netns", LAB, "type", "veth", "peer", "name", iface, "netns", name])
        run(in_ns(LAB, "link", "set", lab_end, "master", FABRIC_BRIDGE, "up"))
        host_addr = ipaddress.ip_interface(address).ip
        run(in_ns(name, "link", "set", iface, "address", mac_for(str(host_addr))))
        run(in_ns(name, "addr", "add", address, "dev", iface))
        run(in_ns(name, "link", "set", iface, "up"))


def create_gateway(name: str, index: int) -> None:
    """A gateway is on the management network only: it has no NPU fabric ports."""
    _create_host(name, gateway_ip(index), f"g{index:02d}")


def _create_host(name: str, ip: str, peer: str) -> None:
    """The host's netns with `eth0` on the management bridge (`peer` is its end in the lab)."""
    run(["ip", "netns", "add", name])
    run(["ip", "link", "add", peer, "netns", LAB, "type", "veth", "peer", "name", "eth0", "netns", name])
    run(in_ns(LAB, "link", "set", peer, "master", MGMT_BRIDGE, "up"))
    run(in_ns(name, "link", "set", "lo", "up"))
    run(in_ns(name, "link", "set", "eth0", "address", mac_for(ip)))
    run(in_ns(name, "addr", "add", f"{ip}/{MGMT_NET.prefixlen}", "dev", "eth0"))
    run(in_ns(name, "link", "set", "eth0", "up"))
    run(in_ns(name, "route", "add", "default", "via", LAB_MGMT_IP))


def delete_netns(name: str) -> None:
    if netns_exists(name):
        run(["ip", "netns", "del", name], check=False)


def our_namespaces() -> list[str]:
    if not NETNS_DIR.is_dir():
        return []
    return sorted(n for n in os.listdir(NETNS_DIR) if n == LAB or n.startswith("atlas-"))


def set_link(node: str, iface: str, up: bool) -> None:
    run(in_ns(node, "link", "set", iface, "up" if up else "down"))
