"""npu_driver's checks (plugins/module_utils/readiness/npu.py) from what npu_node_info returns."""

from __future__ import annotations

import pytest
from ansible_collections.atlas.vllm.plugins.module_utils.cann_driver import driver_version
from ansible_collections.atlas.vllm.plugins.module_utils.docker_top import parse_top_pids
from ansible_collections.atlas.vllm.plugins.module_utils.npu_smi import parse_board
from ansible_collections.atlas.vllm.plugins.module_utils.readiness.checks import ReadinessInputError
from ansible_collections.atlas.vllm.plugins.module_utils.readiness.devices import npu_device_labels
from ansible_collections.atlas.vllm.plugins.module_utils.readiness.npu import npu_driver_assess

BOARD = """NPU ID                         : {npu}
Software Version               : 24.1.0.3
Firmware Version               : {fw}
Compatibility                  : OK
Board ID                       : 0x02
Chip Count                     : 1
"""
VERSION_INFO = "Version={version}\nascendhal_version=7.35.23\npackage_version={version}\n"
DEV_FILES = [f"davinci{n}" for n in range(8)] + ["davinci_manager", "devmm_svm", "hisi_hdc"]
POLICY = {
    "expected_count": 8,
    "min_version": "24.1.0.3",
    "allowed_health": ["OK"],
    "min_free_hbm_mb": 28672,
    "planned_devices": [],
    "label": "io.atlas-vllm.managed=true",
}


def a2_device(npu: int, **extra) -> dict:
    device = {"npu_id": npu, "chip_id": 0, "logic_id": npu, "name": "910B3", "health": "OK", "error_code": None,
              "hbm_used_mb": 3400, "hbm_total_mb": 65536}
    device.update(extra)
    return device


def observed(devices=None, processes=None, version="24.1.0.3", smi_version=None, containers=None, **extra) -> dict:
    """What npu_node_info returns for a node (its registered result)."""
    devices = [a2_device(n) for n in range(8)] if devices is None else devices
    npu = {"version": smi_version or version, "count": len({d["npu_id"] for d in devices}), "devices": devices,
           "processes": processes or []}
    data = {
        "changed": False,
        "npu": npu,
        "npu_error": None,
        "npu_timed_out": False,
        "device_files": list(DEV_FILES),
        "driver_version": driver_version(VERSION_INFO.format(version=version)),
        "version_info_path": "/usr/local/Ascend/driver/version.info",
        "firmware": [{"npu_id": n, "version": parse_board(BOARD.format(npu=n, fw="7.5.0.3.220"))["firmware_version"],
                      "error": None} for n in sorted({d["npu_id"] for d in devices})],
        "containers": containers if containers is not None else {"ok": True, "error": None, "pids": []},
    }
    data.update(extra)
    return data


def failing(checks: list[dict]) -> list[dict]:
    return [item for item in checks if item["status"] != "PASS"]


def test_healthy_node_passes_every_check():
    result = npu_driver_assess(observed(), POLICY)
    assert failing(result["checks"]) == []
    assert result["healthy_devices"] == list(range(8))
    names = {item["name"] for item in result["checks"]}
    assert names == {"device_files", "driver_version", "firmware_version", "npu_count", "health", "foreign_process",
                     "hbm_free"}
    firmware = next(item for item in result["checks"] if item["name"] == "firmware_version")
    assert firmware["detail"] == "firmware 7.5.0.3.220 on all 8 NPUs"
    for item in result["checks"]:
        assert set(item) == {"name", "status", "device", "detail", "action"}


def test_unhealthy_chip_is_critical_with_reset_action():
    devices = [a2_device(n) for n in range(8)]
    devices[3].update(health="Alarm", error_code="80CB8009")
    result = npu_driver_assess(observed(devices), POLICY)
    [bad] = failing(result["checks"])
    assert bad["name"] == "health" and bad["status"] == "CRITICAL" and bad["device"] == 3
    assert bad["detail"] == "NPU 3: Health Alarm, error code 80CB8009 (allowed: OK)"
    assert "npu-smi set -t reset -i 3 -c 0" in bad["action"]
    assert 3 not in result["healthy_devices"]


def test_allowed_health_can_include_warning():
    devices = [a2_device(n) for n in range(8)]
    devices[1]["health"] = "Warning"
    result = npu_driver_assess(observed(devices), dict(POLICY, allowed_health=["OK", "Warning"]))
    assert failing(result["checks"]) == []


def test_missing_device_names_the_device_file_and_the_count():
    devices = [a2_device(n) for n in range(8) if n != 3]
    data = observed(devices)
    data["device_files"].remove("davinci3")
    result = npu_driver_assess(data, POLICY)
    bad = {item["name"]: item for item in failing(result["checks"])}
    assert set(bad) == {"device_files", "npu_count"}
    assert bad["device_files"]["detail"] == "NPU 3: /dev/davinci3 is missing"
    assert bad["device_files"]["device"] == 3
    assert bad["npu_count"]["detail"] == "npu-smi shows 7 NPU chips, npu_driver_expected_count is 8; not shown: NPU 3"
    assert result["healthy_devices"] == [0, 1, 2, 4, 5, 6, 7]


def test_missing_control_device_means_driver_not_loaded():
    data = observed()
    data["device_files"].remove("davinci_manager")
    [bad] = failing(npu_driver_assess(data, POLICY)["checks"])
    assert bad["status"] == "CRITICAL" and "/dev/davinci_manager missing" in bad["detail"]


@pytest.mark.parametrize(
    ("version", "smi_version", "status", "text"),
    [
        ("23.0.5", "23.0.5", "CRITICAL",
         "driver below the minimum 24.1.0.3: /usr/local/Ascend/driver/version.info 23.0.5, npu-smi 23.0.5"),
        ("24.1.rc2", "24.1.rc2", "CRITICAL", "version.info 24.1.rc2"),
        ("25.2.0", "24.1.0.3", "WARNING", "says 25.2.0 but npu-smi reports 24.1.0.3"),
        ("25.3.rc1.b061", "25.3.rc1.b061", "PASS", "driver 25.3.rc1.b061"),
    ],
)
def test_driver_version_against_the_minimum(version, smi_version, status, text):
    result = npu_driver_assess(observed(version=version, smi_version=smi_version), POLICY)
    [item] = [item for item in result["checks"] if item["name"] == "driver_version"]
    assert item["status"] == status
    assert text in item["detail"]
    if status == "CRITICAL":
        assert "to 24.1.0.3 or newer" in item["action"]


def test_missing_version_info_is_critical():
    result = npu_driver_assess(observed(driver_version=None), POLICY)
    [item] = [item for item in result["checks"] if item["name"] == "driver_version"]
    assert item["status"] == "CRITICAL" and "no Version= line" in item["detail"]


def test_npu_smi_failure_is_one_critical_check_and_no_healthy_device():
    data = observed()
    data.update(npu=None, npu_error="'npu-smi info' failed with rc=1: dcmi module initialize failed. ret is -8005")
    result = npu_driver_assess(data, POLICY)
    [bad] = failing(result["checks"])
    assert bad["name"] == "npu_smi" and "-8005" in bad["detail"]
    assert result["healthy_devices"] == []


def test_npu_smi_that_never_answered_is_named_with_the_reboot_advice():
    data = observed()
    data.update(npu=None, npu_timed_out=True,
                npu_error="'/usr/local/bin/npu-smi info' did not answer in 30 s and was stopped")
    result = npu_driver_assess(data, POLICY)
    [bad] = failing(result["checks"])
    assert (bad["name"], bad["status"]) == ("npu_smi", "CRITICAL")
    assert bad["detail"] == "'/usr/local/bin/npu-smi info' did not answer in 30 s and was stopped"
    assert "reboot the node" in bad["action"]
    assert result["healthy_devices"] == []


def test_firmware_mismatch_warns():
    data = observed()
    data["firmware"][6]["version"] = parse_board(BOARD.format(npu=6, fw="7.3.0.1.231"))["firmware_version"]
    [bad] = failing(npu_driver_assess(data, POLICY)["checks"])
    assert bad["status"] == "WARNING"
    assert bad["detail"] == "NPUs run different firmware: 7.3.0.1.231 on NPU 6; 7.5.0.3.220 on NPU 0, 1, 2, 3, 4, 5, 7"


def test_foreign_process_on_planned_device_is_critical():
    devices = [a2_device(n) for n in range(8)]
    devices[5]["hbm_used_mb"] = 43375
    processes = [{"npu_id": 5, "chip_id": 0, "pid": 1067988, "name": "python3", "memory_mb": 40000}]
    result = npu_driver_assess(observed(devices, processes), POLICY)
    bad = {item["name"]: item for item in failing(result["checks"])}
    assert set(bad) == {"foreign_process", "hbm_free"}
    assert bad["foreign_process"]["detail"].startswith("NPU 5: process 1067988 (python3) holds 40000 MB")
    assert bad["foreign_process"]["action"].startswith("stop process 1067988 (python3)")
    assert bad["hbm_free"]["detail"].startswith("NPU 5: 22161 MB HBM free of 65536 MB")
    assert 5 not in result["healthy_devices"]


def test_foreign_process_on_unplanned_device_only_warns_but_is_not_healthy():
    processes = [{"npu_id": 6, "chip_id": 0, "pid": 77, "name": "", "memory_mb": 100}]
    result = npu_driver_assess(observed(processes=processes), dict(POLICY, planned_devices=[0, 1]))
    [bad] = failing(result["checks"])
    assert bad["status"] == "WARNING" and "(no name)" in bad["detail"] and "not planned" in bad["detail"]
    assert 6 not in result["healthy_devices"]


def test_hbm_of_our_containers_counts_as_free():
    devices = [a2_device(n) for n in range(8)]
    devices[2]["hbm_used_mb"] = 48400
    processes = [{"npu_id": 2, "chip_id": 0, "pid": 4242, "name": "VLLMWorker_TP", "memory_mb": 45000}]
    containers = {"ok": True, "error": None, "pids": [
        {"pid": pid, "container": "vllm-qwen-0"} for pid in parse_top_pids("PID\n4200\n4242\n")]}
    result = npu_driver_assess(observed(devices, processes, containers=containers), POLICY)
    assert failing(result["checks"]) == []
    [ours] = [item for item in result["checks"] if item["name"] == "our_containers"]
    assert ours["detail"].startswith("NPU 2: 45000 MB held by our container(s) vllm-qwen-0")
    assert 2 in result["healthy_devices"]


def test_leaked_hbm_without_a_process_is_critical_with_reset():
    devices = [a2_device(n) for n in range(8)]
    devices[4]["hbm_used_mb"] = 60000
    [bad] = failing(npu_driver_assess(observed(devices), POLICY)["checks"])
    assert bad["name"] == "hbm_free" and bad["device"] == 4
    assert "npu-smi set -t reset -i 4 -c 0" in bad["action"]


def test_container_listing_failure_warns_and_treats_processes_as_foreign():
    processes = [{"npu_id": 0, "chip_id": 0, "pid": 10, "name": "VLLMWorker_TP", "memory_mb": 10}]
    containers = {"ok": False, "error": "Cannot connect to the Docker daemon", "pids": []}
    bad = {item["name"]: item for item in failing(npu_driver_assess(observed(processes=processes,
                                                                            containers=containers), POLICY)["checks"])}
    assert bad["containers"]["status"] == "WARNING" and "Cannot connect" in bad["containers"]["detail"]
    assert bad["foreign_process"]["status"] == "CRITICAL"


def test_a3_chips_are_named_with_their_chip_and_reset_by_chip():
    devices = []
    for npu in range(8):
        for chip in range(2):
            devices.append(a2_device(npu, chip_id=chip, logic_id=npu * 2 + chip, name="Ascend910"))
    devices[3]["health"] = "Critical"
    files = [f"davinci{n}" for n in range(16)] + ["davinci_manager", "devmm_svm", "hisi_hdc"]
    result = npu_driver_assess(observed(devices, device_files=files), dict(POLICY, expected_count=16))
    [bad] = failing(result["checks"])
    assert bad["detail"].startswith("NPU 1 chip 1: Health Critical")
    assert "npu-smi set -t reset -i 1 -c 1" in bad["action"]
    assert "npu-smi info -t health -i 1 -c 1" in bad["action"]
    labels = npu_device_labels({"devices": devices})
    assert labels[3] == "NPU 1 chip 1"


def test_assess_rejects_non_dict_input():
    with pytest.raises(ReadinessInputError, match="must be a dict"):
        npu_driver_assess("text", POLICY)


def test_device_labels_without_the_npu_fact():
    assert npu_device_labels(None) == {}
