"""The node-side driver library (atlas_twin): effective view, process registrations, pid resolution."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures_twin"))
import twin_helpers as th

lib = th.atlas_twin

CHILD = """
import sys, atlas_twin
atlas_twin.register_process({devices}, {mb}, {name!r})
print("ready", flush=True)
{after}
"""


def build(profile: str = "910b3-64g") -> dict[str, Any]:
    return th.state.build_node_state("atlas-01", 1, profile, None)


@pytest.fixture
def twin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> th.Twin:
    node = th.Twin(tmp_path, build())
    monkeypatch.setenv("ATLAS_TWIN_STATE_DIR", str(node.state_dir))
    monkeypatch.setenv("ATLAS_TWIN_PROCS_DIR", str(node.state_dir / "procs"))
    monkeypatch.setenv("ATLAS_TWIN_DEV_DIR", str(node.dev_dir))
    return node


def start_child(twin: th.Twin, devices: list[int], mb: int, name: str, wait: bool) -> subprocess.Popen[str]:
    code = CHILD.format(devices=devices, mb=mb, name=name, after="sys.stdin.readline()" if wait else "")
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=dict(twin.env, PYTHONPATH=str(th.NODE_DIR)),
    )
    assert child.stdout is not None and child.stdout.readline() == "ready\n"
    return child


# ---------------------------------------------------------------------------------------------------------------
# State and view
# ---------------------------------------------------------------------------------------------------------------


def test_load_node_and_state_dir(twin: th.Twin) -> None:
    assert lib.state_dir() == twin.state_dir
    assert lib.load_node() == twin.load()


def test_default_state_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ATLAS_TWIN_STATE_DIR", raising=False)
    assert str(lib.state_dir()) == "/usr/local/Ascend/driver/lib64/.atlas-twin"


def test_missing_state_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATLAS_TWIN_STATE_DIR", str(tmp_path / "none"))
    with pytest.raises(FileNotFoundError):
        lib.load_node()


def test_device_view_contract_keys() -> None:
    view = lib.device_view(build(), procs=[])
    required = {"logic_id", "npu_id", "chip_id", "name", "present", "health", "error_code", "hbm_total_mb"}
    required |= {"hbm_used_mb", "link", "net_health", "ip"}
    assert all(required <= set(dev) for dev in view)
    first = view[0]
    assert (first["present"], first["health"], first["error_code"], first["link"]) == (True, "OK", None, "UP")
    assert (first["net_health"], first["ip"], first["hbm_used_mb"]) == ("Success", "10.232.1.1", 3396)


def test_device_view_faults() -> None:
    node = build()
    th.state.apply_fault(node, "npu-unhealthy", 0, "Alarm")
    th.state.apply_fault(node, "hbm-busy", 1, 60000)
    th.state.apply_fault(node, "device-missing", 2)
    th.state.apply_fault(node, "link-down", 3)
    th.state.apply_fault(node, "no-ip", 4)
    th.state.apply_fault(node, "net-health", 5, "Init")
    th.state.apply_fault(node, "link-down", 5)
    procs = [{"devices": [1, 6], "hbm_mb_per_device": 10000}]
    view = lib.device_view(node, procs=procs)
    assert (view[0]["health"], view[0]["error_code"]) == ("Alarm", "80CB8009")
    assert view[1]["hbm_used_mb"] == 65536  # 3380 + 60000 + 10000, capped at the total
    assert view[6]["hbm_used_mb"] == 3418 + 10000
    assert view[2]["present"] is False
    assert (view[3]["link"], view[3]["net_health"]) == ("DOWN", "Fault")
    assert (view[4]["ip"], view[4]["net_health"]) == (None, "Init")
    assert view[5]["net_health"] == "Init"  # an explicit net-health fault wins over link-down


def test_faults_filter() -> None:
    node = th.state.apply_fault(build(), "slow-load", value=30)
    th.state.apply_fault(node, "no-ip", 1)
    assert lib.faults(node, "slow-load") == [{"kind": "slow-load", "device": None, "value": 30.0}]
    assert len(lib.faults(node)) == 2


def test_visible_devices(twin: th.Twin, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert lib.visible_devices() == list(range(8))
    container = tmp_path / "container-dev"
    container.mkdir()
    for name in ("davinci3", "davinci_manager", "davinci12", "null"):
        (container / name).touch()
    monkeypatch.setenv("ATLAS_TWIN_DEV_DIR", str(container))
    assert lib.visible_devices() == [3, 12]
    assert lib.manager_present()


# ---------------------------------------------------------------------------------------------------------------
# Registrations
# ---------------------------------------------------------------------------------------------------------------


def test_register_in_process(twin: th.Twin) -> None:
    reg = lib.register_process([2, 3], 4096, "VLLMWorker_TP")
    try:
        assert reg.path == twin.state_dir / "procs" / f"{reg.id}.json"
        (proc,) = lib.active_processes()
        assert (proc["pid"], proc["devices"], proc["hbm_mb_per_device"]) == (os.getpid(), [2, 3], 4096)
        assert proc["name"] == "VLLMWorker_TP" and proc["pidns"] == os.readlink("/proc/self/ns/pid")
        assert lib.device_view()[2]["hbm_used_mb"] == 3412 + 4096
    finally:
        reg.release()
    assert lib.active_processes() == [] and not reg.path.exists()


def test_registration_context_manager(twin: th.Twin) -> None:
    with lib.register_process([0], 1, "x") as reg:
        assert len(lib.active_processes()) == 1
    assert lib.active_processes() == [] and reg not in lib._HELD


@pytest.mark.parametrize("devices", [[8], [], [0, 99]])
def test_register_unknown_devices(twin: th.Twin, devices: list[int]) -> None:
    with pytest.raises(ValueError):
        lib.register_process(devices, 10, "x")


def test_register_missing_device(twin: th.Twin) -> None:
    twin.save(th.state.apply_fault(build(), "device-missing", 1))
    with pytest.raises(ValueError, match="not present"):
        lib.register_process([1], 10, "x")


def test_live_child_then_stale_cleanup(twin: th.Twin) -> None:
    child = start_child(twin, [4, 5], 2048, "VLLMWorker_TP", wait=True)
    (proc,) = lib.active_processes()
    assert proc["pid"] == child.pid
    child.communicate("\n", timeout=10)
    files = list((twin.state_dir / "procs").glob("*.json"))
    assert len(files) == 1  # the exited process left its file behind
    assert lib.active_processes() == []
    assert list((twin.state_dir / "procs").glob("*.json")) == []


def test_registration_dropped_by_caller_stays_alive(twin: th.Twin) -> None:
    child = start_child(twin, [0], 100, "kept", wait=True)
    try:
        assert [p["name"] for p in lib.active_processes()] == ["kept"]
    finally:
        child.communicate("\n", timeout=10)


def test_corrupt_registration_is_ignored(twin: th.Twin) -> None:
    procs = twin.state_dir / "procs"
    procs.mkdir(parents=True, exist_ok=True)
    (procs / ".keep").touch()
    (procs / "junk.json").write_text("{not json", encoding="utf-8")
    assert lib.active_processes() == []


# ---------------------------------------------------------------------------------------------------------------
# Pid resolution across pid namespaces (fake /proc)
# ---------------------------------------------------------------------------------------------------------------


def fake_proc(root: Path, pid: int, nspid: list[int], pidns: str, cmdline: list[str]) -> None:
    entry = root / str(pid)
    (entry / "ns").mkdir(parents=True)
    (entry / "status").write_text(
        f"Name:\tpython3\nPid:\t{pid}\nNSpid:\t" + "\t".join(map(str, nspid)) + "\n", encoding="utf-8"
    )
    (entry / "cmdline").write_bytes(b"\0".join(c.encode() for c in cmdline) + b"\0")
    os.symlink(pidns, entry / "ns" / "pid")


@pytest.fixture
def proc_root(tmp_path: Path) -> Path:
    root = tmp_path / "proc"
    (root / "self" / "ns").mkdir(parents=True)
    os.symlink("pid:[4026531836]", root / "self" / "ns" / "pid")
    fake_proc(root, 1, [1], "pid:[4026531836]", ["/sbin/init"])
    fake_proc(root, 5001, [5001, 1], "pid:[4026532999]", ["vllm", "serve", "other"])  # same inner pid, other ns
    fake_proc(root, 5002, [5002, 17], "pid:[4026532111]", ["python3", "other"])  # same ns, other command
    fake_proc(root, 5003, [5003, 17], "pid:[4026532111]", ["vllm", "serve", "Qwen/Qwen2.5-VL-7B-Instruct"])
    return root


def test_resolve_container_pid_on_host(proc_root: Path) -> None:
    record = {"pid": 17, "pidns": "pid:[4026532111]", "cmdline": ["vllm", "serve", "Qwen/Qwen2.5-VL-7B-Instruct"]}
    assert lib.resolve_pid(record, str(proc_root)) == 5003


def test_resolve_same_namespace(proc_root: Path) -> None:
    record = {"pid": 1234, "pidns": "pid:[4026531836]", "cmdline": ["x"]}
    assert lib.resolve_pid(record, str(proc_root)) == 1234


def test_resolve_falls_back_to_registered_pid(proc_root: Path) -> None:
    record = {"pid": 17, "pidns": "pid:[4026532777]", "cmdline": ["vllm", "serve", "Qwen/Qwen2.5-VL-7B-Instruct"]}
    assert lib.resolve_pid(record, str(proc_root)) == 17


def test_resolve_without_namespace_uses_cmdline(proc_root: Path) -> None:
    record = {"pid": 1, "pidns": None, "cmdline": ["vllm", "serve", "other"]}
    assert lib.resolve_pid(record, str(proc_root)) == 5001


def test_resolve_real_proc_for_self() -> None:
    record = {"pid": os.getpid(), "pidns": os.readlink("/proc/self/ns/pid"), "cmdline": []}
    assert lib.resolve_pid(record) == os.getpid()


# ---------------------------------------------------------------------------------------------------------------
# Registrations in other mount namespaces (a container's own filesystem, fake /proc)
# ---------------------------------------------------------------------------------------------------------------


def test_registrations_in_a_container_filesystem_are_found_through_proc(
        twin: th.Twin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The driver may be mounted read-only: a container registers in its own /run, which the node reads through
    /proc/<pid>/root. Each mount namespace is read once, and one this process may not enter is skipped."""
    monkeypatch.setenv("ATLAS_TWIN_PROCS_DIR", "/run/atlas-twin/procs")
    proc = tmp_path / "proc"
    (proc / "self" / "ns").mkdir(parents=True)
    os.symlink("mnt:[4026531841]", proc / "self" / "ns" / "mnt")
    container = tmp_path / "container-rootfs"
    for pid, namespace in ((1, "mnt:[4026531841]"), (700, "mnt:[4026532500]"), (701, "mnt:[4026532500]"),
                           (900, "mnt:[4026532600]")):
        (proc / str(pid) / "ns").mkdir(parents=True)
        os.symlink(namespace, proc / str(pid) / "ns" / "mnt")
    os.symlink(container, proc / "700" / "root")
    os.symlink(container, proc / "701" / "root")
    os.symlink(tmp_path / "gone", proc / "900" / "root")  # a process that exited while the node looked
    assert lib.registration_dirs(str(proc)) == [Path("/run/atlas-twin/procs"),
                                                proc / "700" / "root" / "run" / "atlas-twin" / "procs",
                                                proc / "900" / "root" / "run" / "atlas-twin" / "procs"]
    # A live registration written inside the container is listed once, though two of its processes lead to it.
    twin.extra["ATLAS_TWIN_PROCS_DIR"] = str(container / "run" / "atlas-twin" / "procs")
    child = start_child(twin, [3], 512, "VLLMWorker_TP", wait=True)
    try:
        found = lib.active_processes(str(proc))
        assert [(p["name"], p["devices"], p["pid"]) for p in found] == [("VLLMWorker_TP", [3], child.pid)]
    finally:
        child.communicate("\n", timeout=10)
