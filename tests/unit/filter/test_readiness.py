"""The atlas.vllm readiness filters: npu_driver and hccl_network checks, the ping matrix and the node verdict."""

from __future__ import annotations

import copy

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.atlas.vllm.plugins.filter.readiness import (
    FilterModule,
    atlas_failed_nodes,
    atlas_verdict,
    atlas_verdict_summary,
    atlas_verdict_table,
    hccl_network_assess,
    hccl_network_ping_matrix,
    hccl_network_ping_targets,
    npu_device_labels,
    npu_driver_assess,
    parse_docker_top_pids,
    parse_version_info,
    readiness_check_line,
)

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
    devices = [a2_device(n) for n in range(8)] if devices is None else devices
    npu = {"version": smi_version or version, "count": len({d["npu_id"] for d in devices}), "devices": devices,
           "processes": processes or []}
    data = {
        "smi": {"changed": False, "ansible_facts": {"npu": npu}, "cmd": [["/usr/local/bin/npu-smi", "info"]]},
        "dev_files": list(DEV_FILES),
        "version_info": VERSION_INFO.format(version=version),
        "version_info_path": "/usr/local/Ascend/driver/version.info",
        "boards": [{"item": n, "rc": 0, "stdout": BOARD.format(npu=n, fw="7.5.0.3.220")}
                   for n in sorted({d["npu_id"] for d in devices})],
        "containers": containers if containers is not None else {"ok": True, "error": "", "list": []},
    }
    data.update(extra)
    return data


def failing(checks: list[dict]) -> list[dict]:
    return [item for item in checks if item["status"] != "PASS"]


def test_filters_are_registered():
    assert set(FilterModule().filters()) == {
        "npu_driver_assess", "npu_device_labels", "hccl_network_assess", "hccl_network_ping_targets",
        "hccl_network_ping_matrix", "atlas_verdict", "atlas_verdict_summary", "atlas_failed_nodes",
        "atlas_verdict_table", "readiness_check_line",
    }


# ---------------------------------------------------------------------------------------------- npu_driver


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
    data["dev_files"].remove("davinci3")
    result = npu_driver_assess(data, POLICY)
    bad = {item["name"]: item for item in failing(result["checks"])}
    assert set(bad) == {"device_files", "npu_count"}
    assert bad["device_files"]["detail"] == "NPU 3: /dev/davinci3 is missing"
    assert bad["device_files"]["device"] == 3
    assert bad["npu_count"]["detail"] == "npu-smi shows 7 NPU chips, npu_driver_expected_count is 8; not shown: NPU 3"
    assert result["healthy_devices"] == [0, 1, 2, 4, 5, 6, 7]


def test_missing_control_device_means_driver_not_loaded():
    data = observed()
    data["dev_files"].remove("davinci_manager")
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
    result = npu_driver_assess(observed(version_info=None), POLICY)
    [item] = [item for item in result["checks"] if item["name"] == "driver_version"]
    assert item["status"] == "CRITICAL" and "no Version= line" in item["detail"]


def test_npu_smi_failure_is_one_critical_check_and_no_healthy_device():
    data = observed()
    data["smi"] = {"failed": True, "msg": "'npu-smi info' failed with rc=1: dcmi module initialize failed. ret is -8005"}
    result = npu_driver_assess(data, POLICY)
    [bad] = failing(result["checks"])
    assert bad["name"] == "npu_smi" and "-8005" in bad["detail"]
    assert result["healthy_devices"] == []


def test_npu_smi_that_never_answered_is_named_with_the_reboot_advice():
    data = observed()
    data["smi"] = {"failed": True, "timed_out": True,
                   "msg": "'/usr/local/bin/npu-smi info' did not answer in 30 s and was stopped"}
    result = npu_driver_assess(data, POLICY)
    [bad] = failing(result["checks"])
    assert (bad["name"], bad["status"]) == ("npu_smi", "CRITICAL")
    assert bad["detail"] == "'/usr/local/bin/npu-smi info' did not answer in 30 s and was stopped"
    assert "reboot the node" in bad["action"]
    assert result["healthy_devices"] == []


def test_firmware_mismatch_warns():
    data = observed()
    data["boards"][6]["stdout"] = BOARD.format(npu=6, fw="7.3.0.1.231")
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
    containers = {"ok": True, "error": "", "list": [
        {"item": "ccbb11246fd0 vllm-qwen-0", "rc": 0, "stdout": "PID\n4200\n4242\n"},
    ]}
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
    containers = {"ok": False, "error": "Cannot connect to the Docker daemon", "list": []}
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
    result = npu_driver_assess(observed(devices, dev_files=files), dict(POLICY, expected_count=16))
    [bad] = failing(result["checks"])
    assert bad["detail"].startswith("NPU 1 chip 1: Health Critical")
    assert "npu-smi set -t reset -i 1 -c 1" in bad["action"]
    assert "npu-smi info -t health -i 1 -c 1" in bad["action"]
    labels = npu_device_labels({"devices": devices})
    assert labels[3] == "NPU 1 chip 1"
    network = [nic(d) for d in range(16)]
    network[5].update(link="DOWN", net_health="Fault", lldp_ifname=None)
    [down] = hccl_network_assess({"devices": network}, {"devices": list(range(16)), "labels": labels})["checks"]
    assert down["detail"] == "NPU 2 chip 1 (10.232.2.6): link DOWN, net_health Fault"
    assert down["action"].startswith("check the optical module and cable of NPU 2 chip 1 and its switch port "
                                     "(hccn_tool -i 5 -lldp -g")


def test_assess_rejects_non_dict_input():
    with pytest.raises(AnsibleFilterError, match="must be a dict"):
        npu_driver_assess("text", POLICY)


def test_small_parsers():
    assert parse_version_info(VERSION_INFO.format(version="25.2.0")) == "25.2.0"
    assert parse_version_info("package_version=1\n") is None
    assert parse_docker_top_pids("PID\n12\n 13 \n") == [12, 13]
    assert npu_device_labels(None) == {}


# -------------------------------------------------------------------------------------------- hccl_network


def nic(device: int, node: int = 2, **extra) -> dict:
    ip = f"10.232.{node}.{device + 1}"
    entry = {"device": device, "link": "UP", "net_health": "Success", "ip": ip, "netmask": "255.255.0.0",
             "gateway": "10.232.0.1", "gateway_iface": "eth0", "netdetect": "10.232.0.1",
             "lldp_ifname": f"400GE1/1/{node}:{device + 1}", "tls_switch": 0, "tls": {},
             "conf": {"address": ip, "netmask": "255.255.0.0"}, "errors": {}}
    entry.update(extra)
    return entry


def hccn(node: int = 2, **changes) -> dict:
    devices = [nic(d, node) for d in range(8)]
    for device, extra in changes.items():
        devices[int(device.lstrip("d"))].update(extra)
    return {"changed": False, "devices": devices, "hccn_conf_found": True}


NET_POLICY = {"devices": list(range(8)), "severity": "WARNING", "labels": {}}


def test_healthy_nics_pass():
    result = hccl_network_assess(hccn(), NET_POLICY)
    assert [item["status"] for item in result["checks"]] == ["PASS"]
    assert all(state["usable"] for state in result["devices"])


def test_link_down_names_the_device_once_with_the_optical_module():
    result = hccl_network_assess(hccn(d3={"link": "DOWN", "net_health": "Fault", "lldp_ifname": None,
                                         "errors": {"lldp": "no lldp neighbor"}}), NET_POLICY)
    [bad] = result["checks"]
    assert bad["detail"] == "NPU 3 (10.232.2.4): link DOWN, net_health Fault"
    assert bad["action"].startswith("check the optical module and cable of NPU 3")
    assert bad["status"] == "WARNING" and bad["device"] == 3
    assert not result["devices"][3]["usable"]


def test_no_ip_is_the_cause_not_net_health():
    result = hccl_network_assess(hccn(d5={"ip": None, "netmask": None, "net_health": "Init", "conf": {}}),
                                 dict(NET_POLICY, severity="CRITICAL"))
    [bad] = result["checks"]
    assert bad["status"] == "CRITICAL"
    assert bad["detail"] == "NPU 5 (no IP): no device IP, net_health Init"
    assert "hccn_tool -i 5 -ip -s address <ip> netmask <mask>" in bad["action"]


def test_ip_differs_from_hccn_conf():
    [bad] = hccl_network_assess(hccn(d1={"conf": {"address": "10.9.9.9"}}), NET_POLICY)["checks"]
    assert "IP 10.232.2.2 differs from /etc/hccn.conf address_1=10.9.9.9" in bad["detail"]


def test_missing_gateway_and_netdetect():
    [bad] = hccl_network_assess(hccn(d0={"gateway": None, "netdetect": None}), NET_POLICY)["checks"]
    assert bad["detail"].endswith("no gateway, no netdetect address")


def test_query_errors_with_the_same_output_are_said_once():
    message = "'/x/hccn_tool -i 3 -{0} -g' failed with rc=1: Invalid device id: 3, the device does not exist!"
    errors = {key: message.format(key) for key in ("link", "ip", "gateway")}
    [bad] = hccl_network_assess(hccn(d3={"link": None, "ip": None, "gateway": None, "errors": errors}),
                                NET_POLICY)["checks"]
    assert bad["detail"] == ("NPU 3 (no IP): hccn_tool -i 3 failed (gateway, ip, link): Invalid device id: 3, "
                             "the device does not exist!")


def test_devices_npu_smi_does_not_show_are_left_to_npu_driver():
    labels = {n: f"NPU {n}" for n in range(8) if n != 3}
    result = hccl_network_assess(hccn(d3={"link": None, "errors": {"link": "x"}}), dict(NET_POLICY, labels=labels))
    assert [item["status"] for item in result["checks"]] == ["PASS", "PASS"]
    assert "NPU 3" in result["checks"][1]["detail"]
    assert 3 not in [state["device"] for state in result["devices"]]


def test_hccn_failure_is_one_check():
    [bad] = hccl_network_assess({"failed": True, "msg": "hccn_tool not found"}, NET_POLICY)["checks"]
    assert "hccn_tool not found" in bad["detail"]


def nodes_for(hosts: list[str], broken: dict | None = None) -> list[dict]:
    """Node states with every NIC usable, except broken {host: [devices]}."""
    broken = broken or {}
    nodes = []
    for host in hosts:
        index = int(host.split("-")[1])
        devices = []
        for device in range(8):
            bad = device in broken.get(host, [])
            devices.append({"device": device, "label": f"NPU {device}", "ip": f"10.232.{index}.{device + 1}",
                            "usable": not bad, "problems": ["link DOWN"] if bad else [],
                            "lldp_ifname": f"400GE1/1/{index}:{device + 1}"})
        nodes.append({"host": host, "devices": devices})
    return nodes


def with_pings(nodes: list[dict], mode: str = "all", lost: set | None = None) -> list[dict]:
    """Add the pings each node would run; (src, dst, device) in lost get 100% loss."""
    lost = lost or set()
    owner = {(d["device"], d["ip"]): n["host"] for n in nodes for d in n["devices"]}
    for node in nodes:
        pings = []
        for target in hccl_network_ping_targets(nodes, node["host"], mode):
            dst = owner[(target["device"], target["address"])]
            loss = 100.0 if (node["host"], dst, target["device"]) in lost else 0.0
            pings.append({**target, "loss_pct": loss})
        node["pings"] = pings
    return nodes


MATRIX_POLICY = {"mode": "all", "severity": "CRITICAL", "max_loss_pct": 0, "multi_node": True}


def test_ping_targets_all_and_ring_skip_known_bad_devices():
    nodes = nodes_for(["atlas-01", "atlas-02", "atlas-03"], {"atlas-02": [3]})
    all_targets = hccl_network_ping_targets(nodes, "atlas-01", "all")
    assert len(all_targets) == 15
    assert {"device": 3, "address": "10.232.2.4"} not in all_targets
    ring = hccl_network_ping_targets(nodes, "atlas-03", "ring")
    assert {t["address"] for t in ring} == {f"10.232.1.{d + 1}" for d in range(8)}
    assert hccl_network_ping_targets(nodes, "atlas-02", "ring") == [
        {"device": d, "address": f"10.232.3.{d + 1}"} for d in range(8) if d != 3]
    with pytest.raises(AnsibleFilterError, match="'all' or 'ring'"):
        hccl_network_ping_targets(nodes, "atlas-01", "mesh")


def test_matrix_all_pass():
    result = hccl_network_ping_matrix(with_pings(nodes_for(["atlas-01", "atlas-02", "atlas-03"])), MATRIX_POLICY)
    for host, checks in result["checks"].items():
        assert [item["status"] for item in checks] == ["PASS"], host
        assert checks[0]["detail"] == "16 pings to all peers within 0% loss"
    assert result["lines"][0] == "atlas-01 -> atlas-02: 8/8 device pairs OK"


def test_matrix_names_a_broken_pair():
    hosts = ["atlas-02", "atlas-05"]
    nodes = with_pings(nodes_for(hosts), lost={("atlas-02", "atlas-05", 3)})
    result = hccl_network_ping_matrix(nodes, MATRIX_POLICY)
    [bad] = [item for item in result["checks"]["atlas-02"] if item["status"] != "PASS"]
    assert bad["detail"] == "atlas-02 NPU 3 (10.232.2.4) -> atlas-05 NPU 3 (10.232.5.4): 100% loss"
    assert bad["status"] == "CRITICAL" and bad["device"] == 3
    assert "hccn_tool -i 3 -ping -g address 10.232.5.4" in bad["action"]
    assert [item["status"] for item in result["checks"]["atlas-05"]] == ["PASS"]


def test_matrix_blames_the_node_that_reaches_no_peer_once():
    hosts = ["atlas-01", "atlas-02", "atlas-03", "atlas-04"]
    lost = {(src, dst, 3) for src in hosts for dst in hosts if src != dst and "atlas-02" in (src, dst)}
    result = hccl_network_ping_matrix(with_pings(nodes_for(hosts), lost=lost), MATRIX_POLICY)
    [bad] = [item for item in result["checks"]["atlas-02"] if item["status"] != "PASS"]
    assert bad["detail"] == ("atlas-02 NPU 3 (10.232.2.4) reaches none of its 3 peers (atlas-01, atlas-03, atlas-04) "
                             "and they reach each other: the fault is on this node's side")
    assert bad["action"] == "check the optical module of NPU 3 and its switch port 400GE1/1/2:4"
    for host in ("atlas-01", "atlas-03", "atlas-04"):
        assert [item["status"] for item in result["checks"][host]] == ["PASS"]


def test_matrix_blames_in_ring_mode_too():
    hosts = ["atlas-01", "atlas-02", "atlas-03"]
    nodes = nodes_for(hosts)
    lost = {("atlas-01", "atlas-02", 4), ("atlas-02", "atlas-03", 4)}
    result = hccl_network_ping_matrix(with_pings(nodes, "ring", lost), dict(MATRIX_POLICY, mode="ring"))
    [bad] = [item for item in result["checks"]["atlas-02"] if item["status"] != "PASS"]
    assert "reaches none of its 2 peers" in bad["detail"]


def test_matrix_does_not_repeat_a_device_known_bad():
    hosts = ["atlas-01", "atlas-02", "atlas-03"]
    result = hccl_network_ping_matrix(with_pings(nodes_for(hosts, {"atlas-02": [3]})), MATRIX_POLICY)
    for host in hosts:
        assert [item["status"] for item in result["checks"][host]] == ["PASS"]
    assert "not pinged (cause named in atlas-02's npu_network check): atlas-02 NPU 3" in result["lines"]
    assert "NPU 3 not pinged" in result["checks"]["atlas-02"][0]["detail"]


def test_matrix_partial_loss_within_the_allowed_loss_passes():
    hosts = ["atlas-01", "atlas-02"]
    nodes = with_pings(nodes_for(hosts))
    nodes[0]["pings"][0]["loss_pct"] = 33.33
    assert failing(hccl_network_ping_matrix(nodes, dict(MATRIX_POLICY, max_loss_pct=50))["checks"]["atlas-01"]) == []
    [bad] = failing(hccl_network_ping_matrix(nodes, MATRIX_POLICY)["checks"]["atlas-01"])
    assert bad["detail"].endswith(": 33.33% loss")


@pytest.mark.parametrize(("multi_node", "status"), [(False, "PASS"), (True, "WARNING")])
def test_single_node_play_skips_the_matrix_and_says_so(multi_node, status):
    result = hccl_network_ping_matrix(with_pings(nodes_for(["atlas-01"])), dict(MATRIX_POLICY, multi_node=multi_node))
    [item] = result["checks"]["atlas-01"]
    assert item["status"] == status
    assert item["detail"] == "only one node in this play: cross-node ping matrix skipped"


# ------------------------------------------------------------------------------------------------ verdicts


def item(status: str, name: str = "x", device=None) -> dict:
    return {"name": name, "status": status, "device": device, "detail": f"{name} detail", "action": f"{name} action"}


def test_verdict_is_the_worst_status():
    assert atlas_verdict([[item("PASS")], [item("WARNING")]])["status"] == "WARNING"
    assert atlas_verdict([[item("PASS")], [item("CRITICAL"), item("WARNING")]])["status"] == "CRITICAL"
    assert atlas_verdict([[], []]) == {"status": "PASS", "checks": []}
    with pytest.raises(AnsibleFilterError, match="status 'FAIL'"):
        atlas_verdict([[item("FAIL")]])
    with pytest.raises(AnsibleFilterError, match="list of check lists"):
        atlas_verdict("PASS")


def test_summary_table_and_failed_nodes():
    verdicts = {
        "atlas-01": atlas_verdict([[item("PASS"), item("PASS")]]),
        "atlas-02": atlas_verdict([[item("CRITICAL", "health", 3), item("WARNING", "npu_network", 5)]]),
        "atlas-03": None,
    }
    assert atlas_failed_nodes(copy.deepcopy(verdicts)) == ["atlas-02", "atlas-03"]
    assert atlas_verdict_summary(verdicts["atlas-02"], "atlas-02") == (
        "atlas-02: CRITICAL (1 critical, 1 warning, 0 passed) - health detail")
    lines = atlas_verdict_table(verdicts)
    assert lines[2].split() == ["atlas-01", "PASS", "-", "all", "2", "checks", "passed"]
    assert lines[3].startswith("atlas-02     CRITICAL  3       health           health detail -> health action")
    assert lines[4].startswith("atlas-02     WARNING   5       npu_network")
    assert lines[5].startswith("atlas-03     CRITICAL  -       unreachable")


def test_check_line():
    assert readiness_check_line(item("CRITICAL", "health"), "atlas-02") == (
        "atlas-02 CRITICAL health: health detail -> health action")
    assert readiness_check_line({**item("PASS"), "action": ""}) == "PASS x: x detail"


def test_a_device_whose_hccn_tool_hangs_is_named_once_and_not_usable():
    hung = {"link": None, "net_health": None, "ip": None, "gateway": None, "netdetect": None, "timed_out": True,
            "errors": {"link": "'hccn_tool -i 3 -link -g' did not answer in 30 s and was stopped"}}
    result = hccl_network_assess(hccn(d3=hung), NET_POLICY)
    [bad] = result["checks"]
    # Only the hang: no "no device IP" or "no gateway" guessed from the fields it never read.
    assert bad["detail"] == "NPU 3 (no IP): 'hccn_tool -i 3 -link -g' did not answer in 30 s and was stopped"
    assert bad["action"].startswith("the NIC of NPU 3 or its driver is wedged") and bad["device"] == 3
    assert not result["devices"][3]["usable"]
