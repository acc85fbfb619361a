"""atlas.vllm.hccn_info replayed against recorded hccn_tool output."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible_collections.atlas.vllm.plugins.modules import hccn_info

TOOL = "/usr/local/Ascend/driver/tools/hccn_tool"
QUERIES = ["-link", "-net_health", "-ip", "-gateway", "-netdetect", "-lldp", "-tls"]


@pytest.fixture
def hccn_conf(tmp_path, fixture_text) -> Path:
    path = tmp_path / "hccn.conf"
    path.write_text(fixture_text("hccn/synthetic/hccn_conf_tls.txt"))
    return path


def expected_calls(devices):
    return sorted([TOOL, "-i", str(device), query, "-g"] for device in devices for query in QUERIES)


def test_devices_from_hccn_conf(run_module, hccn_conf, load_scenario, expected):
    outcome = run_module(hccn_info, {"hccn_conf": str(hccn_conf)}, load_scenario("hccn_info_two_devices.yml"))
    assert not outcome.failed, outcome.result
    assert outcome.result["changed"] is False
    assert outcome.result["hccn_conf_found"] is True
    assert sorted(outcome.calls) == expected_calls([0, 1])
    assert all(kwargs["environ_update"] == {"LANGUAGE": "C", "LC_ALL": "C"} for kwargs in outcome.kwargs)
    healthy, broken = outcome.result["devices"]
    assert healthy == {
        "device": 0,
        "link": "UP",
        "net_health": "Success",
        "ip": "11.12.165.80",
        "netmask": "255.255.255.0",
        "gateway": "11.12.165.1",
        "gateway_iface": "eth0",
        "netdetect": "11.12.165.1",
        "lldp_ifname": "400GE1/1/5:1",
        "tls_switch": 0,
        "tls": {"dev_id": 0, "tls_switch": 0, "tls_preconfigured": 1, "tls_alarm_time_threshold": 60},
        "conf": expected["hccn_conf_tls_device_0"],
        "errors": {},
    }
    assert broken["device"] == 1
    assert (broken["link"], broken["net_health"]) == ("DOWN", "Fault")
    # "no ip was preset" is a state, not an error.
    assert (broken["ip"], broken["netmask"]) == (None, None)
    assert "ip" not in broken["errors"]
    assert sorted(broken["errors"]) == ["gateway", "lldp"]
    assert f"{TOOL} -i 1 -gateway -g" in broken["errors"]["gateway"]
    assert "Get gateway failed" in broken["errors"]["gateway"]
    assert "(no output)" in broken["errors"]["lldp"]
    assert (broken["gateway"], broken["lldp_ifname"]) == (None, None)
    assert broken["netdetect"] == "10.20.0.1"
    assert broken["tls_switch"] == 1
    assert broken["conf"] == {"address": "10.20.0.11", "netmask": "255.255.255.0", "tls_enable": "1"}


def test_explicit_devices_keep_their_order(run_module, tmp_path, load_scenario):
    args = {"devices": [1, 0], "hccn_conf": str(tmp_path / "missing.conf"), "parallel": 1}
    outcome = run_module(hccn_info, args, load_scenario("hccn_info_two_devices.yml"))
    assert not outcome.failed
    assert outcome.result["hccn_conf_found"] is False
    assert [entry["device"] for entry in outcome.result["devices"]] == [1, 0]
    assert [entry["conf"] for entry in outcome.result["devices"]] == [{}, {}]
    # parallel=1 runs one device after the other, each in query order.
    assert outcome.calls == [[TOOL, "-i", "1", q, "-g"] for q in QUERIES] + [
        [TOOL, "-i", "0", q, "-g"] for q in QUERIES
    ]


def test_without_devices_and_without_conf_fails(run_module, tmp_path):
    outcome = run_module(hccn_info, {"hccn_conf": str(tmp_path / "missing.conf")}, {"commands": []})
    assert outcome.failed
    assert "set devices" in outcome.result["msg"]
    assert "missing" in outcome.result["msg"]
    assert outcome.calls == []


def test_missing_binary_fails(run_module, monkeypatch, tmp_path):
    monkeypatch.setattr(hccn_info, "DEFAULT_EXECUTABLE", str(tmp_path / "hccn_tool"))
    outcome = run_module(hccn_info, {"devices": [0], "hccn_conf": str(tmp_path / "x")}, {"commands": []})
    assert outcome.failed
    assert "hccn_tool not found" in outcome.result["msg"]


def test_parallel_must_be_positive(run_module, hccn_conf):
    outcome = run_module(hccn_info, {"hccn_conf": str(hccn_conf), "parallel": 0}, {"commands": []})
    assert outcome.failed
    assert "parallel" in outcome.result["msg"]


def test_a_device_whose_hccn_tool_hangs_is_named_and_the_others_are_read(run_module, hccn_conf, load_scenario):
    scenario = load_scenario("hccn_info_two_devices.yml")
    hung = next(c for c in scenario["commands"] if c["argv"][1:] == ["-i", "1", "-net_health", "-g"])
    hung["timed_out"] = True
    outcome = run_module(hccn_info, {"hccn_conf": str(hccn_conf), "timeout": 7}, scenario)
    assert not outcome.failed, outcome.result
    healthy, hung_device = outcome.result["devices"]
    assert healthy["errors"] == {} and "timed_out" not in healthy
    assert hung_device["timed_out"] is True
    assert hung_device["errors"] == {"net_health": f"'{TOOL} -i 1 -net_health -g' did not answer in 7 s and was stopped"}
    # The device's link was read before the hang; its later queries were not asked.
    assert hung_device["link"] == "DOWN"
    assert sorted(c for c in outcome.calls if c[2] == "1") == sorted([[TOOL, "-i", "1", "-link", "-g"],
                                                                      [TOOL, "-i", "1", "-net_health", "-g"]])
