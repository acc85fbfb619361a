"""atlas.vllm.hccn_ping replayed against recorded hccn_tool output."""

from __future__ import annotations

import pytest
from ansible_collections.atlas.vllm.plugins.modules import hccn_ping

TOOL = "/usr/local/Ascend/driver/tools/hccn_tool"
PINGS = [
    {"device": 0, "address": "11.12.165.80"},
    {"device": 1, "address": "11.12.165.81"},
    {"device": 0, "address": "11.12.165.99"},
]


def argv(device, address, count=3):
    return [TOOL, "-i", str(device), "-ping", "-g", "address", address, "pkt", str(count)]


@pytest.mark.parametrize("parallel", [1, 8])
def test_results_in_input_order(run_module, parallel, load_scenario):
    outcome = run_module(hccn_ping, {"pings": PINGS, "parallel": parallel}, load_scenario("hccn_ping_three.yml"))
    assert not outcome.failed, outcome.result
    assert outcome.result["changed"] is False
    assert sorted(outcome.calls) == sorted(argv(p["device"], p["address"]) for p in PINGS)
    if parallel == 1:
        assert outcome.calls == [argv(p["device"], p["address"]) for p in PINGS]
    assert all(kwargs["environ_update"] == {"LANGUAGE": "C", "LC_ALL": "C"} for kwargs in outcome.kwargs)
    ok, partial, lost = outcome.result["results"]
    assert ok["device"] == 0 and ok["address"] == "11.12.165.80"
    assert (ok["transmitted"], ok["received"], ok["loss_pct"], ok["rc"]) == (3, 3, 0.0, 0)
    assert ok["rtt_ms"] == [0.114, 0.067, 0.063]
    assert ok["rtt_avg_ms"] == pytest.approx(0.081333, abs=1e-6)
    assert ok["cmd"] == argv(0, "11.12.165.80")
    assert ok["raw"].startswith("device 0 PING 11.12.165.80")
    assert (partial["received"], partial["loss_pct"]) == (2, 33.33)
    assert (lost["transmitted"], lost["received"], lost["loss_pct"], lost["rc"]) == (3, 0, 100.0, 255)
    assert lost["rtt_avg_ms"] is None
    assert "Ping timeout" in lost["raw"]


def test_count_is_passed_as_pkt(run_module):
    scenario = {
        "bin_paths": {"hccn_tool": TOOL},
        "commands": [{"argv": argv(2, "10.0.0.2", 5), "rc": 0, "stdout": "", "stderr": "command not supported\n"}],
    }
    outcome = run_module(hccn_ping, {"pings": [{"device": 2, "address": "10.0.0.2"}], "count": 5}, scenario)
    assert outcome.calls == [argv(2, "10.0.0.2", 5)]
    result = outcome.result["results"][0]
    # No summary: counted as total loss, with the output kept.
    assert (result["transmitted"], result["received"], result["loss_pct"]) == (5, 0, 100.0)
    assert result["raw"] == "command not supported"


@pytest.mark.parametrize(("option", "value"), [("count", 0), ("parallel", 0)])
def test_options_must_be_positive(run_module, option, value):
    args = {"pings": [{"device": 0, "address": "10.0.0.1"}], option: value}
    outcome = run_module(hccn_ping, args, {"bin_paths": {"hccn_tool": TOOL}, "commands": []})
    assert outcome.failed
    assert option in outcome.result["msg"]


def test_ping_entry_needs_device_and_address(run_module):
    outcome = run_module(hccn_ping, {"pings": [{"device": 0}]}, {"bin_paths": {"hccn_tool": TOOL}, "commands": []})
    assert outcome.failed
    assert "address" in outcome.result["msg"]
