"""Tensor-parallel workers: one process per rank, each holding its own NPU, as vLLM V1 spawns them.

npu-smi on a real node shows one pid per rank (TP4 -> four processes, each on its NPU); a single
registration for all devices would show one pid on every NPU. Each worker registers its device with the
driver library and lives until its parent (the engine) is gone.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

_BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from vllm_sim.ranks import worker; worker(sys.argv[2:])"


def start(driver: ModuleType, devices: list[int], hbm_mb: int, name: str) -> list[subprocess.Popen]:
    """Start one worker per device; raise ValueError with the driver's message if one cannot register."""
    package_parent = str(Path(__file__).resolve().parents[1])
    driver_dir = str(Path(driver.__file__).resolve().parent)
    workers = []
    for device in devices:
        proc = subprocess.Popen(
            [sys.executable, "-c", _BOOT, package_parent, driver_dir, str(os.getpid()), str(device), str(hbm_mb), name],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        answer = proc.stdout.readline().strip()
        if answer != "registered":
            stop(workers + [proc])
            raise ValueError(answer or f"rank on device {device} exited with {proc.wait()}")
        workers.append(proc)
    return workers


def stop(workers: list[subprocess.Popen]) -> None:
    for proc in workers:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def worker(argv: list[str]) -> None:
    driver_dir, parent, device, hbm_mb, name = argv[0], int(argv[1]), int(argv[2]), int(argv[3]), argv[4]
    sys.path.insert(0, driver_dir)
    import atlas_twin  # noqa: PLC0415 - the driver library is only importable once its directory is known

    try:
        registration = atlas_twin.register_process([device], hbm_mb, name)
    except ValueError as exc:
        print(str(exc), flush=True)
        sys.exit(1)
    print("registered", flush=True)
    # The engine is this worker's parent: when it exits (or crashes), the worker releases its NPU.
    while os.getppid() == parent:
        time.sleep(0.5)
    del registration
