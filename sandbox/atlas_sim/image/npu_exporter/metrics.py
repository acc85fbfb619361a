"""The metric families the twin's exporter serves, with the names, HELP texts, label sets and value encodings of
MindCluster v7.3.0 (collector/metrics/collector_for_{npu,hbm,network,version}.go, common/constants.go).

Every per-chip family carries the card labels id (the chip's physical id), model_name, vdie_id, pcie_bus_info,
namespace, pod_name and container_name; the last three are empty unless a Kubernetes pod holds the chip, which never
happens in the twin. A value the driver did not return is left out, never written as -1.
"""

from __future__ import annotations

import struct

from .dcmi import Chip, Reading
from .textformat import Family, Sample

# Groups of /usr/local/metricConfiguration.json that the twin simulates, and the families each one adds.
GROUP_NPU, GROUP_HBM, GROUP_NETWORK, GROUP_VERSION = "npu", "hbm", "network", "version"

HELP = {
    "machine_npu_nums": "Amount of npu installed on the machine.",
    "npu_chip_info_error_code": "the npu error code",
    "npu_chip_info_health_status": "the npu health status",
    "npu_chip_info_name": "the Ascend npu name with value '1'",
    "npu_chip_info_network_status": "the npu network health status",
    "npu_chip_info_power": "the npu power",
    "npu_chip_info_process_info": (
        "the npu process info, unit is 'MB'. if process run on host, container_id and container_name will be empty"
    ),
    "npu_chip_info_temperature": "the npu temperature",
    "npu_chip_info_utilization": "the ai core utilization",
    "npu_chip_info_hbm_used_memory": "the npu hbm used memory",
    "npu_chip_info_hbm_total_memory": "the npu hbm total memory",
    "npu_chip_info_link_status": "the npu link status",
    "npu_exporter_version_info": "exporter version with value '1'",
}
# dcmi reports up to this many error codes per chip; the first goes to npu_chip_info_error_code, the others to
# npu_chip_info_error_code_1 .. _9.
MAX_ERROR_CODES = 10


def card_labels(chip: Chip) -> dict[str, str]:
    return {
        "id": str(chip.phy_id),
        "model_name": chip.model_name,
        "vdie_id": chip.vdie_id,
        "pcie_bus_info": chip.pcie_bus_info,
        "namespace": "",
        "pod_name": "",
        "container_name": "",
    }


def _float32(value: float) -> float:
    return struct.unpack("f", struct.pack("f", value))[0]


def power_watts(tenths: int) -> float:
    """dcmi's power in tenths of a watt times float32(0.1), computed in float32 as the Go code does, then widened
    to float64 for Prometheus (hence values such as 94.70000457763672)."""
    return _float32(_float32(float(tenths)) * _float32(0.1))


class _Families:
    def __init__(self) -> None:
        self.by_name: dict[str, Family] = {}

    def add(self, name: str, labels: dict[str, str], value: float, timestamp_ms: int | None) -> None:
        if name not in self.by_name:
            # npu_chip_info_error_code_1.._9 share the first code's HELP text.
            help_text = HELP["npu_chip_info_error_code"] if name.startswith("npu_chip_info_error_code_") else HELP[name]
            self.by_name[name] = Family(name, help_text)
        family = self.by_name[name]
        family.samples.append(Sample(labels, float(value), timestamp_ms))


def _npu_group(out: _Families, reading: Reading) -> None:
    labels, stamp = card_labels(reading.chip), reading.timestamp_ms
    out.add("npu_chip_info_health_status", labels, 1 if reading.healthy else 0, stamp)
    name_labels = {("name" if key == "model_name" else key): value for key, value in labels.items()}
    out.add("npu_chip_info_name", name_labels, 1, stamp)
    if reading.power_tenths_w is not None:
        out.add("npu_chip_info_power", labels, power_watts(reading.power_tenths_w), stamp)
    if reading.temperature_c is not None:
        out.add("npu_chip_info_temperature", labels, reading.temperature_c, stamp)
    if reading.utilization is not None:
        out.add("npu_chip_info_utilization", labels, reading.utilization, stamp)
    if reading.network_ok is not None:
        out.add("npu_chip_info_network_status", labels, 1 if reading.network_ok else 0, stamp)
    for index, code in enumerate(reading.error_codes[:MAX_ERROR_CODES]):
        out.add("npu_chip_info_error_code" + (f"_{index}" if index else ""), labels, code, stamp)
    processes = reading.processes or ((None, 0),)
    for pid, megabytes in processes:
        out.add("npu_chip_info_process_info",
                {**labels, "process_id": "" if pid is None else str(pid), "container_id": ""}, megabytes, stamp)


def _hbm_group(out: _Families, reading: Reading) -> None:
    if reading.hbm_total_mb is None or reading.hbm_used_mb is None:
        return
    labels = card_labels(reading.chip)
    out.add("npu_chip_info_hbm_used_memory", labels, reading.hbm_used_mb, reading.timestamp_ms)
    out.add("npu_chip_info_hbm_total_memory", labels, reading.hbm_total_mb, reading.timestamp_ms)


def _network_group(out: _Families, reading: Reading) -> None:
    if reading.link_up is not None:
        out.add("npu_chip_info_link_status", card_labels(reading.chip), 1 if reading.link_up else 0,
                reading.timestamp_ms)


def families(chips: list[Chip], readings: list[Reading], groups: set[str], build_version: str) -> list[Family]:
    """The families one scrape shows: per chip from its latest reading, plus the machine-wide ones (which carry no
    timestamp). `readings` holds only readings still in the cache."""
    out = _Families()
    per_group = ((GROUP_NPU, _npu_group), (GROUP_HBM, _hbm_group), (GROUP_NETWORK, _network_group))
    for reading in readings:
        for group, add in per_group:
            if group in groups:
                add(out, reading)
    if GROUP_NPU in groups:
        out.add("machine_npu_nums", {}, len(chips), None)
    if GROUP_VERSION in groups:
        out.add("npu_exporter_version_info", {"exporterVersion": build_version}, 1, None)
    return list(out.by_name.values())
