"""Access to the simulated driver library that the container mounts from the host (lib64/atlas_twin.py).

On the real stack torch_npu links against libascend_hal.so from the mounted driver directory; without the mount the
import fails. The simulator mirrors that: no atlas_twin.py (or no node state behind it) means "driver not mounted".
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass
from types import ModuleType
from typing import Any

DEFAULT_DRIVER_DIR = "/usr/local/Ascend/driver/lib64"
# Tests point this at a fake driver library; containers never set it.
DRIVER_DIR_ENV = "VLLM_SIM_DRIVER_DIR"


class DriverMissing(Exception):
    """The driver library is not mounted (or carries no node state)."""


class DeviceError(Exception):
    """A device cannot be opened; `message` is the runtime's error text."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Device:
    logic_id: int
    present: bool
    health: str
    hbm_total_mb: int
    hbm_used_mb: int

    @property
    def hbm_free_mb(self) -> int:
        return max(self.hbm_total_mb - self.hbm_used_mb, 0)


@dataclass
class DriverState:
    module: ModuleType
    node: dict[str, Any]
    devices: dict[int, Device]
    visible: list[int]

    def faults(self, kind: str) -> list[dict[str, Any]]:
        return [f for f in self.node.get("faults", []) or [] if f.get("kind") == kind]


def load_driver() -> DriverState:
    driver_dir = os.environ.get(DRIVER_DIR_ENV) or DEFAULT_DRIVER_DIR
    if not os.path.isfile(os.path.join(driver_dir, "atlas_twin.py")):
        raise DriverMissing(driver_dir)
    sys.path.insert(0, driver_dir)
    try:
        module = importlib.import_module("atlas_twin")
        node = module.load_node()
        view = module.device_view()
        visible = sorted(int(d) for d in module.visible_devices())
        # Without /dev/davinci_manager the runtime enumerates no devices at all, whatever davinciN nodes exist.
        manager_present = getattr(module, "manager_present", None)
        if manager_present is not None and not manager_present():
            visible = []
    except (ImportError, OSError) as exc:
        raise DriverMissing(driver_dir) from exc
    devices = {
        int(d["logic_id"]): Device(
            logic_id=int(d["logic_id"]),
            present=bool(d.get("present", True)),
            health=str(d.get("health", "OK")),
            hbm_total_mb=int(d["hbm_total_mb"]),
            hbm_used_mb=int(d["hbm_used_mb"]),
        )
        for d in view
    }
    return DriverState(module=module, node=node, devices=devices, visible=visible)


def runtime_devices(state: DriverState, env: dict[str, str]) -> list[int]:
    """Logic ids in runtime order: the container's davinci nodes, narrowed by ASCEND_RT_VISIBLE_DEVICES.

    ASCEND_RT_VISIBLE_DEVICES holds runtime indices into the devices this namespace sees (a container started with
    --device /dev/davinci3 sees one device, index 0), as the CANN runtime treats it.
    """
    visible = [d for d in state.visible if d in state.devices]
    raw = env.get("ASCEND_RT_VISIBLE_DEVICES")
    if raw is None or raw.strip() == "":
        return visible
    chosen: list[int] = []
    for item in raw.split(","):
        item = item.strip()
        if not item.isdigit() or int(item) >= len(visible):
            raise DeviceError(f"Set visible device failed, invalid device={item}, input visible devices:{raw}", 107001)
        chosen.append(visible[int(item)])
    return chosen
