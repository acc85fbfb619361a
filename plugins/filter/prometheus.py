# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""What Prometheus on the gateways scrapes and alerts on, from the inventory and the serving plan.

``{{ nodes | atlas.vllm.prometheus_vllm_targets }}``            -> ``[{node, instance_name, url, devices}, ...]``
``{{ nodes | atlas.vllm.prometheus_npu_exporter_targets(8082) }}`` -> ``[{node, address}, ...]``
``{{ targets | atlas.vllm.prometheus_npu_assignments }}``       -> ``[{node, devices}, ...]``
``{{ settings | atlas.vllm.prometheus_settings_errors(host) }}`` -> problems, each naming its variable
"""

from __future__ import annotations

import re
from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.atlas.vllm.plugins.plugin_utils.role_specs import DIGITS_OK, NUMBER_OK, spec_value

# Prometheus's duration syntax (model.ParseDuration): units from the largest down, each at most once.
_DURATION = re.compile(r"^(?:(?P<y>[0-9]+)y)?(?:(?P<w>[0-9]+)w)?(?:(?P<d>[0-9]+)d)?(?:(?P<h>[0-9]+)h)?"
                       r"(?:(?P<m>[0-9]+)m)?(?:(?P<s>[0-9]+)s)?(?:(?P<ms>[0-9]+)ms)?$")
_LISTEN = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]*):([0-9]{1,5})$")
# The settings that are durations, and which of them may be zero (an alert that fires at once).
_DURATIONS = {
    "prometheus_retention_time": False,
    "prometheus_scrape_interval": False,
    "prometheus_scrape_timeout": False,
    "prometheus_evaluation_interval": False,
    "prometheus_alert_npu_for": True,
    "prometheus_alert_instance_down_for": True,
    "prometheus_alert_router_absent_for": True,
    "prometheus_alert_waiting_for": True,
    "prometheus_alert_kv_cache_for": True,
    "prometheus_alert_ttft_for": True,
    "prometheus_alert_stray_hbm_for": True,
}
# Thresholds: (spec type, lowest, highest, what the range means). A string that converts to the type, as
# -e key=value gives every value, is read as that number.
_RANGES = {
    "prometheus_alert_kv_cache_usage": ("float", 0.01, 1.0, "a ratio: 0.9 is 90 %"),
    "prometheus_alert_waiting_requests": ("int", 1, 100000, "requests"),
    "prometheus_alert_ttft_p95_ms": ("int", 1, 3600000, "milliseconds"),
    "prometheus_alert_stray_hbm_mb": ("int", 1, 1048576, "MB"),
    "prometheus_ready_timeout": ("int", 1, 3600, "seconds"),
}
_UNIT_SECONDS = {"y": 31536000, "w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}


def duration_seconds(text: str) -> float | None:
    """Seconds in a Prometheus duration, or None when Prometheus would reject it."""
    match = _DURATION.match(text) if isinstance(text, str) and text else None
    if not match:
        return None
    return sum(int(count) * _UNIT_SECONDS[unit] for unit, count in match.groupdict().items() if count is not None)


def prometheus_settings_errors(settings: dict[str, Any], host: str = "?") -> list[str]:
    """What Prometheus or promtool would reject in the role's settings, found on the controller."""
    if not isinstance(settings, dict):
        raise AnsibleFilterError("prometheus_settings_errors expects a mapping of settings, "
                                 f"got {type(settings).__name__}")
    errors = []
    for name, zero_allowed in _DURATIONS.items():
        if name not in settings:
            continue
        value = settings[name]
        seconds = duration_seconds(value) if isinstance(value, str) else None
        if seconds is None:
            errors.append(f"{host}: {name} is {value!r}, not a Prometheus duration; write a number and a unit "
                          "from the largest down, e.g. 15d, 12h, 1h30m, 30s (units y w d h m s ms)")
        elif seconds == 0 and not zero_allowed:
            errors.append(f"{host}: {name} is {value!r}; it must be longer than zero")
    timeout = duration_seconds(str(settings.get("prometheus_scrape_timeout", "")))
    interval = duration_seconds(str(settings.get("prometheus_scrape_interval", "")))
    if timeout and interval and timeout > interval:
        errors.append(f"{host}: prometheus_scrape_timeout ({settings['prometheus_scrape_timeout']}) is longer than "
                      f"prometheus_scrape_interval ({settings['prometheus_scrape_interval']}); Prometheus refuses "
                      "that configuration. Shorten the timeout or lengthen the interval")
    for name, (kind, low, high, unit) in _RANGES.items():
        if name not in settings:
            continue
        value = settings[name]
        try:
            number = spec_value(value, kind)
        except (TypeError, ValueError):
            number = None
        if number is None or not low <= number <= high:
            number_rule = f"a whole number from {low} to {high} ({unit}) {DIGITS_OK}" if kind == "int" else (
                f"a number from {low} to {high} ({unit}) {NUMBER_OK}")
            errors.append(f"{host}: {name} is {value!r}; it must be {number_rule}")
    listen = settings.get("prometheus_listen_address")
    if listen is not None:
        match = _LISTEN.match(listen) if isinstance(listen, str) else None
        if not match or not 1 <= int(match.group(2)) <= 65535:
            errors.append(f"{host}: prometheus_listen_address is {listen!r}; write host:port, e.g. 0.0.0.0:9090 or "
                          "[::]:9090 (port 1 to 65535)")
    return errors


def prometheus_vllm_targets(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The vLLM instances to scrape: the planned instances (``vllm_endpoints``) of each node's hostvars."""
    targets = []
    for node in nodes:
        for endpoint in node.get("vllm_endpoints") or []:
            targets.append({"node": node["inventory_hostname"], "instance_name": endpoint["name"],
                            "url": endpoint["url"], "devices": sorted(int(d) for d in endpoint.get("devices", []))})
    return sorted(targets, key=lambda target: (target["node"], target["url"]))


def prometheus_npu_exporter_targets(nodes: list[dict[str, Any]], default_port: int = 8082) -> list[dict[str, Any]]:
    """The NPU exporters to scrape: each node's address and its ``npu_exporter_port`` (else ``default_port``)."""
    targets = []
    for node in nodes:
        address = node.get("ansible_host") or node["inventory_hostname"]
        port = int(node.get("npu_exporter_port", default_port))
        host = f"[{address}]" if ":" in str(address) else address
        targets.append({"node": node["inventory_hostname"], "address": f"{host}:{port}"})
    return sorted(targets, key=lambda target: target["node"])


def prometheus_npu_assignments(targets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The NPUs the instances of each node hold, one entry per node, devices sorted and each once."""
    by_node: dict[str, set[int]] = {}
    for target in targets:
        by_node.setdefault(target["node"], set()).update(int(d) for d in target.get("devices") or [])
    return [{"node": node, "devices": sorted(devices)} for node, devices in sorted(by_node.items())]


class FilterModule:
    def filters(self) -> dict:
        return {"prometheus_settings_errors": prometheus_settings_errors,
                "prometheus_vllm_targets": prometheus_vllm_targets,
                "prometheus_npu_exporter_targets": prometheus_npu_exporter_targets,
                "prometheus_npu_assignments": prometheus_npu_assignments}
