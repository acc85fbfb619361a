"""atlas.vllm.npu_smi_info replayed against recorded npu-smi output."""

from __future__ import annotations

import pytest
from ansible_collections.atlas.vllm.plugins.modules import npu_smi_info

LOCALE = {"LANGUAGE": "C", "LC_ALL": "C"}


def test_without_detail_runs_info_once(run_module, load_scenario, expected):
    outcome = run_module(npu_smi_info, {}, load_scenario("npu_smi_info_910b3.yml"))
    assert not outcome.failed
    assert outcome.calls == [["/usr/local/bin/npu-smi", "info"]]
    assert outcome.kwargs[0]["environ_update"] == LOCALE
    assert outcome.result["changed"] is False
    npu = outcome.result["ansible_facts"]["npu"]
    assert npu["version"] == "24.1.0.3"
    assert npu["count"] == 2
    assert npu["devices"][0] == expected["npu_910b3_device_0"]
    assert npu["processes"] == []


def test_detail_adds_logic_id_firmware_and_error_code(run_module, load_scenario):
    outcome = run_module(npu_smi_info, {"detail": True}, load_scenario("npu_smi_info_detail.yml"))
    assert not outcome.failed, outcome.result
    binary = "/usr/local/bin/npu-smi"
    assert outcome.calls == [
        [binary, "info"],
        [binary, "info", "-m"],
        [binary, "info", "-t", "board", "-i", "0", "-c", "0"],
        [binary, "info", "-t", "health", "-i", "0", "-c", "0"],
        [binary, "info", "-t", "board", "-i", "7", "-c", "0"],
        [binary, "info", "-t", "health", "-i", "7", "-c", "0"],
    ]
    assert all(kwargs["environ_update"] == LOCALE for kwargs in outcome.kwargs)
    devices = outcome.result["ansible_facts"]["npu"]["devices"]
    # The verbatim chip-level board sample carries no firmware line, so NPU 0's stays null.
    assert [(d["npu_id"], d["logic_id"], d["firmware_version"], d["error_code"]) for d in devices] == [
        (0, 0, None, None),
        (7, 7, "7.5.0.5.220", "80E01801"),
    ]
    # The table's health column stays the source of "health".
    assert [d["health"] for d in devices] == ["OK", "OK"]


def test_failing_npu_smi_fails_with_its_output(run_module, load_scenario):
    outcome = run_module(npu_smi_info, {}, load_scenario("npu_smi_info_not_started.yml"))
    assert outcome.failed
    assert outcome.calls == [["/usr/local/bin/npu-smi", "info"]]
    assert outcome.result["rc"] == 255
    assert "/usr/local/bin/npu-smi info" in outcome.result["msg"]
    assert "-8005" in outcome.result["msg"]
    assert outcome.result["stdout"] == "dcmi module initialize failed. ret is -8005\n"


def test_detail_failure_on_one_chip_fails(run_module, load_scenario):
    scenario = load_scenario("npu_smi_info_detail.yml")
    scenario["commands"][-1].update(rc=1, stdout="", stderr="Error: health query failed\n")
    outcome = run_module(npu_smi_info, {"detail": True}, scenario)
    assert outcome.failed
    assert "-t health -i 7 -c 0" in outcome.result["msg"]
    assert "health query failed" in outcome.result["msg"]


def test_missing_binary_fails(run_module, monkeypatch, tmp_path):
    monkeypatch.setattr(npu_smi_info, "DEFAULT_EXECUTABLE", str(tmp_path / "npu-smi"))
    outcome = run_module(npu_smi_info, {}, {"bin_paths": {}, "commands": []})
    assert outcome.failed
    assert outcome.calls == []
    assert "npu-smi not found" in outcome.result["msg"]


def test_fallback_path_when_not_on_path(run_module, monkeypatch, tmp_path, load_scenario):
    fallback = tmp_path / "npu-smi"
    fallback.write_text("#!/bin/sh\n")
    fallback.chmod(0o755)
    monkeypatch.setattr(npu_smi_info, "DEFAULT_EXECUTABLE", str(fallback))
    scenario = load_scenario("npu_smi_info_910b3.yml")
    scenario["bin_paths"] = {}
    scenario["commands"][0]["argv"] = [str(fallback), "info"]
    outcome = run_module(npu_smi_info, {}, scenario)
    assert not outcome.failed
    assert outcome.calls == [[str(fallback), "info"]]


def test_explicit_executable(run_module, tmp_path, load_scenario):
    binary = tmp_path / "npu-smi"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    scenario = load_scenario("npu_smi_info_910b3.yml")
    scenario["commands"][0]["argv"] = [str(binary), "info"]
    outcome = run_module(npu_smi_info, {"executable": str(binary)}, scenario)
    assert outcome.calls == [[str(binary), "info"]]
    assert outcome.result["ansible_facts"]["npu"]["count"] == 2


@pytest.mark.parametrize("kind", ["missing", "not_executable", "directory"])
def test_explicit_executable_must_be_executable(run_module, tmp_path, kind):
    path = tmp_path / "npu-smi"
    if kind == "not_executable":
        path.write_text("data\n")
        path.chmod(0o644)
    elif kind == "directory":
        path.mkdir()
    outcome = run_module(npu_smi_info, {"executable": str(path)}, {"commands": []})
    assert outcome.failed
    assert "is not an executable file" in outcome.result["msg"]
    assert outcome.calls == []


def test_check_mode_runs_the_same_read_only_command(run_module, load_scenario):
    outcome = run_module(npu_smi_info, {"_ansible_check_mode": True}, load_scenario("npu_smi_info_910b3.yml"))
    assert not outcome.failed
    assert outcome.calls == [["/usr/local/bin/npu-smi", "info"]]


def test_npu_smi_that_never_answers_fails_naming_the_call_and_the_timeout(run_module, load_scenario):
    scenario = load_scenario("npu_smi_info_detail.yml")
    hung = next(c for c in scenario["commands"] if c["argv"][1:] == ["info", "-t", "board", "-i", "7", "-c", "0"])
    hung["timed_out"] = True
    outcome = run_module(npu_smi_info, {"detail": True, "timeout": 12}, scenario)
    assert outcome.failed and outcome.result["timed_out"] is True
    assert outcome.result["msg"] == "'/usr/local/bin/npu-smi info -t board -i 7 -c 0' did not answer in 12 s and was stopped"
    # Nothing after the hung call is asked.
    assert outcome.calls[-1][1:] == ["info", "-t", "board", "-i", "7", "-c", "0"]
    assert {kwargs["timeout"] for kwargs in outcome.kwargs} == {12}


def test_timeout_must_be_positive(run_module, load_scenario):
    outcome = run_module(npu_smi_info, {"timeout": 0}, load_scenario("npu_smi_info_910b3.yml"))
    assert outcome.failed and "timeout must be at least 1 second, got 0" in outcome.result["msg"]
    assert outcome.calls == []
