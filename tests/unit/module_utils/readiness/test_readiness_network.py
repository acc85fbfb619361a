"""hccl_network's NIC checks (plugins/module_utils/readiness/network.py) from what hccn_info returns."""

from __future__ import annotations

from ansible_collections.atlas.vllm.plugins.module_utils.readiness.devices import device_label
from ansible_collections.atlas.vllm.plugins.module_utils.readiness.network import hccl_network_assess


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


def test_a_device_whose_hccn_tool_hangs_is_named_once_and_not_usable():
    hung = {"link": None, "net_health": None, "ip": None, "gateway": None, "netdetect": None, "timed_out": True,
            "errors": {"link": "'hccn_tool -i 3 -link -g' did not answer in 30 s and was stopped"}}
    result = hccl_network_assess(hccn(d3=hung), NET_POLICY)
    [bad] = result["checks"]
    # Only the hang: no "no device IP" or "no gateway" guessed from the fields it never read.
    assert bad["detail"] == "NPU 3 (no IP): 'hccn_tool -i 3 -link -g' did not answer in 30 s and was stopped"
    assert bad["action"].startswith("the NIC of NPU 3 or its driver is wedged") and bad["device"] == 3
    assert not result["devices"][3]["usable"]


def test_a3_nics_are_named_with_their_chip():
    labels = {npu * 2 + chip: device_label(npu, chip, 2) for npu in range(8) for chip in range(2)}
    network = [nic(d) for d in range(16)]
    network[5].update(link="DOWN", net_health="Fault", lldp_ifname=None)
    [down] = hccl_network_assess({"devices": network}, {"devices": list(range(16)), "labels": labels})["checks"]
    assert down["detail"] == "NPU 2 chip 1 (10.232.2.6): link DOWN, net_health Fault"
    assert down["action"].startswith("check the optical module and cable of NPU 2 chip 1 and its switch port "
                                     "(hccn_tool -i 5 -lldp -g")
