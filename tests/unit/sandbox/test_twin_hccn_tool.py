"""Simulated hccn_tool: reference samples, faults, the ping reformatter and the ping invocation.

No packet is sent anywhere but 127.0.0.1: the ping binary is replaced by a recorded fake, except in the loopback
test, which needs a usable iputils-ping.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures_twin"))
import twin_helpers as th

FAKE_PING = """#!{python}
import json, os, sys
with open({log!r}, "a") as log:
    log.write(json.dumps({{"argv": sys.argv[1:], "lc_all": os.environ.get("LC_ALL")}}) + "\\n")
sys.stdout.write(open({record!r}).read())
sys.stderr.write({stderr!r})
sys.exit({rc})
"""


def node(index: int = 1, netmask: str | None = None) -> dict[str, Any]:
    state = th.state.build_node_state(f"atlas-{index:02d}", index, "910b3-64g", None)
    for dev in state["devices"]:
        dev["netmask"] = netmask or dev["netmask"]
    return state


def fake_ping(twin: th.Twin, record: str | Path, stderr: str = "", rc: int = 0) -> Path:
    """Point hccn_tool at a fake ping printing a recorded iputils output; returns its call log."""
    log = twin.root / "ping.log"
    script = twin.root / "fake-ping"
    source = record if isinstance(record, Path) else th.FIXTURES / record
    text = FAKE_PING.format(python=sys.executable, log=str(log), record=str(source), stderr=stderr, rc=rc)
    script.write_text(text, encoding="utf-8")
    script.chmod(0o755)
    twin.extra["ATLAS_TWIN_PING"] = str(script)
    return log


def ping_calls(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def hccn() -> ModuleType:
    return th.load_tool("hccn_tool")


# ---------------------------------------------------------------------------------------------------------------
# Reference samples
# ---------------------------------------------------------------------------------------------------------------


def test_reference_transcript(tmp_path: Path) -> None:
    # Node 5 with a /24 reproduces the sample's addressing pattern (LLDP port 400GE1/1/5:<d+1>).
    twin = th.Twin(tmp_path, node(index=5, netmask="255.255.255.0"))
    log = fake_ping(twin, "iputils_ping_ok.txt")
    for command, expected in th.transcript(th.fixture("hccn_tool_910b3.txt")):
        th.assert_segments(th.run_shell(twin, command), th.segments(expected))
    assert len(ping_calls(log)) == 8


def test_hccn_conf_matches_reference(tmp_path: Path) -> None:
    conf = th.atlas_twin.render_hccn_conf(node())
    th.assert_segments(conf, th.segments(th.fixture("hccn_conf.txt")))
    assert "tls_enable_7=0" in conf.splitlines()


def test_hccn_conf_agrees_with_tool(tmp_path: Path) -> None:
    state = node(index=3)
    twin = th.Twin(tmp_path, state)
    conf = dict(line.split("=", 1) for line in th.atlas_twin.render_hccn_conf(state).splitlines())
    for dev in range(8):
        assert twin.out("hccn_tool", "-i", str(dev), "-ip", "-g") == (
            f"ipaddr:{conf[f'address_{dev}']}\nnetmask:{conf[f'netmask_{dev}']}\n"
        )
        assert twin.out("hccn_tool", "-i", str(dev), "-netdetect", "-g") == (
            f"netdetect address: {conf[f'netdetect_{dev}']}\n"
        )
    assert conf["address_7"] == "10.232.3.8"


def test_lldp_dump(tmp_path: Path) -> None:
    out = th.Twin(tmp_path, node(index=2)).out("hccn_tool", "-i", "3", "-lldp", "-g")
    assert "\tIfname: 400GE1/1/2:4\n" in out
    assert out.startswith("Chassis ID TLV\n") and out.endswith("End of LLDPDU TLV\n")


# ---------------------------------------------------------------------------------------------------------------
# Faults
# ---------------------------------------------------------------------------------------------------------------


def test_link_down(tmp_path: Path) -> None:
    twin = th.Twin(tmp_path, th.state.apply_fault(node(), "link-down", 4))
    log = fake_ping(twin, "iputils_ping_ok.txt")
    assert twin.out("hccn_tool", "-i", "4", "-link", "-g") == "link status: DOWN\n"
    assert twin.out("hccn_tool", "-i", "4", "-net_health", "-g") == "net health status: Fault\n"
    assert twin.out("hccn_tool", "-i", "3", "-link", "-g") == "link status: UP\n"
    assert twin.run("hccn_tool", "-i", "4", "-lldp", "-g").returncode == 1
    ping = twin.out("hccn_tool", "-i", "4", "-ping", "-g", "address", "10.232.2.5")
    assert ping == "device 4 PING 10.232.2.5\n3 packets transmitted, 0 received, 100.00% packet loss\n"
    assert ping_calls(log) == []


@pytest.mark.parametrize("value", ["Fault", "Init", "init"])
def test_net_health(tmp_path: Path, value: str) -> None:
    twin = th.Twin(tmp_path, th.state.apply_fault(node(), "net-health", 1, value))
    assert twin.out("hccn_tool", "-i", "1", "-net_health", "-g") == f"net health status: {value.capitalize()}\n"
    assert twin.out("hccn_tool", "-i", "0", "-net_health", "-g") == "net health status: Success\n"


def test_no_ip(tmp_path: Path) -> None:
    state = th.state.apply_fault(node(), "no-ip", 3)
    twin = th.Twin(tmp_path, state)
    log = fake_ping(twin, "iputils_ping_ok.txt")
    done = twin.run("hccn_tool", "-i", "3", "-ip", "-g")
    assert (done.returncode, done.stdout) == (1, "Get ipconf failed, because no ip was preset there!\n")
    ping = twin.run("hccn_tool", "-i", "3", "-ping", "-g", "address", "10.232.2.1")
    assert ping.returncode == 1 and "no ip was preset" in ping.stdout
    assert ping_calls(log) == []
    assert twin.out("hccn_tool", "-i", "3", "-net_health", "-g") == "net health status: Init\n"
    conf = th.atlas_twin.render_hccn_conf(state).splitlines()
    assert "address_2=10.232.1.3" in conf and not any(line.startswith("address_3=") for line in conf)
    assert "gateway_3=10.232.0.1" in conf


def test_device_missing(tmp_path: Path) -> None:
    twin = th.Twin(tmp_path, th.state.apply_fault(node(), "device-missing", 2))
    done = twin.run("hccn_tool", "-i", "2", "-link", "-g")
    assert done.returncode == 1 and "does not exist" in done.stdout


# ---------------------------------------------------------------------------------------------------------------
# Ping: invocation and reformatting
# ---------------------------------------------------------------------------------------------------------------


def test_ping_invocation(tmp_path: Path) -> None:
    twin = th.Twin(tmp_path, node())
    log = fake_ping(twin, "iputils_ping_partial.txt")
    twin.extra["LC_ALL"] = "de_DE.UTF-8"  # hccn_tool must force C output from ping
    out = twin.out("hccn_tool", "-i", "2", "-ping", "-g", "address", "10.232.2.3", "pkt", "4")
    assert ping_calls(log) == [{"argv": ["-n", "-I", "npu2", "-c", "4", "-W", "1", "10.232.2.3"], "lc_all": "C"}]
    assert out.splitlines()[0] == "device 2 PING 10.232.2.3"


def test_ping_interface_override(tmp_path: Path) -> None:
    twin = th.Twin(tmp_path, node())
    log = fake_ping(twin, "iputils_ping_ok.txt")
    twin.extra["ATLAS_TWIN_PING_IFACE"] = "lo"
    twin.out("hccn_tool", "-i", "0", "-ping", "-g", "address", "127.0.0.1")
    assert ping_calls(log)[0]["argv"][:4] == ["-n", "-I", "lo", "-c"]


def test_ping_that_cannot_send(tmp_path: Path) -> None:
    twin = th.Twin(tmp_path, node())
    # A ping that fails before sending prints no statistics, only an error on stderr.
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    fake_ping(twin, empty, stderr="ping: SO_BINDTODEVICE npu0: No such device\n", rc=2)
    done = twin.run("hccn_tool", "-i", "0", "-ping", "-g", "address", "10.232.2.1")
    assert done.returncode == 1
    assert done.stdout == "ping failed: ping: SO_BINDTODEVICE npu0: No such device\n"


def test_ping_binary_missing(tmp_path: Path) -> None:
    twin = th.Twin(tmp_path, node())
    twin.extra["ATLAS_TWIN_PING"] = str(tmp_path / "no-such-ping")
    done = twin.run("hccn_tool", "-i", "0", "-ping", "-g", "address", "10.232.2.1")
    assert done.returncode == 1 and done.stdout.startswith("ping failed: ")


def test_reformat_success_matches_sample(hccn: ModuleType) -> None:
    out = hccn.reformat_ping(0, "10.232.5.1", th.fixture("iputils_ping_ok.txt"))
    command, expected = th.transcript(th.fixture("hccn_tool_910b3.txt"))[1]
    assert "-ping -g" in command
    assert out == "\n".join(th.segments(expected)[0]) + "\n"


def test_reformat_partial_loss(hccn: ModuleType) -> None:
    out = hccn.reformat_ping(2, "10.232.2.3", th.fixture("iputils_ping_partial.txt"))
    assert out == (
        "device 2 PING 10.232.2.3\n"
        "recv seq=1,time=12.400000ms\n"
        "recv seq=3,time=103.000000ms\n"
        "4 packets transmitted, 2 received, 50.00% packet loss\n"
    )


def test_reformat_unreachable(hccn: ModuleType) -> None:
    out = hccn.reformat_ping(0, "10.232.2.9", th.fixture("iputils_ping_unreachable.txt"))
    assert out == "device 0 PING 10.232.2.9\n3 packets transmitted, 0 received, 100.00% packet loss\n"


def test_reformat_ignores_duplicates(hccn: ModuleType) -> None:
    out = hccn.reformat_ping(1, "10.232.2.1", th.fixture("iputils_ping_dup.txt"))
    assert out.splitlines()[1:] == [
        "recv seq=0,time=0.080000ms",
        "recv seq=1,time=0.071000ms",
        "2 packets transmitted, 2 received, 0.00% packet loss",
    ]


def test_reformat_without_statistics(hccn: ModuleType) -> None:
    assert hccn.reformat_ping(0, "10.232.2.1", "ping: SO_BINDTODEVICE npu0: No such device\n") is None


def test_summary_rounding(hccn: ModuleType) -> None:
    assert hccn.ping_summary(3, 1) == "3 packets transmitted, 1 received, 66.67% packet loss"
    assert hccn.ping_summary(0, 0) == "0 packets transmitted, 0 received, 0.00% packet loss"


def _loopback_ping_works() -> bool:
    binary = shutil.which("ping")
    if binary is None:
        return False
    done = subprocess.run([binary, "-n", "-c", "1", "-W", "1", "127.0.0.1"], capture_output=True, check=False)
    return done.returncode == 0


@pytest.mark.skipif(not _loopback_ping_works(), reason="no usable iputils-ping for 127.0.0.1 here")
def test_real_icmp_over_loopback(tmp_path: Path) -> None:
    twin = th.Twin(tmp_path, node())
    twin.extra["ATLAS_TWIN_PING_IFACE"] = "lo"
    out = twin.out("hccn_tool", "-i", "0", "-ping", "-g", "address", "127.0.0.1", "pkt", "2")
    lines = out.splitlines()
    assert lines[0] == "device 0 PING 127.0.0.1"
    assert [line.split(",")[0] for line in lines[1:3]] == ["recv seq=0", "recv seq=1"]
    assert lines[3] == "2 packets transmitted, 2 received, 0.00% packet loss"


# ---------------------------------------------------------------------------------------------------------------
# Failures
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["-i", "0"],
        ["-i", "9", "-ip", "-g"],
        ["-i", "x", "-ip", "-g"],
        ["-i", "0", "-foo", "-g"],
        ["-i", "0", "-ip", "-s", "address", "10.232.1.1"],
        ["-i", "0", "-ip", "-g", "extra"],
        ["-i", "0", "-ping", "-g"],
        ["-i", "0", "-ping", "-g", "address", "999.1.1.1"],
        ["-i", "0", "-ping", "-g", "address", "10.232.2.1", "pkt", "0"],
        ["-i", "0", "-ping", "-g", "address", "10.232.2.1", "size", "64"],
        ["-i", "0", "-tls", "-s", "enable", "1"],
    ],
)
def test_bad_arguments(tmp_path: Path, args: list[str]) -> None:
    twin = th.Twin(tmp_path, node())
    log = fake_ping(twin, "iputils_ping_ok.txt")
    done = twin.run("hccn_tool", *args)
    assert done.returncode == 1 and done.stdout
    assert ping_calls(log) == []


def test_no_state(tmp_path: Path) -> None:
    twin = th.Twin(tmp_path, node())
    (twin.state_dir / "node.json").unlink()
    done = twin.run("hccn_tool", "-i", "0", "-link", "-g")
    assert done.returncode == 1 and "ret is -8005" in done.stdout


def test_hccn_hang_blocks_only_that_device(tmp_path: Path) -> None:
    twin = th.Twin(tmp_path, th.state.apply_fault(node(), "hccn-hang", 3))
    with pytest.raises(subprocess.TimeoutExpired) as hung:
        subprocess.run([sys.executable, str(th.TOOLS["hccn_tool"]), "-i", "3", "-link", "-g"], capture_output=True,
                       env=twin.env, timeout=2, check=False)
    assert not hung.value.stdout
    assert twin.out("hccn_tool", "-i", "2", "-link", "-g") == "link status: UP\n"
