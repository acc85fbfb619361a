# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Pure parsers for ``hccn_tool`` output and ``/etc/hccn.conf``.

Nothing here runs commands or reads files. Each ``-g`` (get) query prints one or a few ``label: value`` lines;
the parsers look for the line they need anywhere in the text and return None when it is absent, so banners,
warnings or unknown lines never make them fail.
"""

from __future__ import annotations

import re
from typing import Any

NO_IP_MESSAGE = "Get ipconf failed, because no ip was preset there!"

_LINK_RE = re.compile(r"^\s*link status\s*:\s*(\S+)", re.IGNORECASE | re.MULTILINE)
_NET_HEALTH_RE = re.compile(r"^\s*net health status\s*:\s*(\S+)", re.IGNORECASE | re.MULTILINE)
_IPADDR_RE = re.compile(r"^\s*ipaddr\s*:\s*(\S+)", re.IGNORECASE | re.MULTILINE)
_NETMASK_RE = re.compile(r"^\s*netmask\s*:\s*(\S+)", re.IGNORECASE | re.MULTILINE)
_GATEWAY_RE = re.compile(
    r"^\s*default gateway\s*:\s*([^,\s]+)(?:\s*,\s*Iface\s*:\s*(\S+))?", re.IGNORECASE | re.MULTILINE
)
_NETDETECT_RE = re.compile(r"^\s*netdetect address\s*:\s*(\S+)", re.IGNORECASE | re.MULTILINE)
_IFNAME_RE = re.compile(r"^\s*Ifname\s*:\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)
_DEV_ID_RE = re.compile(r"dev_id\s*:\s*(\d+)", re.IGNORECASE)
# "tls switch[0](0:disable, 1:enable)": a label, its value in brackets, then an optional legend.
_TLS_FIELD_RE = re.compile(r"(?:^|,)\s*([A-Za-z][A-Za-z ]*?)\s*\[(-?\d+)\]", re.MULTILINE)
_PING_TARGET_RE = re.compile(r"^\s*device\s+(\d+)\s+PING\s+(\S+)", re.IGNORECASE | re.MULTILINE)
_PING_REPLY_RE = re.compile(r"recv\s+seq=(\d+)\s*,\s*time=([\d.]+)\s*ms", re.IGNORECASE)
_PING_SUMMARY_RE = re.compile(
    r"(\d+)\s+packets? transmitted\s*,\s*(\d+)\s+received\s*,\s*([\d.]+)%\s*packet loss", re.IGNORECASE
)
_CONF_LINE_RE = re.compile(r"^\s*([A-Za-z][A-Za-z_]*?)_(\d+)\s*=\s*(.*?)\s*$")


def _first(pattern: re.Pattern[str], text: str) -> str | None:
    match = pattern.search(text or "")
    return match.group(1) if match else None


def parse_link(text: str) -> str | None:
    """``link status: UP`` → ``"UP"`` (``DOWN`` and any other word are returned as printed)."""
    return _first(_LINK_RE, text)


def parse_net_health(text: str) -> str | None:
    """``net health status: Success`` → ``"Success"`` (also ``Fault``, ``Init``, ...)."""
    return _first(_NET_HEALTH_RE, text)


def has_no_ip(text: str) -> bool:
    """True when ``-ip -g`` reports that no device IP is configured."""
    return "no ip was preset" in (text or "").lower()


def parse_ip(text: str) -> dict[str, str | None]:
    """``ipaddr:A`` / ``netmask:M`` → ``{"ipaddr": A, "netmask": M}``; both None when no IP is configured."""
    if has_no_ip(text):
        return {"ipaddr": None, "netmask": None}
    return {"ipaddr": _first(_IPADDR_RE, text), "netmask": _first(_NETMASK_RE, text)}


def parse_gateway(text: str) -> dict[str, str | None]:
    """``default gateway:G, Iface:eth0`` → ``{"gateway": G, "iface": "eth0"}``."""
    match = _GATEWAY_RE.search(text or "")
    if not match:
        return {"gateway": None, "iface": None}
    return {"gateway": match.group(1), "iface": match.group(2)}


def parse_netdetect(text: str) -> str | None:
    """``netdetect address: A`` → ``A``."""
    return _first(_NETDETECT_RE, text)


def parse_lldp_ifnames(text: str) -> list[str]:
    """All ``Ifname:`` values of an ``-lldp -g`` TLV dump (the peer switch ports), in order."""
    return _IFNAME_RE.findall(text or "")


def parse_lldp_ifname(text: str) -> str | None:
    """The first ``Ifname:`` value of an ``-lldp -g`` dump, e.g. ``400GE1/1/5:1``; None when there is none."""
    names = parse_lldp_ifnames(text)
    return names[0] if names else None


def _snake(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", label.strip().lower()).strip("_")


def parse_tls(text: str) -> dict[str, int | None]:
    """Parse ``-tls -g`` into ``{dev_id, tls_switch, tls_preconfigured, tls_alarm_time_threshold, ...}``.

    Every ``label[value]`` field becomes ``snake_label: int``, so fields added by newer drivers are kept too.
    ``tls_switch`` is None when the line is absent.
    """
    result: dict[str, int | None] = {"dev_id": None, "tls_switch": None}
    for line in (text or "").splitlines():
        if "tls" not in line.lower() or "[" not in line:
            continue
        dev_id = _DEV_ID_RE.search(line)
        if dev_id and result["dev_id"] is None:
            result["dev_id"] = int(dev_id.group(1))
        for label, value in _TLS_FIELD_RE.findall(line):
            name = _snake(label)
            # One line per device is expected; if several are printed, the first one describes this device.
            if result.get(name) is None:
                result[name] = int(value)
    return result


def parse_ping(text: str, expected: int | None = None) -> dict[str, Any]:
    """Parse ``-ping -g address X [pkt N]``.

    Returns ``{device, address, transmitted, received, loss_pct, rtt_ms, rtt_avg_ms, complete, raw}``.
    Without the ``packets transmitted`` summary (a timeout, an error, a killed run) the ping counts as failed:
    ``received`` 0 and ``loss_pct`` 100.0, with ``transmitted`` taken from ``expected`` and the text kept in
    ``raw``. Lines that are not recognised are ignored.
    """
    text = text or ""
    target = _PING_TARGET_RE.search(text)
    rtt_ms = [float(time_ms) for dummy, time_ms in _PING_REPLY_RE.findall(text)]
    summary = _PING_SUMMARY_RE.search(text)
    if summary:
        transmitted, received, loss_pct = int(summary.group(1)), int(summary.group(2)), float(summary.group(3))
    else:
        transmitted, received, loss_pct = expected, 0, 100.0
    return {
        "device": int(target.group(1)) if target else None,
        "address": target.group(2) if target else None,
        "transmitted": transmitted,
        "received": received,
        "loss_pct": loss_pct,
        "rtt_ms": rtt_ms,
        "rtt_avg_ms": round(sum(rtt_ms) / len(rtt_ms), 6) if rtt_ms else None,
        "complete": summary is not None,
        "raw": text,
    }


def parse_hccn_conf(text: str) -> dict[int, dict[str, str]]:
    """Parse ``/etc/hccn.conf`` (``address_0=...``, ``netmask_0=...``, ...) into ``{device_id: {key: value}}``.

    The number after the last underscore is the device id, so ``send_arp_status_3`` is key ``send_arp_status``
    of device 3. Comments, blank lines and other lines are skipped.
    """
    conf: dict[int, dict[str, str]] = {}
    for line in (text or "").splitlines():
        if line.lstrip().startswith("#"):
            continue
        match = _CONF_LINE_RE.match(line)
        if match:
            key, device, value = match.groups()
            conf.setdefault(int(device), {})[key] = value
    return conf
