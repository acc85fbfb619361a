"""The simulated exporter's command line behaves like the real Go binary's (flag package, MindCluster v7.3.0 main)."""

from __future__ import annotations

import io

import pytest
from atlas_sim.image.npu_exporter import goflag, options
from atlas_sim.image.npu_exporter.main import main
from npu_exporter_support import read_fixture

USAGE = read_fixture("usage.txt")


def parse(*argv: str) -> tuple[options.Options, str]:
    out = io.StringIO()
    return options.parse(list(argv), "npu-exporter", out), out.getvalue()


def run(*argv: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(list(argv), environ={}, stdout=stdout, stderr=stderr, program="npu-exporter")
    return code, stdout.getvalue(), stderr.getvalue()


def test_defaults() -> None:
    parsed, output = parse()
    assert output == ""
    expected = {
        "port": 8082, "ip": "", "updateTime": 5, "version": False, "containerMode": "docker", "containerd": "",
        "endpoint": "", "concurrency": 5, "logLevel": 0, "maxAge": 7,
        "logFile": "/var/log/mindx-dl/npu-exporter/npu-exporter.log", "maxBackups": 30, "cacheSize": 102400,
        "limitIPConn": 5, "limitTotalConn": 20, "limitIPReq": "20/1", "platform": "Prometheus",
        "textMetricsFilePath": "", "poll_interval": 1_000_000_000, "profilingTime": 200, "hccsBWProfilingTime": 200,
        "deviceResetTimeout": 60,
    }
    assert parsed.values == expected


@pytest.mark.parametrize(
    "argv",
    [
        ["-port=9100", "-ip=0.0.0.0", "-updateTime=10"],
        ["-port", "9100", "-ip", "0.0.0.0", "-updateTime", "10"],
        ["--port=9100", "--ip", "0.0.0.0", "--updateTime=10"],
        ["-port=0x238c", "-ip=0.0.0.0", "-updateTime=012"],  # Go's base-0 integers: hex and leading-zero octal
    ],
)
def test_both_syntaxes(argv: list[str]) -> None:
    parsed, _ = parse(*argv)
    assert (parsed["port"], parsed["ip"], parsed["updateTime"]) == (9100, "0.0.0.0", 10)


def test_documented_daemonset_arguments() -> None:
    parsed, _ = parse("-port=8082", "-ip=0.0.0.0", "-updateTime=5",
                      "-logFile=/var/log/mindx-dl/npu-exporter/npu-exporter.log", "-logLevel=0",
                      "-containerMode=docker")
    assert parsed["ip"] == "0.0.0.0" and parsed["containerMode"] == "docker"


def test_bool_flag_forms() -> None:
    assert parse("-version")[0]["version"] is True
    assert parse("-version=false")[0]["version"] is False
    assert parse("--version=T")[0]["version"] is True
    # A bool flag never takes the next argument: parsing stops at "false", a non-flag.
    parsed, _ = parse("-version", "false", "-port=1")
    assert parsed["version"] is True and parsed["port"] == 8082


def test_parsing_stops_at_first_non_flag_and_double_dash() -> None:
    assert parse("serve", "-port=9000")[0]["port"] == 8082
    assert parse("--", "-port=9000")[0]["port"] == 8082
    assert parse("-", "-port=9000")[0]["port"] == 8082


def test_unknown_flag() -> None:
    code, stdout, stderr = run("-x")
    assert (code, stdout) == (2, "")
    assert stderr == "flag provided but not defined: -x\n" + USAGE


def test_unknown_double_dash_flag_with_value() -> None:
    code, _, stderr = run("--listen=0.0.0.0")
    assert code == 2
    assert stderr.startswith("flag provided but not defined: -listen\nUsage of npu-exporter:\n  -cacheSize int\n")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-port=abc"], 'invalid value "abc" for flag -port: parse error'),
        (["-port", "99999999999999999999"], 'invalid value "99999999999999999999" for flag -port: value out of range'),
        (["-port=08"], 'invalid value "08" for flag -port: parse error'),
        (["-port"], "flag needs an argument: -port"),
        (["-version=yes"], 'invalid boolean value "yes" for -version: parse error'),
        (["-poll_interval=5"], 'invalid value "5" for flag -poll_interval: parse error'),
        (["-=1"], "bad flag syntax: -=1"),
        (["---port=1"], "bad flag syntax: ---port=1"),
    ],
)
def test_flag_errors(argv: list[str], message: str) -> None:
    code, _, stderr = run(*argv)
    assert code == 2
    assert stderr == message + "\n" + USAGE


@pytest.mark.parametrize("flag", ["-h", "-help", "--help"])
def test_help(flag: str) -> None:
    code, stdout, stderr = run(flag)
    assert (code, stdout, stderr) == (0, "", USAGE)


def test_version() -> None:
    code, stdout, stderr = run("-version")
    assert code == 0 and stderr == ""
    assert stdout.startswith("NPU-exporter version: v7.3.0_linux-") and stdout.endswith(" \n")


def test_go_integer_syntax() -> None:
    assert goflag.parse_int("1_000") == 1000
    assert goflag.parse_int("0b101") == 5
    assert goflag.parse_int("-0o17") == -15
    assert goflag.parse_int("0") == 0
    for bad in ("", "+", "1__0", "_1", "0x", "1e3", "٣"):
        with pytest.raises(goflag.BadValue, match="parse error"):
            goflag.parse_int(bad)
    with pytest.raises(goflag.BadValue, match="value out of range"):
        goflag.parse_int("9223372036854775808")
    assert goflag.parse_int("-9223372036854775808") == -(1 << 63)


def test_go_durations() -> None:
    assert goflag.parse_duration("1m30s") == 90_000_000_000
    assert goflag.parse_duration("1.5h") == 5_400_000_000_000
    assert goflag.format_duration(1_000_000_000) == "1s"
    assert goflag.format_duration(3_600_000_000_000) == "1h0m0s"
    for bad in ("1", "s", "1x", ""):
        with pytest.raises(goflag.BadValue):
            goflag.parse_duration(bad)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-port=80", "-ip=0.0.0.0"], "the port is invalid"),
        ([], "the listen ip is invalid"),
        (["-ip=localhost"], "the listen ip is invalid"),
        (["-ip=0.0.0.0", "-updateTime=61"], "the updateTime is invalid"),
        (["-ip=0.0.0.0", "-limitIPReq=0/1"], "limitIPReq format error"),
        (["-ip=0.0.0.0", "-concurrency=0"], "concurrency is invalid"),
        (["-ip=0.0.0.0", "-deviceResetTimeout=5"], "deviceResetTimeout range error"),
        (["-ip=0.0.0.0", "-poll_interval=2s"], "poll_interval is not support this scene"),
    ],
)
def test_parameter_checks(argv: list[str], message: str) -> None:
    parsed, _ = parse(*argv)
    assert (options.check_listen(parsed) or options.check_others(parsed)) == message


def test_listen_address_is_normalised_like_go() -> None:
    parsed, _ = parse("-ip=::ffff:10.231.0.11")
    assert options.check_listen(parsed) is None and parsed["ip"] == "10.231.0.11"
    assert options.go_ip_string("fe80::1%eth0") is None
