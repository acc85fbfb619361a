"""The ping plan (plugins/module_utils/readiness/ping_plan.py) and the matrix (ping_matrix.py)."""

from __future__ import annotations

import pytest
from ansible_collections.atlas.vllm.plugins.module_utils.readiness.checks import ReadinessInputError
from ansible_collections.atlas.vllm.plugins.module_utils.readiness.ping_matrix import hccl_network_ping_matrix
from ansible_collections.atlas.vllm.plugins.module_utils.readiness.ping_plan import ping_targets, pings_per_node


def failing(checks: list[dict]) -> list[dict]:
    return [item for item in checks if item["status"] != "PASS"]


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
        for target in ping_targets(nodes, node["host"], mode):
            dst = owner[(target["device"], target["address"])]
            loss = 100.0 if (node["host"], dst, target["device"]) in lost else 0.0
            pings.append({**target, "loss_pct": loss})
        node["pings"] = pings
    return nodes


MATRIX_POLICY = {"mode": "all", "severity": "CRITICAL", "max_loss_pct": 0, "multi_node": True}


def test_ping_targets_all_and_ring_skip_known_bad_devices():
    nodes = nodes_for(["atlas-01", "atlas-02", "atlas-03"], {"atlas-02": [3]})
    all_targets = ping_targets(nodes, "atlas-01", "all")
    assert len(all_targets) == 15
    assert {"device": 3, "address": "10.232.2.4"} not in all_targets
    ring = ping_targets(nodes, "atlas-03", "ring")
    assert {t["address"] for t in ring} == {f"10.232.1.{d + 1}" for d in range(8)}
    assert ping_targets(nodes, "atlas-02", "ring") == [
        {"device": d, "address": f"10.232.3.{d + 1}"} for d in range(8) if d != 3]
    with pytest.raises(ReadinessInputError, match="one of ring, all"):
        ping_targets(nodes, "atlas-01", "mesh")


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


@pytest.mark.parametrize(("mode", "per_node"), [("ring", [8, 8, 8, 8]), ("all", [8, 24, 56, 120])])
def test_pings_per_node_stay_flat_in_ring_and_grow_in_all(mode, per_node):
    assert [pings_per_node(mode, nodes, 8) for nodes in (2, 4, 8, 16)] == per_node
    assert pings_per_node(mode, 1, 8) == 0


def test_ring_makes_every_node_and_device_index_send_and_receive():
    hosts = [f"atlas-{index:02d}" for index in range(1, 6)]
    nodes = with_pings(nodes_for(hosts), "ring")
    owner = {(d["device"], d["ip"]): n["host"] for n in nodes for d in n["devices"]}
    sent = {(node["host"], ping["device"]) for node in nodes for ping in node["pings"]}
    received = {(owner[(ping["device"], ping["address"])], ping["device"]) for node in nodes for ping in node["pings"]}
    everything = {(host, device) for host in hosts for device in range(8)}
    assert sent == everything and received == everything
