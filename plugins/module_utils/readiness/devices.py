# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Names and reset commands of NPU devices, keyed by logic id (the N of /dev/davinciN).

An A2 node has one chip per NPU id (``NPU 3``); an A3 node two (``NPU 3 chip 1``). Devices that npu-smi does not
show still get a name, from the usual numbering, so a check can name a missing device.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ansible_collections.atlas.vllm.plugins.module_utils.npu_smi import chips_per_npu, device_logic_id


def device_label(npu_id: int, chip_id: int, chips: int) -> str:
    """``NPU 3`` on A2, ``NPU 3 chip 1`` on A3 where one NPU id has two chips."""
    return f"NPU {npu_id} chip {chip_id}" if chips > 1 else f"NPU {npu_id}"


@dataclass(frozen=True)
class DeviceNames:
    """The devices one npu-smi table shows, and how to name any logic id on that node."""

    chips: int = 1
    known: dict[int, tuple[int, int]] = field(default_factory=dict)

    @classmethod
    def from_devices(cls, devices: list[dict[str, Any]]) -> DeviceNames:
        chips = chips_per_npu(devices)
        return cls(chips, {device_logic_id(d, chips): (int(d["npu_id"]), int(d.get("chip_id") or 0))
                           for d in devices})

    def address(self, logic_id: int) -> tuple[int, int]:
        """(npu_id, chip_id) of a logic id; devices absent from npu-smi follow the usual numbering."""
        if logic_id in self.known:
            return self.known[logic_id]
        return logic_id // self.chips, logic_id % self.chips

    def name(self, logic_id: int) -> str:
        return device_label(*self.address(logic_id), self.chips)

    def reset(self, logic_id: int) -> str:
        npu_id, chip_id = self.address(logic_id)
        return f"npu-smi set -t reset -i {npu_id} -c {chip_id}"

    def logic_id(self, device: dict[str, Any]) -> int:
        return device_logic_id(device, self.chips)


def npu_device_labels(npu: Any) -> dict[int, str]:
    """Map logic id -> label from the ``npu`` fact (empty when the fact is missing)."""
    if not isinstance(npu, dict):
        return {}
    names = DeviceNames.from_devices(npu.get("devices") or [])
    return {logic_id: names.name(logic_id) for logic_id in names.known}
