"""`atlas-sim fault`: record a fault in a node's simulated driver state and make it physically true.

The node-side `atlas-twin` command records the fault (the simulated tools read it on every call);
this module adds what the tools cannot fake: a downed fabric port, a vanished device node, a missing
image, missing or corrupted weight files. `clear` undoes all of it.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess

from . import host, labsvc, net, weights
from .image.build import REPO_TAGS
from .proc import SimError
from .twin import state as twin_state

STASH = "/var/lib/atlas-sim/stash"
# `atlas-sim fault lab KIND`: faults of the site's services rather than of one node.
LAB = "lab"
LAB_FAULTS = ("registry-down",)
# Flips bytes of the first shard of every model in the cache, keeping the original aside for `clear`.
CORRUPT_SCRIPT = r"""
import pathlib, shutil, sys
root, stash = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
shards = sorted(root.rglob("*.safetensors"))
if not shards:
    sys.exit("no safetensors shard under " + str(root))
shard = shards[0]
keep = stash / "corrupt" / shard.relative_to(root)
keep.parent.mkdir(parents=True, exist_ok=True)
shutil.copy2(shard, keep)
data = bytearray(shard.read_bytes())
middle = len(data) // 2
data[middle:middle + 16] = bytes(b ^ 0xFF for b in data[middle:middle + 16])
shard.write_bytes(bytes(data))
print(shard)
"""


def _node(name: str, argv: list[str], check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(host.exec_argv(name, argv), capture_output=True, text=True)
    if check and result.returncode != 0:
        raise SimError(f"{name}: {' '.join(argv)} failed: {(result.stderr or result.stdout).strip()}")
    return result


def _state(name: str) -> dict:
    return json.loads(_node(name, ["atlas-twin", "show"]).stdout)["node"]


def _device(state: dict, device: str | None) -> dict:
    for entry in state["devices"]:
        if device is not None and str(entry["logic_id"]) == str(device):
            return entry
    raise SimError(f"{state['hostname']}: no NPU device {device} (logic ids 0..{len(state['devices']) - 1})")


def inject(name: str, kind: str, device: str | None, value: str | None) -> str:
    if kind not in twin_state.FAULT_KINDS:
        raise SimError(f"unknown fault kind {kind}; kinds: {', '.join(twin_state.FAULT_KINDS)}, clear")
    argv = ["atlas-twin", "fault", kind]
    argv += ["--device", device] if device is not None else []
    argv += ["--value", value] if value is not None else []
    recorded = _node(name, argv).stdout.strip()
    state = _state(name)
    if kind == "link-down":
        net.set_link(name, _device(state, device)["iface"], up=False)
    elif kind == "no-ip":
        entry = _device(state, device)
        subprocess.run(net.in_ns(name, "addr", "flush", "dev", entry["iface"]), check=True)
    elif kind == "device-missing":
        _node(name, ["rm", "-f", f"/dev/davinci{_device(state, device)['logic_id']}"])
    elif kind == "image-missing":
        # Every name the image goes by on the node: the loaded quay.io tags and any pulled from a mirror.
        listed = _node(name, ["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}"]).stdout.split()
        tags = sorted({*REPO_TAGS, *(tag for tag in listed if tag.rsplit(":", 1)[0].endswith("ascend/vllm-ascend"))})
        _node(name, ["docker", "image", "rm", "--force", *tags], check=False)
    elif kind == "weights-missing":
        _node(name, ["mkdir", "-p", f"{STASH}/weights"])
        _node(name, ["sh", "-c", 'for d in "$1"/*; do [ -e "$d" ] && mv "$d" "$2"/; done; true', "sh",
                     weights.NODE_CACHE_ROOT, f"{STASH}/weights"])
    elif kind == "weights-corrupt":
        _node(name, ["python3", "-c", CORRUPT_SCRIPT, weights.NODE_CACHE_ROOT, STASH])
    return recorded


def clear(name: str, image_archive_loader) -> None:
    state = _state(name)
    kinds = {fault["kind"] for fault in state["faults"]}
    _node(name, ["atlas-twin", "fault", "clear"])
    for entry in state["devices"]:
        net.set_link(name, entry["iface"], up=True)
        prefix = ipaddress.ip_network(f"0.0.0.0/{entry['netmask']}").prefixlen
        subprocess.run(net.in_ns(name, "addr", "replace", f"{entry['ip']}/{prefix}", "dev", entry["iface"]),
                       check=True)
        path = f"/dev/davinci{entry['logic_id']}"
        _node(name, ["sh", "-c", '[ -e "$1" ] || mknod -m 0666 "$1" c 1 3', "sh", path])
    if "weights-missing" in kinds:
        _node(name, ["sh", "-c", 'for d in "$1"/*; do [ -e "$d" ] && mv "$d" "$2"/; done; true', "sh",
                     f"{STASH}/weights", weights.NODE_CACHE_ROOT])
    if "weights-corrupt" in kinds:
        _node(name, ["sh", "-c", '[ -d "$1" ] && cp -a "$1"/. "$2"/ && rm -rf "$1"; true', "sh",
                     f"{STASH}/corrupt", weights.NODE_CACHE_ROOT])
    if "image-missing" in kinds:
        image_archive_loader(name)


def lab_fault(kind: str) -> str:
    """registry-down hangs the first lab registry (its mirror keeps serving); clear resumes it."""
    if kind not in (*LAB_FAULTS, "clear"):
        raise SimError(f"unknown lab fault kind {kind}; kinds: {', '.join(LAB_FAULTS)}, clear")
    labsvc.set_registry_down(kind == "registry-down")
    if kind == "clear":
        return f"lab: registry {labsvc.REGISTRY} answers again"
    return (f"lab: registry {labsvc.REGISTRY} hangs (connections accepted, never answered); "
            f"{labsvc.REGISTRY_MIRROR} serves")
