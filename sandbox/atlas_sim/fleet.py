"""Bringing the whole fleet up and down, and describing it (status, inventory).

A fleet is its nodes (simulated Atlas servers, `atlas-NN`) and, optionally, its gateways (plain
Debian 12 hosts for the vLLM router, `atlas-gw-NN`). The record in fleet.json lists them apart:
`hosts` the nodes, `gateways` the gateways, so everything that walks the nodes stays as it was.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from . import hardware, host, images, kernel_limits, labsvc, mirror, net, paths, rootfs, weights, wheelhouse
from .aisbench.kit import build_kit, kit_digest
from .identity import GATEWAY_OS, IDENTITIES
from .proc import SimError, run
from .spec import FleetSpec

Progress = Callable[[str], None]


def load_record() -> dict | None:
    try:
        return json.loads(paths.fleet_file().read_text())
    except (OSError, ValueError):
        return None


def all_hosts(record: dict) -> list[dict]:
    """Nodes then gateways (records written before gateways existed have none)."""
    return [*record["hosts"], *record.get("gateways", [])]


def alive(record: dict) -> bool:
    return all(host.init_pid(entry["name"]) is not None for entry in all_hosts(record))


def plan(spec: FleetSpec) -> dict:
    """The fleet record `up` writes: every node and gateway with its address and OS."""
    nodes = [{"name": name, "ip": net.node_ip(index), "os": spec.os[index - 1], "profile": spec.profiles[index - 1]}
             for index, name in enumerate(spec.names(), start=1)]
    gateways = [{"name": name, "ip": net.gateway_ip(index), "os": GATEWAY_OS}
                for index, name in enumerate(spec.gateway_names(), start=1)]
    return {"spec": spec.to_dict(), "hosts": nodes, "gateways": gateways}


def up(spec: FleetSpec, progress: Progress) -> dict:
    record = load_record()
    if record is not None:
        diff = spec.differences(record["spec"])
        if alive(record):
            if diff:
                raise SimError("a different fleet is up (" + "; ".join(diff) + "): run 'atlas-sim down' first")
            progress(f"fleet of {spec.nodes} node(s) and {spec.gateways} gateway(s) already up; nothing to do")
            return record
        progress("found a fleet left half-up by an earlier run; cleaning it first")
    down(progress, quiet_if_empty=True)

    root = rootfs.ensure(progress)
    mirror_root = mirror.ensure(progress, root)
    archive = images.ensure_archive(progress)
    exporter_archive = images.ensure_exporter_archive(progress)
    weights.ensure_mirror(progress)
    _ensure_aisbench_kit(progress)
    if spec.gateways:
        wheelhouse.ensure(progress)
    record = plan(spec)
    names = spec.names()
    every = all_hosts(record)
    every_name = [entry["name"] for entry in every]
    paths.run_dir().mkdir(parents=True, exist_ok=True)
    _make_keys(every_name)
    if spec.gateways:
        _make_client_keys()
    progress(f"creating the lab network, {len(names)} node and {spec.gateways} gateway namespace(s)")
    net.add_blackholes()
    net.create_lab()
    labsvc.start_registry()
    labsvc.start_mirror()
    progress(f"lab registry on {labsvc.REGISTRY} (read-only mirror of it on {labsvc.REGISTRY_MIRROR}), "
             f"model mirror on {labsvc.MIRROR_URL}")
    model_files = weights.node_files() if spec.weights else {}
    hosts_file = _hosts_file(every)
    pubkey = paths.ssh_key().with_suffix(".pub").read_text()
    for index, node in enumerate(record["hosts"], start=1):
        layer = hardware.node_layer(node["name"], index, node["profile"], spec.load_seconds)
        net.create_node(node["name"], index, layer.fabric)
        host.prepare(node["name"], node["ip"], IDENTITIES[node["os"]], hosts_file, pubkey,
                     {**layer.files, **model_files}, layer.devices)
    # Gateways get only their identity: no driver files, device nodes, fabric ports or weights.
    for index, gateway in enumerate(record["gateways"], start=1):
        net.create_gateway(gateway["name"], index)
        host.prepare(gateway["name"], gateway["ip"], IDENTITIES[gateway["os"]], hosts_file, pubkey, {}, [])
    paths.fleet_file().write_text(json.dumps(record, indent=2) + "\n")
    kernel_limits.raise_for(len(every_name), paths.kernel_limits_file(), progress)
    progress(f"booting {len(names)} node(s) and {spec.gateways} gateway(s)")
    for name in every_name:
        host.launch(name, root, mirror_root)
    for name in every_name:
        host.wait_for_init(name)
    _wait_sshd([entry["ip"] for entry in every], progress)
    with ThreadPoolExecutor(max_workers=len(every_name)) as pool:
        states = dict(zip(every_name, pool.map(host.wait_running, every_name), strict=True))
    for name, state in states.items():
        if state != "running":
            progress(f"{name}: systemd is {state}; failed units: {', '.join(host.failed_units(name))}")
    _refresh_package_lists([entry["name"] for entry in every if IDENTITIES[entry["os"]].package_lists_refresh])
    if spec.image:
        images.load_all(names, archive, progress)
    images.push_to_registry(names[0], archive, loaded=spec.image, progress=progress)
    images.push_exporter(names[0], exporter_archive, progress)
    write_inventory(record)
    progress(f"fleet up: {', '.join(every_name)} (inventory: {paths.inventory_file()})")
    return record


def _ensure_aisbench_kit(progress: Progress) -> None:
    """The AISBench package and TextVQA data an operator supplies (the image has neither)."""
    target = paths.cache_dir() / "aisbench"
    marker = target / ".kit-sha256"
    wanted = kit_digest()
    if not (target / "textvqa.tar.gz").is_file() or not marker.is_file() or marker.read_text().strip() != wanted:
        progress("building the AISBench kit (package and TextVQA data) for the accuracy role")
        build_kit(target)
        marker.write_text(wanted + "\n")


def _refresh_package_lists(names: list[str]) -> None:
    """A real server has package lists from its last `apt update`; give the hosts theirs from the mirror."""
    def refresh(name: str) -> None:
        run(host.exec_argv(name, ["apt-get", "update", "-qq"]))
    with ThreadPoolExecutor(max_workers=max(1, len(names))) as pool:
        list(pool.map(refresh, names))


def _make_keys(names: list[str]) -> None:
    key = paths.ssh_key()
    if not key.exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "atlas-sim", "-f", str(key)])
    keys_dir = paths.run_dir() / "hostkeys"
    for name in names:
        target = keys_dir / name
        if not (target / "ssh_host_ed25519_key").exists():
            target.mkdir(parents=True, exist_ok=True)
            run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"root@{name}",
                 "-f", str(target / "ssh_host_ed25519_key")])


# The fleet endpoint's clients in the sandbox: each gets a fresh random key per fleet.
GATEWAY_CLIENTS = ("demo", "nightly")


def _make_client_keys() -> None:
    target = paths.gateway_clients_file()
    if target.exists():
        return
    target.touch(mode=0o600)
    target.write_text(json.dumps({name: secrets.token_hex(32) for name in GATEWAY_CLIENTS}, indent=2) + "\n")


def _hosts_file(hosts: list[dict]) -> str:
    """Every host lists the whole fleet (nodes and gateways): a missing name means resolver timeouts."""
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback",
             f"{net.LAB_MGMT_IP}\tlab"]
    lines += [f"{entry['ip']}\t{entry['name']}" for entry in hosts]
    return "\n".join(lines) + "\n"


def _wait_sshd(addresses: list[str], progress: Progress, timeout: float = 60.0) -> None:
    argv = ["nsenter", f"--net={net.NETNS_DIR / net.LAB}", sys.executable, "-m", "atlas_sim.waitports",
            str(timeout), *addresses]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[1])
    assert proc.stdout is not None
    for line in proc.stdout:
        progress(line.strip())
    if proc.wait() != 0:
        raise SimError("some hosts' sshd never answered; see the lines above and build/sandbox/run/hosts/*/boot.log")


def down(progress: Progress, quiet_if_empty: bool = False) -> None:
    """Remove every namespace, mount, cgroup, process and file that up made; safe when nothing is up."""
    hosts_dir = paths.run_dir() / "hosts"
    for name, pid in host.orphan_launchers().items():
        if host.launcher_pid(name) is None:
            progress(f"{name}: found its launcher {pid} without a pid file; stopping it")
            host.adopt(name, pid)
    names = sorted(p.name for p in hosts_dir.iterdir()) if hosts_dir.is_dir() else []
    namespaces = net.our_namespaces()
    if not names and not namespaces and not quiet_if_empty:
        progress("nothing is up")
    for name in names:
        host.stop(name)
    stale_cgroups = [p.name for p in host.CGROUP_PARENT.iterdir() if p.is_dir()] if host.CGROUP_PARENT.is_dir() else []
    for name in sorted(set(names) | set(stale_cgroups)):
        host.remove_cgroup(name)
    if host.CGROUP_PARENT.is_dir() and not any(p.is_dir() for p in host.CGROUP_PARENT.iterdir()):
        host.CGROUP_PARENT.rmdir()
    labsvc.stop_all()
    for ns in namespaces:
        net.delete_netns(ns)
    net.remove_blackholes()
    kernel_limits.restore(paths.kernel_limits_file(), progress)
    if paths.run_dir().exists():
        shutil.rmtree(paths.run_dir())
    paths.inventory_file().unlink(missing_ok=True)
    if names or namespaces:
        progress(f"fleet down: removed {len(names)} host(s) and {len(namespaces)} namespace(s)")


def status() -> list[dict]:
    """Every node, then every gateway, with its role and whether it runs."""
    record = load_record()
    if record is None:
        return []
    return [{**entry, "role": role, "running": host.init_pid(entry["name"]) is not None}
            for role, entries in (("node", record["hosts"]), ("gateway", record.get("gateways", [])))
            for entry in entries]


def ssh_common_args() -> str:
    relay = Path(__file__).with_name("relay.py")
    proxy = f"nsenter --net={net.NETNS_DIR / net.LAB} {sys.executable} {relay} %h %p"
    known = paths.run_dir() / "known_hosts"
    return (f"-o ProxyCommand='{proxy}' -o UserKnownHostsFile={known} -o StrictHostKeyChecking=yes "
            "-o PasswordAuthentication=no")


def _connection_vars() -> dict:
    return {
        "ansible_user": "root",
        "ansible_ssh_private_key_file": str(paths.ssh_key()),
        "ansible_ssh_common_args": ssh_common_args(),
        "ansible_python_interpreter": "/usr/bin/python3",
    }


def inventory_groups(record: dict) -> dict:
    """Group `atlas_nodes` (the nodes) and, when there are any, `atlas_gateways`; each carries the same
    connection vars, so either group works on its own (e.g. `ansible-playbook -l atlas_gateways`)."""
    groups = {"atlas_nodes": record["hosts"], "atlas_gateways": record.get("gateways", [])}
    # The gateways' group_vars find the sandbox's client keys and fleet CA through atlas_sim_home.
    extra = {"atlas_gateways": {"atlas_sim_home": str(paths.home())}}
    # A fresh vars dict per group: a shared one would come out of yaml.safe_dump as an anchor and alias.
    return {group: {"hosts": {entry["name"]: {"ansible_host": entry["ip"]} for entry in entries},
                    "vars": {**_connection_vars(), **extra.get(group, {})}}
            for group, entries in groups.items() if entries}


def write_inventory(record: dict) -> Path:
    known = paths.run_dir() / "known_hosts"
    known.write_text("".join(
        f"{entry['ip']} " + " ".join(
            (paths.run_dir() / "hostkeys" / entry["name"] / "ssh_host_ed25519_key.pub").read_text().split()[:2]) + "\n"
        for entry in all_hosts(record)))
    target = paths.inventory_file()
    header = "# Generated by atlas-sim up: connection facts only. Deploy settings live in group_vars/ beside it.\n"
    target.write_text(header + yaml.safe_dump(inventory_groups(record), sort_keys=False))
    return target
