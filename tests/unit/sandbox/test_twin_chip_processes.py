"""atlas_twin.chip_processes: the processes holding HBM on one chip, in the order npu-smi's process table shows."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures_twin"))
import twin_helpers as th  # noqa: E402

lib = th.atlas_twin


def registration(devices: list[int], mb: int, started: float) -> dict:
    return {"id": f"r{started}", "pid": os.getpid(), "pidns": os.readlink("/proc/self/ns/pid"), "cmdline": [],
            "name": "VLLMWorker_TP", "devices": devices, "hbm_mb_per_device": mb, "started": started}


def test_foreign_process_first_then_registrations() -> None:
    node = th.state.build_node_state("atlas-01", 1, "910b3-64g", None)
    th.state.apply_fault(node, "hbm-busy", 4, 1000)
    procs = [registration([4, 5], 300, 1.0), registration([4], 200, 2.0)]
    assert lib.chip_processes(node, 4, procs) == [
        (1067987, "python3", 1000),
        (os.getpid(), "VLLMWorker_TP", 300),
        (os.getpid(), "VLLMWorker_TP", 200),
    ]
    assert lib.chip_processes(node, 5, procs) == [(os.getpid(), "VLLMWorker_TP", 300)]
    assert lib.chip_processes(node, 6, procs) == []


def test_reads_live_registrations_by_default(tmp_path: Path, monkeypatch) -> None:
    twin = th.Twin(tmp_path, th.state.build_node_state("atlas-01", 1, "910b3-64g", None))
    monkeypatch.setenv("ATLAS_TWIN_STATE_DIR", str(twin.state_dir))
    monkeypatch.setenv("ATLAS_TWIN_PROCS_DIR", str(twin.state_dir / "procs"))
    with lib.register_process([2], 4096, "VLLMWorker_TP"):
        assert lib.chip_processes(twin.load(), 2) == [(os.getpid(), "VLLMWorker_TP", 4096)]
    assert lib.chip_processes(twin.load(), 2) == []
