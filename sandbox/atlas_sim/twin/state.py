"""Host-side API of the simulated NPU driver layer: build a node's state and the files that make up its "driver".

atlas-sim calls build_node_state() per node, apply_fault()/clear_faults() for fault scenarios, then node_files() and
device_nodes() to populate the node's root filesystem before boot. Inside a running node, the `atlas-twin` command
(listed in node_files) edits the same state. The schema is documented in STATE.md next to this file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .node import atlas_twin

NODE_DIR = Path(__file__).resolve().parent / "node"
STATE_DIR_IN_NODE = atlas_twin.DEFAULT_STATE_DIR
FAULT_KINDS: tuple[str, ...] = atlas_twin.FAULT_KINDS
FaultError = atlas_twin.FaultError

FABRIC_PREFIX = "10.232"
FABRIC_NETMASK = "255.255.0.0"
FABRIC_GATEWAY = "10.232.0.1"


@dataclass(frozen=True)
class ChipSpec:
    """Static values of one chip in a profile (per logic id)."""

    bus_id: str
    hbm_idle_mb: int
    power_w: float | None
    temp_c: int
    cpu_affinity: str


@dataclass(frozen=True)
class Profile:
    name: str
    layout: str  # "910b": one chip per NPU (Atlas 800I A2); "a3": two chips per NPU (Atlas 800 A3)
    chip_name: str
    npu_name: str | None  # shown by `-t board -c` on A3 only
    chips_per_npu: int
    hbm_total_mb: int
    npu_smi_version: str
    driver_version: str
    firmware_version: str
    driver_innerversion: str
    chips: tuple[ChipSpec, ...]


# CPU affinity of an Atlas 800 A2 (4 x 48-core Kunpeng 920), taken from the public `npu-smi info -t topo` sample.
_A2_AFFINITY = ("144-167", "0-23", "144-167", "0-23", "96-119", "48-71", "96-119", "48-71")
# PCIe bus order of an Atlas 800 A2: the reference's 910B3 sample starts at C1 and ends at 42.
_A2_BUS = ("C1", "01", "41", "C2", "81", "02", "82", "42")
# A3 bus ids per logic id, as in public A3 `npu-smi info` captures.
_A3_BUS = ("9D", "9F", "99", "9B", "95", "97", "91", "93", "8D", "8F", "89", "8B", "85", "87", "81", "83")


def _a2_chips(idle: tuple[int, ...], power: tuple[float, ...], temp: tuple[int, ...]) -> tuple[ChipSpec, ...]:
    return tuple(ChipSpec(f"0000:{_A2_BUS[i]}:00.0", idle[i], power[i], temp[i], _A2_AFFINITY[i]) for i in range(8))


def _a3_chips() -> tuple[ChipSpec, ...]:
    idle = (3412, 3189, 3413, 3176, 3398, 3190, 3405, 3201, 3420, 3183, 3391, 3178, 3409, 3195, 3417, 3186)
    power = (178.9, None, 186.1, None, 181.4, None, 183.0, None, 179.6, None, 185.2, None, 180.3, None, 182.7, None)
    temp = (36, 36, 36, 37, 35, 36, 37, 36, 35, 35, 36, 37, 36, 36, 35, 36)
    affinity = ("0-39", "0-39", "0-39", "0-39", "40-79", "40-79", "40-79", "40-79") * 2
    return tuple(ChipSpec(f"0000:{_A3_BUS[i]}:00.0", idle[i], power[i], temp[i], affinity[i]) for i in range(16))


PROFILES: dict[str, Profile] = {
    # Chips 0 and 7 carry the exact values of the reference's 910B3 sample (A), so its lines can be compared.
    "910b3-64g": Profile(
        name="910b3-64g",
        layout="910b",
        chip_name="910B3",
        npu_name=None,
        chips_per_npu=1,
        hbm_total_mb=65536,
        # The oldest driver seen running the v0.11.0rc1 image (vllm-ascend #4148); sample A's own header reads
        # 24.1.0.3, which a driver-version fault reproduces.
        npu_smi_version="25.2.0",
        driver_version="25.2.0",
        firmware_version="7.5.0.3.220",
        driver_innerversion="V100R001C19SPC003B220",
        chips=_a2_chips(
            idle=(3396, 3380, 3412, 3361, 3433, 3375, 3418, 3200),
            power=(94.7, 92.8, 95.1, 93.6, 96.2, 91.9, 95.8, 97.3),
            temp=(54, 52, 53, 51, 55, 50, 52, 51),
        ),
    ),
    "910b4-32g": Profile(
        name="910b4-32g",
        layout="910b",
        chip_name="910B4",
        npu_name=None,
        chips_per_npu=1,
        hbm_total_mb=32768,
        npu_smi_version="25.0.rc1.1",
        driver_version="25.0.rc1.1",
        firmware_version="7.7.0.1.231",
        driver_innerversion="V100R001C21SPC001B231",
        chips=_a2_chips(
            idle=(2862, 2849, 2871, 2855, 2866, 2840, 2874, 2851),
            power=(84.2, 82.5, 85.0, 83.1, 86.4, 81.7, 84.9, 85.6),
            temp=(46, 45, 47, 44, 48, 44, 46, 45),
        ),
    ),
    "a3": Profile(
        name="a3",
        layout="a3",
        chip_name="Ascend910",
        npu_name="9392",
        chips_per_npu=2,
        hbm_total_mb=65536,
        npu_smi_version="25.2.0",
        driver_version="25.2.0",
        firmware_version="7.7.0.6.236",
        driver_innerversion="V100R001C23SPC001B235",
        chips=_a3_chips(),
    ),
}
DEFAULT_PROFILE = "910b3-64g"


def build_node_state(
    hostname: str, index: int, profile: str = DEFAULT_PROFILE, load_seconds: float | None = None
) -> dict[str, Any]:
    """Fresh, fault-free state of node `index` (1-based; it selects the node's fabric addresses)."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; expected one of: {', '.join(PROFILES)}")
    if not isinstance(index, int) or not 1 <= index <= 254:
        raise ValueError(f"node index must be an integer 1..254, got {index!r}")
    if load_seconds is not None and float(load_seconds) < 0:
        raise ValueError(f"load_seconds must be >= 0 or None, got {load_seconds!r}")
    spec = PROFILES[profile]
    return {
        "schema": atlas_twin.SCHEMA,
        "hostname": hostname,
        "index": index,
        "profile": spec.name,
        "layout": spec.layout,
        "npu_smi_version": spec.npu_smi_version,
        "driver_version": spec.driver_version,
        "driver_innerversion": spec.driver_innerversion,
        "firmware_version": spec.firmware_version,
        "load_seconds": None if load_seconds is None else float(load_seconds),
        "devices": [_device(spec, index, lid) for lid in range(len(spec.chips))],
        "faults": [],
    }


def _device(spec: Profile, index: int, lid: int) -> dict[str, Any]:
    chip = spec.chips[lid]
    return {
        "logic_id": lid,
        "npu_id": lid // spec.chips_per_npu,
        "chip_id": lid % spec.chips_per_npu,
        "phy_id": lid,
        "name": spec.chip_name,
        "npu_name": spec.npu_name,
        "bus_id": chip.bus_id,
        "hbm_total_mb": spec.hbm_total_mb,
        "hbm_idle_mb": chip.hbm_idle_mb,
        "power_w": chip.power_w,
        "temp_c": chip.temp_c,
        "cpu_affinity": chip.cpu_affinity,
        "ip": f"{FABRIC_PREFIX}.{index}.{lid + 1}",
        "netmask": FABRIC_NETMASK,
        "gateway": FABRIC_GATEWAY,
        "netdetect": FABRIC_GATEWAY,
        "lldp_ifname": f"400GE1/1/{index}:{lid + 1}",
        "iface": f"npu{lid}",
    }


def apply_fault(state: dict[str, Any], kind: str, device: int | str | None = None, value: Any = None) -> dict[str, Any]:
    """Validate and record a fault (in place; the state is also returned). Raises FaultError (a ValueError)."""
    return atlas_twin.apply_fault(state, kind, device, value)


def clear_faults(state: dict[str, Any]) -> dict[str, Any]:
    return atlas_twin.clear_faults(state)


def _script(name: str) -> bytes:
    return (NODE_DIR / name).read_bytes()


def node_files(state: dict[str, Any]) -> dict[str, tuple[bytes, int]]:
    """Every file of the simulated driver, keyed by absolute path inside the node, with its mode."""
    lib64 = "/usr/local/Ascend/driver/lib64"
    return {
        "/usr/local/bin/npu-smi": (_script("npu-smi"), 0o755),
        "/usr/local/Ascend/driver/tools/hccn_tool": (_script("hccn_tool"), 0o755),
        "/usr/local/sbin/atlas-twin": (_script("atlas-twin"), 0o755),
        f"{lib64}/atlas_twin.py": (_script("atlas_twin.py"), 0o644),
        f"{STATE_DIR_IN_NODE}/{atlas_twin.NODE_FILE}": (atlas_twin.dump_node(state).encode(), 0o644),
        "/usr/local/Ascend/driver/version.info": (atlas_twin.render_version_info(state).encode(), 0o644),
        "/etc/ascend_install.info": (atlas_twin.render_install_info().encode(), 0o644),
        "/etc/hccn.conf": (atlas_twin.render_hccn_conf(state).encode(), 0o644),
        "/usr/local/dcmi/dcmi_interface_api.h": (_DCMI_PLACEHOLDER, 0o644),
    }


_DCMI_PLACEHOLDER = (
    b"/* Placeholder of the DCMI header: the twin's tools do not link against DCMI. The directory exists because\n"
    b" * containers bind-mount /usr/local/dcmi, as on a real Ascend host. */\n"
)


def device_nodes(state: dict[str, Any]) -> list[str]:
    """Character devices the node needs; a device-missing chip has no /dev/davinciN, as with a dead card."""
    missing = {f["device"] for f in atlas_twin.faults(state, "device-missing")}
    chips = [f"/dev/davinci{d['logic_id']}" for d in state["devices"] if d["logic_id"] not in missing]
    return chips + ["/dev/davinci_manager", "/dev/devmm_svm", "/dev/hisi_hdc"]
