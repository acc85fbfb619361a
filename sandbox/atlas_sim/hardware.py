"""The simulated Atlas hardware of one node: driver files, device nodes and NPU fabric addresses."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass

from .twin import state as twin_state

NODE_STATE_PATH = "/usr/local/Ascend/driver/lib64/.atlas-twin/node.json"
# Operators of Atlas hosts type `hccn_tool` bare, as the vLLM-Ascend docs do: login shells find the driver tools.
DRIVER_PROFILE = (b"# Ascend driver tools (hccn_tool) for login shells.\n"
                  b'case ":$PATH:" in *:/usr/local/Ascend/driver/tools:*) ;; '
                  b'*) PATH="$PATH:/usr/local/Ascend/driver/tools" ;; esac\n')


@dataclass(frozen=True)
class NodeLayer:
    files: dict[str, tuple[bytes, int]]
    devices: list[str]
    fabric: list[tuple[str, str]]
    state: dict


def node_layer(name: str, index: int, profile: str, load_seconds: float | None) -> NodeLayer:
    state = twin_state.build_node_state(name, index, profile, load_seconds)
    fabric = []
    for device in state["devices"]:
        prefix = ipaddress.ip_network(f"0.0.0.0/{device['netmask']}").prefixlen
        fabric.append((device["iface"], f"{device['ip']}/{prefix}"))
    files = {**twin_state.node_files(state), "/etc/profile.d/ascend_driver_env.sh": (DRIVER_PROFILE, 0o644)}
    return NodeLayer(files=files, devices=twin_state.device_nodes(state),
                     fabric=fabric, state=state)


def state_json(state: dict) -> bytes:
    return (json.dumps(state, indent=2) + "\n").encode()
