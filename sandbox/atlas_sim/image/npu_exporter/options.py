"""The npu-exporter command line of MindCluster v7.3.0: its flags, defaults, usage texts and the checks main() runs.

Names, defaults and usage strings are those of cmd/npu-exporter/main.go (init) at tag v7.3.0; the range checks and
their messages are those of paramValidInPrometheus. See docs/npu-exporter-reference.md.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any, TextIO

from .goflag import FlagSet

DEFAULT_LOG_FILE = "/var/log/mindx-dl/npu-exporter/npu-exporter.log"
PROMETHEUS = "Prometheus"
TELEGRAF = "Telegraf"
_IP_REQ_LIMIT = re.compile(r"^[1-9]\d{0,2}/[1-9]\d{0,2}$")
_CACHE_SIZE_MAX = 1024 * 100 * 10

# (name, kind, default, usage) in the order main.go defines them.
FLAGS: tuple[tuple[str, str, Any, str], ...] = (
    ("port", "int", 8082, "The server port of the http service,range[1025-40000]"),
    ("ip", "string", "", "The listen ip of the service,0.0.0.0 is not recommended when install on Multi-NIC host"),
    ("updateTime", "int", 5, "Interval (seconds) to update the npu metrics cache,range[1-60]"),
    ("version", "bool", False, "If true,query the version of the program (default false)"),
    ("containerMode", "string", "docker",
     "Set 'docker' for monitoring docker containers or 'containerd' for CRI & containerd"),
    ("containerd", "string", "", "The endpoint of containerd used for listening containers' events"),
    ("endpoint", "string", "", "The endpoint of the CRI  server to which will be connected"),
    ("concurrency", "int", 5, "The max concurrency of the http server, range is [1-512]"),
    ("logLevel", "int", 0, "Log level, -1-debug, 0-info, 1-warning, 2-error, 3-critical(default 0)"),
    ("maxAge", "int", 7, "Maximum number of days for backup log files, range [7, 700] days"),
    ("logFile", "string", DEFAULT_LOG_FILE, "Log file path. If the file size exceeds 20MB, will be rotated"),
    ("maxBackups", "int", 30, "Maximum number of backup log files, range is (0, 30]"),
    ("cacheSize", "int", 102400, "the cacheSize for ip limit,range  is [1,1024000],keep default normally"),
    ("limitIPConn", "int", 5, "the tcp connection limit for each Ip,range  is [1,128]"),
    ("limitTotalConn", "int", 20, "the tcp connection limit for all request,range  is [1,512]"),
    ("limitIPReq", "string", "20/1",
     "the http request limit counts for each Ip,20/1 means allow 20 request in 1 seconds"),
    ("platform", "string", PROMETHEUS, "the data reporting platform, just support Prometheus and Telegraf"),
    ("textMetricsFilePath", "string", "",
     "text indicator collection path, only support specified one file path"),
    ("poll_interval", "duration", 1_000_000_000,
     "how often to send metrics when use Telegraf plugin, "
     "needs to be used with -platform=Telegraf, otherwise, it does not take effect"),
    ("profilingTime", "int", 200, "config pcie bandwidth profiling time, range is [1, 2000]"),
    ("hccsBWProfilingTime", "int", 200, "config hccs bandwidth profiling time, range is [1, 1000]"),
    ("deviceResetTimeout", "int", 60,
     "when npu-exporter starts, if the number of chips is insufficient, the maximum duration to wait for "
     "the driver to report all chips, unit second, range [10, 600]"),
)


@dataclass
class Options:
    values: dict[str, Any]
    argv: list[str]  # the arguments as given (the poll_interval check looks at them)

    def __getitem__(self, name: str) -> Any:
        return self.values[name]


def command_line(program: str, output: TextIO) -> FlagSet:
    flags = FlagSet(program, output)
    for name, kind, default, usage in FLAGS:
        flags.define(name, kind, default, usage)
    return flags


def parse(argv: list[str], program: str, output: TextIO) -> Options:
    """flag.Parse(); raises goflag.FlagExit after printing Go's message and usage."""
    values, _rest = command_line(program, output).parse(argv)
    return Options(values, list(argv))


def go_ip_string(text: str) -> str | None:
    """net.ParseIP(text).String(), or None where Go's parser refuses the text (zones included)."""
    if "%" in text:
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def _in_range(value: int, low: int, high: int) -> bool:
    return low <= value <= high


def check_listen(options: Options) -> str | None:
    """checkIPAndPortInPrometheus: the port range, then -ip, normalised the way Go prints an address."""
    values = options.values
    if not _in_range(values["port"], 1025, 40000):
        return "the port is invalid"
    listen = go_ip_string(values["ip"])
    if listen is None:
        return "the listen ip is invalid"
    values["ip"] = listen
    return None


def check_others(options: Options) -> str | None:
    """The checks paramValidInPrometheus runs after the listen address, in its order."""
    values = options.values
    checks = (
        (_in_range(values["updateTime"], 1, 60), "the updateTime is invalid"),
        (values["endpoint"] == "" or ".sock" in values["endpoint"], "endpoint file is not sock address"),
        (values["containerd"] == "" or ".sock" in values["containerd"], "containerd file is not sock address"),
        (_IP_REQ_LIMIT.match(values["limitIPReq"]) is not None, "limitIPReq format error"),
        (_in_range(values["limitIPConn"], 1, 128), "limitIPConn is invalid"),
        (_in_range(values["limitTotalConn"], 1, 512), "limitTotalConn is invalid"),
        (_in_range(values["cacheSize"], 1, _CACHE_SIZE_MAX), "cacheSize is invalid"),
        (_in_range(values["concurrency"], 1, 512), "concurrency is invalid"),
        (_in_range(values["profilingTime"], 1, 2000), "profilingTime range error"),
        (_in_range(values["hccsBWProfilingTime"], 1, 1000), "hccsBWProfilingTime range error"),
        (_in_range(values["deviceResetTimeout"], 10, 600), "deviceResetTimeout range error"),
        ("poll_interval" not in "".join(options.argv), "poll_interval is not support this scene"),
    )
    for passed, message in checks:
        if not passed:
            return message
    return None
