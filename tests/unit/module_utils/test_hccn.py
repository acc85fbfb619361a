"""hccn_tool parsers against the verbatim reference samples and synthetic edge cases."""

from __future__ import annotations

import pytest
from ansible_collections.atlas.vllm.plugins.module_utils import hccn


def test_link(fixture_text):
    assert hccn.parse_link(fixture_text("hccn/link.txt")) == "UP"


@pytest.mark.parametrize("text", ["", "Cmd executed successfully!", "link status:"])
def test_link_unknown(text):
    assert hccn.parse_link(text) is None


def test_link_down():
    assert hccn.parse_link("link status: DOWN\n") == "DOWN"


@pytest.mark.parametrize(
    ("name", "expected"),
    [("hccn/net_health.txt", "Success"), ("hccn/net_health_fault.txt", "Fault"), ("hccn/net_health_init.txt", "Init")],
)
def test_net_health(fixture_text, name, expected):
    assert hccn.parse_net_health(fixture_text(name)) == expected


def test_ip(fixture_text):
    assert hccn.parse_ip(fixture_text("hccn/ip.txt")) == {"ipaddr": "11.12.165.80", "netmask": "255.255.255.0"}


def test_ip_not_configured(fixture_text):
    text = fixture_text("hccn/ip_not_set.txt")
    assert hccn.has_no_ip(text)
    assert hccn.parse_ip(text) == {"ipaddr": None, "netmask": None}


def test_ip_from_sample_is_not_reported_missing(fixture_text):
    assert not hccn.has_no_ip(fixture_text("hccn/ip.txt"))


def test_gateway_first_line(fixture_text):
    # The sample holds the output of two devices; one device prints one line.
    assert hccn.parse_gateway(fixture_text("hccn/gateway.txt")) == {"gateway": "11.12.165.1", "iface": "eth0"}


def test_gateway_each_line(fixture_text):
    lines = fixture_text("hccn/gateway.txt").splitlines()
    assert [hccn.parse_gateway(line)["iface"] for line in lines] == ["eth0", "eth1"]


def test_gateway_without_iface_and_missing():
    assert hccn.parse_gateway("default gateway:10.0.0.1\n") == {"gateway": "10.0.0.1", "iface": None}
    assert hccn.parse_gateway("no gateway\n") == {"gateway": None, "iface": None}


def test_netdetect(fixture_text):
    assert hccn.parse_netdetect(fixture_text("hccn/netdetect.txt")) == "11.12.165.1"


def test_lldp_ifname(fixture_text):
    text = fixture_text("hccn/lldp_ifname.txt")
    assert text.startswith("\tIfname")
    assert hccn.parse_lldp_ifname(text) == "400GE1/1/5:1"
    assert hccn.parse_lldp_ifnames(text) == ["400GE1/1/5:1", "400GE1/1/5:2"]


def test_lldp_ifname_inside_tlv_dump():
    dump = "\n".join(
        [
            "Chassis ID TLV",
            "\tMAC: 00:11:22:33:44:55",
            "Port ID TLV",
            "\tIfname: 400GE1/1/20:2",
            "System Name TLV",
            "\tHuarong DX511",
        ]
    )
    assert hccn.parse_lldp_ifname(dump) == "400GE1/1/20:2"
    assert hccn.parse_lldp_ifname("lldp info not received\n") is None


def test_tls(fixture_text):
    assert hccn.parse_tls(fixture_text("hccn/tls.txt")) == {
        "dev_id": 0,
        "tls_switch": 0,
        "tls_preconfigured": 1,
        "tls_alarm_time_threshold": 60,
    }


def test_tls_enabled_and_extra_lines():
    text = "some header\ndev_id:5, tls switch[1](0:disable, 1:enable), tls preconfigured[0](0:non-preset, 1:preset)\n"
    assert hccn.parse_tls(text) == {"dev_id": 5, "tls_switch": 1, "tls_preconfigured": 0}


def test_tls_set_output_is_not_a_state(fixture_text):
    assert hccn.parse_tls(fixture_text("hccn/tls_set.txt")) == {"dev_id": None, "tls_switch": None}


def test_ping(fixture_text):
    text = fixture_text("hccn/ping.txt")
    result = hccn.parse_ping(text)
    assert result == {
        "device": 0,
        "address": "11.12.165.80",
        "transmitted": 3,
        "received": 3,
        "loss_pct": 0.0,
        "rtt_ms": [0.114, 0.067, 0.063],
        "rtt_avg_ms": pytest.approx(0.081333, abs=1e-6),
        "complete": True,
        "raw": text,
    }
    assert isinstance(result["loss_pct"], float)


def test_ping_partial_loss(fixture_text):
    result = hccn.parse_ping(fixture_text("hccn/synthetic/ping_partial.txt"))
    assert (result["transmitted"], result["received"], result["loss_pct"]) == (3, 2, 33.33)
    assert result["rtt_ms"] == [0.12, 0.09]
    assert result["rtt_avg_ms"] == pytest.approx(0.105)


def test_ping_without_summary_is_total_loss(fixture_text):
    text = fixture_text("hccn/synthetic/ping_timeout.txt")
    result = hccn.parse_ping(text, expected=3)
    assert result["complete"] is False
    assert (result["transmitted"], result["received"], result["loss_pct"]) == (3, 0, 100.0)
    assert result["rtt_ms"] == []
    assert result["rtt_avg_ms"] is None
    assert result["raw"] == text
    assert (result["device"], result["address"]) == (0, "11.12.165.99")


def test_ping_empty_output():
    result = hccn.parse_ping("")
    assert (result["transmitted"], result["received"], result["loss_pct"], result["device"]) == (None, 0, 100.0, None)


def test_ping_ignores_unknown_lines(fixture_text):
    text = "warning: something\n" + fixture_text("hccn/ping.txt") + "trailing noise\n"
    assert hccn.parse_ping(text)["received"] == 3


def test_hccn_conf(fixture_text):
    conf = hccn.parse_hccn_conf(fixture_text("hccn/hccn_conf_910b1.txt"))
    assert sorted(conf) == [0, 7]
    assert conf[0] == {
        "address": "29.1.137.205",
        "netmask": "255.255.0.0",
        "netdetect": "29.1.0.1",
        "gateway": "29.1.0.1",
        "send_arp_status": "1",
    }
    assert conf[7]["address"] == "29.1.170.143"


def test_hccn_conf_tls_comments_and_junk(fixture_text, expected):
    conf = hccn.parse_hccn_conf(fixture_text("hccn/synthetic/hccn_conf_tls.txt"))
    assert conf == {
        0: expected["hccn_conf_tls_device_0"],
        1: {"address": "10.20.0.11", "netmask": "255.255.255.0", "tls_enable": "1"},
    }


def test_hccn_conf_two_digit_device():
    assert hccn.parse_hccn_conf("address_15=10.0.0.15\n") == {15: {"address": "10.0.0.15"}}
