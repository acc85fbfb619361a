"""atlas.vllm.npu_node_info replayed against recorded npu-smi output and docker listings."""

from __future__ import annotations

import pytest
from ansible_collections.atlas.vllm.plugins.modules import npu_node_info

SMI = "/usr/local/bin/npu-smi"
LABEL = {"managed_label": "io.atlas-vllm.managed=true"}


@pytest.fixture
def node(tmp_path, monkeypatch):
    """A node with version.info and the device files of an A2 with 8 NPUs."""
    dev = tmp_path / "dev"
    dev.mkdir()
    for name in [f"davinci{n}" for n in range(8)] + ["davinci_manager", "devmm_svm", "hisi_hdc", "null", "tty0"]:
        (dev / name).write_text("")
    monkeypatch.setattr(npu_node_info, "DEVICE_DIR", str(dev))
    version_info = tmp_path / "version.info"
    version_info.write_text("Version=24.1.0.3\nascendhal_version=7.35.23\npackage_version=24.1.0.3\n")
    return {**LABEL, "version_info_path": str(version_info)}


def test_one_call_reads_everything_the_checks_need(run_module, load_scenario, node):
    outcome = run_module(npu_node_info, node, load_scenario("npu_node_info_910b3.yml"))
    assert not outcome.failed, outcome.result
    result = outcome.result
    assert result["changed"] is False
    assert (result["npu_error"], result["npu_timed_out"]) == (None, False)
    assert [(d["npu_id"], d["logic_id"], d["error_code"]) for d in result["npu"]["devices"]] == [
        (0, 0, None), (7, 7, "80E01801")]
    assert result["ansible_facts"]["npu"] == result["npu"]
    assert result["firmware"] == [{"npu_id": 0, "version": "7.1.0.7.220", "error": None},
                                  {"npu_id": 7, "version": "7.5.0.3.220", "error": None}]
    assert result["driver_version"] == "24.1.0.3"
    assert result["device_files"] == sorted([f"davinci{n}" for n in range(8)] + ["davinci_manager", "devmm_svm",
                                                                                  "hisi_hdc"])
    assert result["containers"] == {"ok": True, "error": None, "pids": [{"pid": 4200, "container": "vllm-0"},
                                                                       {"pid": 4242, "container": "vllm-0"}]}
    # Every query ran once; the per-chip and per-NPU ones concurrently, so only the set is fixed.
    assert sorted(map(tuple, outcome.calls)) == sorted(map(tuple, result["cmd"]))
    assert len(outcome.calls) == 8


def test_a_driver_that_does_not_answer_is_returned_not_failed(run_module, load_scenario, node):
    scenario = load_scenario("npu_node_info_910b3.yml")
    scenario["commands"][0].update(rc=255, stdout="dcmi module initialize failed. ret is -8005\n")
    outcome = run_module(npu_node_info, node, scenario)
    assert not outcome.failed
    assert outcome.result["npu"] is None and outcome.result["ansible_facts"] == {}
    assert outcome.result["npu_error"] == (f"'{SMI} info' failed with rc=255: dcmi module initialize failed. "
                                           "ret is -8005")
    # The rest of the node is still read, so its checks can run.
    assert outcome.result["containers"]["ok"] is True and outcome.result["driver_version"] == "24.1.0.3"


def test_a_hung_health_query_is_named_with_its_deadline(run_module, load_scenario, node):
    scenario = load_scenario("npu_node_info_910b3.yml")
    scenario["commands"][3]["timed_out"] = True
    outcome = run_module(npu_node_info, {**node, "timeout": 7}, scenario)
    assert outcome.result["npu"] is None and outcome.result["npu_timed_out"] is True
    assert outcome.result["npu_error"] == f"'{SMI} info -t health -i 7 -c 0' did not answer in 7 s and was stopped"


def test_a_failing_board_query_is_that_npu_s_firmware_error(run_module, load_scenario, node):
    scenario = load_scenario("npu_node_info_910b3.yml")
    scenario["commands"][5].update(rc=1, stdout="", stderr="Error: board query failed\n")
    outcome = run_module(npu_node_info, node, scenario)
    assert outcome.result["npu"] is not None
    assert outcome.result["firmware"][1] == {
        "npu_id": 7, "version": None, "error": f"'{SMI} info -t board -i 7' failed with rc=1: Error: board query failed"}


def test_a_stopped_container_engine_is_returned(run_module, load_scenario, node):
    scenario = load_scenario("npu_node_info_910b3.yml")
    scenario["commands"][6].update(rc=1, stdout="", stderr="Cannot connect to the Docker daemon at "
                                   "unix:///var/run/docker.sock. Is the docker daemon running?\n")
    outcome = run_module(npu_node_info, node, scenario)
    assert outcome.result["containers"]["ok"] is False
    assert outcome.result["containers"]["error"].startswith("Cannot connect to the Docker daemon")
    assert outcome.result["containers"]["pids"] == []


def test_missing_npu_smi_and_version_info(run_module, monkeypatch, tmp_path, node):
    monkeypatch.setattr(npu_node_info, "DEFAULT_EXECUTABLE", str(tmp_path / "npu-smi"))
    scenario = {"bin_paths": {}, "commands": [
        {"argv": ["docker", "ps", "--filter", "label=io.atlas-vllm.managed=true", "--format", "{{.ID}} {{.Names}}"],
         "rc": 0, "stdout": "", "stderr": ""}]}
    outcome = run_module(npu_node_info, {**node, "version_info_path": str(tmp_path / "absent")}, scenario)
    assert not outcome.failed
    assert outcome.result["npu_error"].startswith("npu-smi not found on PATH")
    assert outcome.result["driver_version"] is None
    assert outcome.result["containers"] == {"ok": True, "error": None, "pids": []}


@pytest.mark.parametrize("option", ["timeout", "parallel", "container_timeout"])
def test_bounds_below_one_are_refused(run_module, node, option):
    outcome = run_module(npu_node_info, {**node, option: 0}, {"bin_paths": {}, "commands": []})
    assert outcome.failed and outcome.result["msg"] == f"{option} must be at least 1, got 0"
