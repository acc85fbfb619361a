"""Simulated npu-smi: verbatim reference samples, fault effects and failures (run as a subprocess, as in a node)."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures_twin"))
import twin_helpers as th


def node(profile: str = "910b3-64g", index: int = 1) -> dict[str, Any]:
    return th.state.build_node_state(f"atlas-{index:02d}", index, profile, None)


def hold_registration(twin: th.Twin, pid: int, devices: list[int], mb: int, name: str) -> IO[str]:
    """A registration as a process in this pid namespace would leave it, locked by the test process."""
    procs = twin.state_dir / "procs"
    procs.mkdir(parents=True, exist_ok=True)
    record = {
        "id": f"r{pid}",
        "pid": pid,
        "pidns": os.readlink("/proc/self/ns/pid"),
        "cmdline": ["python3"],
        "name": name,
        "devices": devices,
        "hbm_mb_per_device": mb,
        "started": time.time(),
    }
    handle = open(procs / f"r{pid}.json", "w", encoding="utf-8")  # noqa: SIM115 - the lock lives with the handle
    fcntl.flock(handle, fcntl.LOCK_EX)
    handle.write(json.dumps(record))
    handle.flush()
    return handle


# ---------------------------------------------------------------------------------------------------------------
# Reference samples, byte for byte
# ---------------------------------------------------------------------------------------------------------------


def sample_a_node() -> dict[str, Any]:
    """The default profile on the driver sample A was taken on (the profile itself runs 25.2.0)."""
    return th.state.apply_fault(node(), "driver-version", value="24.1.0.3")


def test_sample_a_910b3_idle(tmp_path: Path) -> None:
    twin = th.Twin(tmp_path, sample_a_node())
    th.assert_segments(twin.out("npu-smi", "info"), th.segments(th.fixture("npu_smi_info_910b3_idle.txt")))


def test_sample_a_lists_every_npu_without_processes(tmp_path: Path) -> None:
    out = th.Twin(tmp_path, node()).out("npu-smi", "info")
    for npu in range(8):
        assert f"| {'No running processes found in NPU ' + str(npu):<95}|" in out.splitlines()
    assert out.endswith("+" + "=" * 27 + "+" + "=" * 15 + "+" + "=" * 52 + "+\n")


def test_sample_b_910b2_with_processes(tmp_path: Path) -> None:
    state = node()
    for dev in state["devices"]:
        dev["name"] = "910B2"
    state["devices"][0].update(power_w=92.2, temp_c=33, hbm_idle_mb=54601 - 51277)
    state["devices"][4].update(power_w=90.6, temp_c=37, bus_id="0000:01:00.0", hbm_idle_mb=3374)
    twin = th.Twin(tmp_path, state)
    pids = (266776, 267174, 267176, 267178)
    handles = [hold_registration(twin, pid, [dev], 51277, "python3") for dev, pid in enumerate(pids)]
    try:
        out = twin.out("npu-smi", "info")
    finally:
        for handle in handles:
            handle.close()
    th.assert_segments(out, th.segments(th.fixture("npu_smi_info_910b2_procs.txt")))
    assert "| 3       0                 | 267178        | python3                  | 51277                   |" in out


def test_sample_f_alarm_and_older_version(tmp_path: Path) -> None:
    state = node()
    th.state.apply_fault(state, "driver-version", value="24.1.rc2")
    th.state.apply_fault(state, "npu-unhealthy", 0, "Alarm")
    for dev in state["devices"]:
        dev["name"] = "910B2C"
    state["devices"][0].update(power_w=92.6, temp_c=50, bus_id="0000:5A:00.0", hbm_idle_mb=3521)
    state["devices"][1].update(power_w=103.0, temp_c=53)
    out = th.Twin(tmp_path, state).out("npu-smi", "info")
    th.assert_segments(out, th.segments(th.fixture("npu_smi_info_910b2c_alarm.txt")))


def test_health_and_board_transcript(tmp_path: Path) -> None:
    state = node()
    state.update(npu_smi_version="23.0.5", driver_version="23.0.5", firmware_version="7.1.0.7.220")
    twin = th.Twin(tmp_path, state)
    for command, expected in th.transcript(th.fixture("npu_smi_health_and_board.txt")):
        th.assert_segments(th.run_shell(twin, command), th.segments(expected))


def test_board_chip_910b4_is_exact(tmp_path: Path) -> None:
    out = th.Twin(tmp_path, node("910b4-32g")).out("npu-smi", "info", "-t", "board", "-i", "0", "-c", "0")
    assert out == th.fixture("npu_smi_board_chip_910b4.txt")


def test_usages_910b1(tmp_path: Path) -> None:
    state = node()
    state["devices"][0]["hbm_idle_mb"] = 3000  # 4 % of 65536, as in the sample
    out = th.Twin(tmp_path, state).out("npu-smi", "info", "-t", "usages", "-i", "0")
    th.assert_segments(out, th.segments(th.fixture("npu_smi_usages_910b1.txt")))
    assert "        Aivector Usage Rate(%)         : 0" in out.splitlines()


def test_list_and_map_910b4(tmp_path: Path) -> None:
    twin = th.Twin(tmp_path, node("910b4-32g"))
    out = twin.out("npu-smi", "info", "-l") + twin.out("npu-smi", "info", "-m")
    th.assert_segments(out, th.segments(th.fixture("npu_smi_list_map_910b4.txt")))
    assert out.count("Mcu") == 8
    assert "        NPU ID                         : 7\n        Chip Count                     : 1\n" in out


def test_910b4_table_uses_32g(tmp_path: Path) -> None:
    out = th.Twin(tmp_path, node("910b4-32g")).out("npu-smi", "info")
    assert "| npu-smi 25.0.rc1.1               Version: 25.0.rc1.1                                           |" in out
    assert out.count("/ 32768         |") == 8
    assert "| 0     910B4               | OK            |" in out


def test_help_is_the_real_usage(tmp_path: Path) -> None:
    out = th.Twin(tmp_path, node()).out("npu-smi", "info", "-h")
    assert out.startswith("Usage: npu-smi info <watch|proc|-h|-m|-l|-t type> [Options...]\n")
    assert "       -i %d          Card ID\n" in out


# ---------------------------------------------------------------------------------------------------------------
# A3 layout (described, not quoted, by the reference)
# ---------------------------------------------------------------------------------------------------------------


def test_a3_table(tmp_path: Path) -> None:
    lines = th.Twin(tmp_path, node("a3")).out("npu-smi", "info").splitlines()
    assert lines[4:12] == [
        "| Chip  Phy-ID              | Bus-Id        | AICore(%)   Memory-Usage(MB)  HBM-Usage(MB)        |",
        "+===========================+===============+====================================================+",
        "| 0     Ascend910           | OK            | 178.9       36                0    / 0             |",
        "| 0     0                   | 0000:9D:00.0  | 0           0    / 0          3412 / 65536         |",
        "+------------------------------------------------------------------------------------------------+",
        "| 0     Ascend910           | OK            | -           36                0    / 0             |",
        "| 1     1                   | 0000:9F:00.0  | 0           0    / 0          3189 / 65536         |",
        "+===========================+===============+====================================================+",
    ]
    assert "| 1     15                  | 0000:83:00.0  | 0           0    / 0          3186 / 65536         |" in lines
    assert sum(1 for line in lines if "Ascend910" in line) == 16
    assert sum(1 for line in lines if line.startswith("| No running processes found in NPU")) == 8


def test_a3_version_header_width(tmp_path: Path) -> None:
    out = th.Twin(tmp_path, node("a3")).out("npu-smi", "info")
    assert "| npu-smi 25.2.0                   Version: 25.2.0                                               |" in out


def test_a3_subcommands(tmp_path: Path) -> None:
    twin = th.Twin(tmp_path, node("a3"))
    assert twin.out("npu-smi", "info", "-t", "board", "-i", "0", "-c", "0") == (
        "        NPU ID                         : 0\n"
        "        NPU Name                       : 9392\n"
        "        Chip ID                        : 0\n"
        "        Chip Name                      : Ascend910\n"
    )
    listing = twin.out("npu-smi", "info", "-l")
    assert listing.count("Chip Count                     : 2") == 8
    mapping = twin.out("npu-smi", "info", "-m").splitlines()
    assert mapping[1:4] == [
        "        0                              0                              0                              Ascend910",
        "        0                              1                              1                              Ascend910",
        "        0                              2                              -                              Mcu",
    ]
    usages = twin.out("npu-smi", "info", "-t", "usages", "-i", "3")
    assert "Chip ID                        : 0" in usages and "Chip ID                        : 1" in usages


def test_a3_process_rows_per_chip(tmp_path: Path) -> None:
    twin = th.Twin(tmp_path, node("a3"))
    handle = hold_registration(twin, 929405, [2, 3], 58780, "VLLMWorker_TP")
    try:
        out = twin.out("npu-smi", "info")
    finally:
        handle.close()
    rows = [
        "| 1       0                 | 929405        | VLLMWorker_TP            | 58780                   |",
        "| 1       1                 | 929405        | VLLMWorker_TP            | 58780                   |",
        "+" + "=" * 27 + "+" + "=" * 15 + "+" + "=" * 52 + "+",
    ]
    th.assert_segments(out, [rows])
    assert "| 0     2                   | 0000:99:00.0  | 0           0    / 0          62193/ 65536         |" in out


# ---------------------------------------------------------------------------------------------------------------
# Fault effects
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("level", "code"), [("Warning", "80E01801"), ("Alarm", "80CB8009"), ("Critical", "80E18402")])
def test_npu_unhealthy(tmp_path: Path, level: str, code: str) -> None:
    state = th.state.apply_fault(node(), "npu-unhealthy", 2, level)
    twin = th.Twin(tmp_path, state)
    assert f"| 2     910B3               | {level:<14}|" in twin.out("npu-smi", "info")
    health = twin.out("npu-smi", "info", "-t", "health", "-i", "2", "-c", "0").splitlines()
    assert health[0] == f" Health Status                  : {level}"
    assert health[1] == f" Error Code                     : {code}"
    other = twin.out("npu-smi", "info", "-t", "health", "-i", "3")
    assert other.startswith(" Health Status                  : OK\n")


def test_a3_health_without_chip_reports_worst_chip(tmp_path: Path) -> None:
    state = th.state.apply_fault(node("a3"), "npu-unhealthy", 5, "Critical")
    twin = th.Twin(tmp_path, state)
    assert "Critical" in twin.out("npu-smi", "info", "-t", "health", "-i", "2")
    assert "OK" in twin.out("npu-smi", "info", "-t", "health", "-i", "2", "-c", "0")


def test_hbm_busy_adds_foreign_process(tmp_path: Path) -> None:
    state = th.state.apply_fault(node(), "hbm-busy", 3, 20000)
    twin = th.Twin(tmp_path, state)
    out = twin.out("npu-smi", "info")
    assert "| 3       0                 | 1067986       | python3                  | 20000                   |" in out
    assert "| 0                         | 0000:C2:00.0  | 0           0    / 0          23361/ 65536         |" in out
    usages = twin.out("npu-smi", "info", "-t", "usages", "-i", "3")
    assert "        HBM Usage Rate(%)              : 35" in usages.splitlines()


def test_device_missing(tmp_path: Path) -> None:
    state = th.state.apply_fault(node(), "device-missing", 6)
    twin = th.Twin(tmp_path, state)
    out = twin.out("npu-smi", "info")
    assert "| 6     910B3" not in out and "found in NPU 6 " not in out
    assert "| 7     910B3" in out
    failed = twin.run("npu-smi", "info", "-t", "board", "-i", "6")
    assert failed.returncode == 1 and failed.stdout == "This device does not exist.\n"
    assert "Total Count                    : 7" in twin.out("npu-smi", "info", "-l")
    assert "NPU6 " not in twin.out("npu-smi", "info", "-t", "topo")


def test_driver_version(tmp_path: Path) -> None:
    state = th.state.apply_fault(node(), "driver-version", value="23.0.6")
    twin = th.Twin(tmp_path, state)
    assert twin.out("npu-smi", "-v") == "npu-smi version: 23.0.6\n"
    assert "| npu-smi 23.0.6                   Version: 23.0.6 " in twin.out("npu-smi", "info")
    assert "Software Version               : 23.0.6\n" in twin.out("npu-smi", "info", "-t", "board", "-i", "1")


def test_version_without_fault(tmp_path: Path) -> None:
    assert th.Twin(tmp_path, node()).out("npu-smi", "-v") == "npu-smi version: 25.2.0\n"


def test_topo(tmp_path: Path) -> None:
    lines = th.Twin(tmp_path, node()).out("npu-smi", "info", "-t", "topo").splitlines()
    assert lines[0].split() == [f"NPU{i}" for i in range(8)] + ["CPU", "Affinity"]
    assert lines[1] == "NPU0       X          " + "HCCS       " * 7 + "144-167"
    assert "Legend:" in lines and "  HCCS = Connection traversing HCCS." in lines


# ---------------------------------------------------------------------------------------------------------------
# Processes registered through the library, and container visibility
# ---------------------------------------------------------------------------------------------------------------

_CHILD = """
import sys, atlas_twin
atlas_twin.register_process([0, 1], 30000, "VLLMWorker_TP")
print("ready", flush=True)
sys.stdin.readline()
"""


@pytest.fixture
def registered_child(tmp_path: Path) -> Iterator[tuple[th.Twin, subprocess.Popen[str]]]:
    twin = th.Twin(tmp_path, node())
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=dict(twin.env, PYTHONPATH=str(th.NODE_DIR)),
    )
    assert child.stdout is not None and child.stdout.readline() == "ready\n"
    yield twin, child
    if child.poll() is None:
        child.communicate("\n", timeout=10)


def test_registered_process_rows(registered_child: tuple[th.Twin, subprocess.Popen[str]]) -> None:
    twin, child = registered_child
    out = twin.out("npu-smi", "info")
    for npu in (0, 1):
        assert f"| {npu}       0                 | {child.pid:<14}| VLLMWorker_TP            | 30000  " in out
    assert "| 0                         | 0000:C1:00.0  | 0           0    / 0          33396/ 65536         |" in out
    child.communicate("\n", timeout=10)
    after = twin.out("npu-smi", "info")
    assert "VLLMWorker_TP" not in after and "No running processes found in NPU 0 " in after


def test_container_sees_only_its_devices(tmp_path: Path) -> None:
    twin = th.Twin(tmp_path, node(), visible=[3])
    out = twin.out("npu-smi", "info")
    assert "| 3     910B3" in out and "| 0     910B3" not in out
    assert "Total Count                    : 1" in twin.out("npu-smi", "info", "-l")
    assert twin.run("npu-smi", "info", "-t", "board", "-i", "0").returncode == 1


# ---------------------------------------------------------------------------------------------------------------
# Failures
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["info", "-t", "health", "-i", "9"], "This device does not exist.\n"),
        (["info", "-t", "health", "-i", "x"], "This device does not exist.\n"),
        (["info", "-t", "health", "-i", "0", "-c", "1"], "This chip does not exist.\n"),
        (["info", "-t", "board", "-i", "-1"], "This device does not exist.\n"),
    ],
)
def test_bad_ids(tmp_path: Path, args: list[str], message: str) -> None:
    done = th.Twin(tmp_path, node()).run("npu-smi", *args)
    assert (done.returncode, done.stdout) == (1, message)


@pytest.mark.parametrize(
    "args",
    [["info", "-x"], ["info", "-t", "bogus", "-i", "0"], ["info", "-t", "health"], ["info", "-i"], ["frob"]],
)
def test_bad_arguments(tmp_path: Path, args: list[str]) -> None:
    done = th.Twin(tmp_path, node()).run("npu-smi", *args)
    assert done.returncode == 1
    assert done.stdout.startswith("Error: ") and "Usage: npu-smi" in done.stdout


def test_no_driver_manager(tmp_path: Path) -> None:
    twin = th.Twin(tmp_path, node())
    (twin.dev_dir / "davinci_manager").unlink()
    done = twin.run("npu-smi", "info")
    assert done.returncode == 1 and "dcmi module initialize failed. ret is -8005" in done.stdout


def test_no_state(tmp_path: Path) -> None:
    twin = th.Twin(tmp_path, node())
    (twin.state_dir / "node.json").unlink()
    done = twin.run("npu-smi", "info")
    assert done.returncode == 1 and "ret is -8005" in done.stdout


def test_npu_smi_hang_blocks_every_call_silently(tmp_path: Path) -> None:
    twin = th.Twin(tmp_path, th.state.apply_fault(node(), "npu-smi-hang"))
    for argv in (["info"], ["info", "-t", "board", "-i", "0", "-c", "0"]):
        with pytest.raises(subprocess.TimeoutExpired) as hung:
            subprocess.run([sys.executable, str(th.TOOLS["npu-smi"]), *argv], capture_output=True, env=twin.env,
                           timeout=2, check=False)
        assert not hung.value.stdout
    cleared = th.state.clear_faults(th.state.apply_fault(node(), "npu-smi-hang"))
    assert "910B3" in th.Twin(tmp_path / "cleared", cleared).out("npu-smi", "info")
