"""Host-side state API of the twin's driver layer: profiles, faults, files and device nodes."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures_twin"))
import twin_helpers as th

state = th.state
PUBLIC_SAMPLE_NET = re.compile(rb"(?<![\d.])(11|29)\.\d+\.\d+\.\d+")


def build(profile: str = "910b3-64g", index: int = 1, load: float | None = None) -> dict[str, Any]:
    return state.build_node_state(f"atlas-{index:02d}", index, profile, load)


# ---------------------------------------------------------------------------------------------------------------
# Profiles
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("profile", "count", "name", "hbm", "version", "npus"),
    [
        ("910b3-64g", 8, "910B3", 65536, "25.2.0", 8),
        ("910b4-32g", 8, "910B4", 32768, "25.0.rc1.1", 8),
        ("a3", 16, "Ascend910", 65536, "25.2.0", 8),
    ],
)
def test_profiles(profile: str, count: int, name: str, hbm: int, version: str, npus: int) -> None:
    node = build(profile)
    assert node["schema"] == 1 and node["profile"] == profile
    assert node["npu_smi_version"] == node["driver_version"] == version
    assert len(node["devices"]) == count
    assert {d["name"] for d in node["devices"]} == {name}
    assert {d["hbm_total_mb"] for d in node["devices"]} == {hbm}
    assert len({d["npu_id"] for d in node["devices"]}) == npus
    assert [d["logic_id"] for d in node["devices"]] == list(range(count))
    assert len({d["bus_id"] for d in node["devices"]}) == count
    assert node["faults"] == [] and node["load_seconds"] is None


def test_default_profile_idle_hbm_varies_in_range() -> None:
    idle = [d["hbm_idle_mb"] for d in build()["devices"]]
    assert all(3200 <= mb <= 3500 for mb in idle) and len(set(idle)) == 8
    assert state.DEFAULT_PROFILE == "910b3-64g" and set(state.PROFILES) == {"910b3-64g", "910b4-32g", "a3"}


def test_default_profile_bus_ids_follow_sample_a() -> None:
    devices = build()["devices"]
    assert devices[0]["bus_id"] == "0000:C1:00.0" and devices[7]["bus_id"] == "0000:42:00.0"


def test_a3_chips_and_power() -> None:
    devices = build("a3")["devices"]
    assert [(d["npu_id"], d["chip_id"], d["phy_id"]) for d in devices[:4]] == [
        (0, 0, 0),
        (0, 1, 1),
        (1, 0, 2),
        (1, 1, 3),
    ]
    assert all(d["power_w"] is None for d in devices if d["chip_id"] == 1)
    assert all(d["power_w"] for d in devices if d["chip_id"] == 0)
    assert {d["npu_name"] for d in devices} == {"9392"}


def test_fabric_addressing() -> None:
    node = build(index=3)
    dev = node["devices"][4]
    assert (dev["ip"], dev["netmask"], dev["gateway"], dev["netdetect"]) == (
        "10.232.3.5",
        "255.255.0.0",
        "10.232.0.1",
        "10.232.0.1",
    )
    assert (dev["iface"], dev["lldp_ifname"]) == ("npu4", "400GE1/1/3:5")
    assert build("a3", 2)["devices"][15]["ip"] == "10.232.2.16"


def test_load_seconds_and_hostname() -> None:
    node = build(load=12.5)
    assert node["load_seconds"] == 12.5 and node["hostname"] == "atlas-01" and node["index"] == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"profile": "910c"}, "unknown profile"),
        ({"index": 0}, "node index"),
        ({"index": 255}, "node index"),
        ({"load": -1.0}, "load_seconds"),
    ],
)
def test_build_rejects_bad_input(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build(**kwargs)


# ---------------------------------------------------------------------------------------------------------------
# Faults
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "device", "value", "stored"),
    [
        ("npu-unhealthy", 1, "warning", "Warning"),
        ("npu-unhealthy", 1, "Critical", "Critical"),
        ("hbm-busy", 2, "20000", 20000),
        ("hbm-busy", 2, 65536, 65536),
        ("device-missing", 7, None, None),
        ("driver-version", None, "23.0.6", "23.0.6"),
        ("link-down", "0", None, None),
        ("net-health", 3, "fault", "Fault"),
        ("net-health", 3, "Init", "Init"),
        ("no-ip", 5, None, None),
        ("image-missing", None, None, None),
        ("image-missing", None, "quay.io/ascend/vllm-ascend:v0.11.0rc1", "quay.io/ascend/vllm-ascend:v0.11.0rc1"),
        ("weights-missing", None, None, None),
        ("weights-corrupt", None, "model-00001-of-00004.safetensors", "model-00001-of-00004.safetensors"),
        ("container-crash", None, None, None),
        ("slow-load", None, "90", 90.0),
        ("slow-load", None, 2.5, 2.5),
    ],
)
def test_apply_fault_valid(kind: str, device: Any, value: Any, stored: Any) -> None:
    node = build()
    result = state.apply_fault(node, kind, device, value)
    expected_device = None if device is None else int(device)
    assert result is node
    assert node["faults"] == [{"kind": kind, "device": expected_device, "value": stored}]


@pytest.mark.parametrize(
    ("kind", "device", "value", "message"),
    [
        ("bogus", None, None, "unknown fault kind"),
        ("npu-unhealthy", None, "Warning", "needs a device"),
        ("npu-unhealthy", 8, "Warning", "does not exist"),
        ("npu-unhealthy", -1, "Warning", "does not exist"),
        ("npu-unhealthy", "x", "Warning", "integer logic id"),
        ("npu-unhealthy", 0, "Broken", "Warning, Alarm, Critical"),
        ("npu-unhealthy", 0, None, "Warning, Alarm, Critical"),
        ("hbm-busy", 0, "lots", "MB"),
        ("hbm-busy", 0, 0, r"1\.\.65536"),
        ("hbm-busy", 0, 70000, r"1\.\.65536"),
        ("device-missing", 0, "yes", "takes no value"),
        ("link-down", None, None, "needs a device"),
        ("no-ip", 0, 1, "takes no value"),
        ("net-health", 0, "Success", "Fault, Init"),
        ("driver-version", 0, "24.1.0", "whole node"),
        ("driver-version", None, None, "version string"),
        ("driver-version", None, "24 1", "version string"),
        ("slow-load", None, "soon", "seconds"),
        ("slow-load", None, 0, "between"),
        ("slow-load", 1, 10, "whole node"),
        ("container-crash", 2, None, "whole node"),
        ("weights-missing", None, ["a"], "string or number"),
    ],
)
def test_apply_fault_invalid(kind: str, device: Any, value: Any, message: str) -> None:
    node = build()
    with pytest.raises(state.FaultError, match=message):
        state.apply_fault(node, kind, device, value)
    assert node["faults"] == []


def test_fault_error_is_value_error() -> None:
    assert issubclass(state.FaultError, ValueError)


def test_hbm_busy_limit_follows_profile() -> None:
    with pytest.raises(state.FaultError, match=r"1\.\.32768"):
        state.apply_fault(build("910b4-32g"), "hbm-busy", 0, 40000)


def test_same_fault_replaces_previous() -> None:
    node = build()
    state.apply_fault(node, "hbm-busy", 1, 1000)
    state.apply_fault(node, "hbm-busy", 2, 1000)
    state.apply_fault(node, "hbm-busy", 1, 5000)
    assert node["faults"] == [
        {"kind": "hbm-busy", "device": 2, "value": 1000},
        {"kind": "hbm-busy", "device": 1, "value": 5000},
    ]


def test_clear_faults() -> None:
    node = state.apply_fault(build(), "no-ip", 1)
    assert state.clear_faults(node) is node and node["faults"] == []


def test_fault_kinds() -> None:
    assert set(state.FAULT_KINDS) == {
        "npu-unhealthy",
        "hbm-busy",
        "device-missing",
        "driver-version",
        "link-down",
        "net-health",
        "no-ip",
        "image-missing",
        "weights-missing",
        "weights-corrupt",
        "container-crash",
        "slow-load",
        "graph-capture",
        "npu-smi-hang",
        "hccn-hang",
    }


def test_a3_device_faults_use_logic_ids() -> None:
    node = state.apply_fault(build("a3"), "link-down", 15)
    assert node["faults"][0]["device"] == 15
    with pytest.raises(state.FaultError):
        state.apply_fault(node, "link-down", 16)


# ---------------------------------------------------------------------------------------------------------------
# Files and device nodes
# ---------------------------------------------------------------------------------------------------------------

EXPECTED_FILES = {
    "/usr/local/bin/npu-smi": 0o755,
    "/usr/local/Ascend/driver/tools/hccn_tool": 0o755,
    "/usr/local/sbin/atlas-twin": 0o755,
    "/usr/local/Ascend/driver/lib64/atlas_twin.py": 0o644,
    "/usr/local/Ascend/driver/lib64/.atlas-twin/node.json": 0o644,
    "/usr/local/Ascend/driver/version.info": 0o644,
    "/etc/ascend_install.info": 0o644,
    "/etc/hccn.conf": 0o644,
    "/usr/local/dcmi/dcmi_interface_api.h": 0o644,
}


def test_node_files_layout() -> None:
    files = state.node_files(build())
    assert {path: mode for path, (_, mode) in files.items()} == EXPECTED_FILES
    for path, (content, mode) in files.items():
        assert isinstance(content, bytes)
        if mode == 0o755:
            assert content.startswith(b"#!/usr/bin/env python3\n"), path
    assert files["/usr/local/bin/npu-smi"][0] == (th.NODE_DIR / "npu-smi").read_bytes()


def test_node_files_state_and_derived() -> None:
    node = state.apply_fault(build(index=2), "driver-version", value="24.1.rc3")
    files = state.node_files(node)
    assert json.loads(files["/usr/local/Ascend/driver/lib64/.atlas-twin/node.json"][0]) == node
    version_info = files["/usr/local/Ascend/driver/version.info"][0].decode()
    assert version_info.startswith("Version=24.1.rc3\n") and "package_version=24.1.rc3\n" in version_info
    conf = files["/etc/hccn.conf"][0].decode().splitlines()
    assert conf[:6] == [
        "address_0=10.232.2.1",
        "netmask_0=255.255.0.0",
        "netdetect_0=10.232.0.1",
        "gateway_0=10.232.0.1",
        "send_arp_status_0=1",
        "tls_enable_0=0",
    ]
    assert len(conf) == 48
    assert "UserName=HwHiAiUser" in files["/etc/ascend_install.info"][0].decode()


@pytest.mark.parametrize("profile", ["910b3-64g", "910b4-32g", "a3"])
def test_no_public_sample_addresses(profile: str) -> None:
    for path, (content, _) in state.node_files(build(profile, 11)).items():
        assert not PUBLIC_SAMPLE_NET.search(content), path


def test_device_nodes() -> None:
    tail = ["/dev/davinci_manager", "/dev/devmm_svm", "/dev/hisi_hdc"]
    assert state.device_nodes(build()) == [f"/dev/davinci{i}" for i in range(8)] + tail
    assert len(state.device_nodes(build("a3"))) == 19
    missing = state.apply_fault(build(), "device-missing", 3)
    assert "/dev/davinci3" not in state.device_nodes(missing) and len(state.device_nodes(missing)) == 10
