"""The simulator's shared-memory ledger: images in flight against the container's /dev/shm (vllm_sim/shm.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

# The module alone, as the image carries it (the vllm_sim tests otherwise run the simulator as a process).
_SPEC = importlib.util.spec_from_file_location(
    "vllm_sim_shm", Path(__file__).resolve().parents[3] / "sandbox/atlas_sim/image/vllm_sim/shm.py")
assert _SPEC is not None and _SPEC.loader is not None
shm = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(shm)


def test_images_in_flight_past_the_capacity_kill_the_engine_answered_ones_do_not_count() -> None:
    died: list[int] = []
    ledger = shm.Ledger(10 * 1024 * 1024, lambda: died.append(ledger.held))
    one = shm.image_bytes([("PNG", 1024, 1024)])  # 3 MiB of decoded pixels
    for _ in range(3):
        ledger.hold(one)
    assert died == [] and ledger.held == 3 * one
    for _ in range(3):
        ledger.release(one)
    assert ledger.held == 0
    for _ in range(4):
        ledger.hold(one)
    assert died == [4 * one]


def test_capacity_is_the_size_of_the_directory_standing_for_dev_shm(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(shm.SHM_DIR_ENV, str(tmp_path))
    assert shm.capacity_bytes() > 0
    monkeypatch.setenv(shm.SHM_DIR_ENV, str(tmp_path / "absent"))
    assert shm.capacity_bytes() == 0
