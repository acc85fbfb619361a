"""Helpers of the simulated NPU exporter tests: a twin node on disk, the exporter's driver on it, a settable clock.

The exporter finds the node's driver library the way it does in a container: through LD_LIBRARY_PATH (here the
twin's node directory, which holds atlas_twin.py) and the ATLAS_TWIN_* locations of the node's state and /dev.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
SANDBOX = REPO / "sandbox"
IMAGE_DIR = SANDBOX / "atlas_sim" / "image"
FIXTURES = HERE / "fixtures_npu_exporter"

sys.path.insert(0, str(HERE / "fixtures_twin"))
sys.path.insert(0, str(SANDBOX))

import twin_helpers as th  # noqa: E402
from atlas_sim.image.npu_exporter.collector import MetricsCache  # noqa: E402
from atlas_sim.image.npu_exporter.dcmi import Driver  # noqa: E402

BUILD_VERSION = "v7.3.0_linux-x86_64"
ALL_GROUPS = {"npu", "hbm", "network", "version"}
# 2026-01-08 12:30:48 UTC, the v7.3.0 tag's commit time: any fixed instant would do.
T0 = 1767875448.0

# Die ids the twin derives for atlas-01's chips (dcmi.vdie_id), by logic id.
VDIE = {
    0: "33F85DBA-384D70CC-3827BB83-6D00A940-0D0A67C9",
    1: "DFAAEC8C-5B2083F1-9789E97E-0CA7D84A-FDDB4B3B",
    2: "80C7124C-09BC2E06-92DBD243-B240BC2B-31A09C83",
    3: "69952429-467FD4AB-82F3C6D9-E6B5DE58-2C55964A",
    5: "18D134BA-EBBDFEC5-4A596D2E-103B6AB6-C8BCEE36",
}
# PCIe addresses of an Atlas 800I A2 in the twin, by logic id (twin STATE.md).
BUS = {0: "C1", 1: "01", 2: "41", 3: "C2", 4: "81", 5: "02", 6: "82", 7: "42"}


def card_labels(lid: int, model: str = "910B3-Ascend-V1") -> str:
    """The label block of a per-chip series, in the order and spelling of the real /metrics sample."""
    return (f'{{container_name="",id="{lid}",model_name="{model}",namespace="",'
            f'pcie_bus_info="0000:{BUS[lid]}:00.0",pod_name="",vdie_id="{VDIE[lid]}"}}')


def read_fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class ExporterNode:
    """A twin node plus the exporter's view of it."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, profile: str = "910b3-64g",
                 visible: list[int] | None = None) -> None:
        self.twin = th.Twin(tmp_path, th.state.build_node_state("atlas-01", 1, profile, None), visible)
        for key in ("ATLAS_TWIN_STATE_DIR", "ATLAS_TWIN_PROCS_DIR", "ATLAS_TWIN_DEV_DIR"):
            monkeypatch.setenv(key, self.twin.env[key])
        self.environ = {"LD_LIBRARY_PATH": f"/usr/local/Ascend/driver/lib64/driver:{th.NODE_DIR}"}
        self.clock = Clock()

    def fault(self, kind: str, device: int | None = None, value: Any = None) -> None:
        node = self.twin.load()
        th.state.apply_fault(node, kind, device, value)
        self.twin.save(node)

    def driver(self) -> Driver:
        return Driver.open(self.environ)

    def cache(self, update_seconds: float = 5, groups: set[str] | None = None) -> MetricsCache:
        cache = MetricsCache(self.driver(), update_seconds, ALL_GROUPS if groups is None else groups, BUILD_VERSION,
                             None, self.clock)
        cache.start()
        return cache


def series(text: str, name: str) -> list[str]:
    """The sample lines of one family, in output order."""
    return [line for line in text.splitlines() if line.startswith(name + "{") or line.startswith(name + " ")]
