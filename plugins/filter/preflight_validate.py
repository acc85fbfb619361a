# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Validate the readiness settings of a node on the controller, before any host is contacted.

``{{ hostvars[node] | atlas.vllm.preflight_settings_errors(node) }}`` -> list of messages (empty when fine).

One row per setting the preflight reads: what makes a value sound, and the message that names the node, the
variable, its value (and type, where a quoted number is the usual mistake) and the rule. Only settings the
node's inventory sets are checked; the others keep the roles' defaults. playbooks/validate.yml uses the same rows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

HEALTH_VALUES = ["OK", "Warning", "Alarm", "Critical"]
# Ascend versions: 24.1.0, 24.1.0.3, 25.3.rc1, 25.3.rc1.b061, 25.0.rc1.1 (case-insensitive rc).
_VERSION = re.compile(r"^[0-9]+\.[0-9]+(\.([rR][cC])?[0-9]+)*(\.[bB][0-9]+)?$")


def is_whole_number(value: Any) -> bool:
    """An int written as one: YAML's true/false are ints to Python, a quoted "8" is a string."""
    return isinstance(value, int) and not isinstance(value, bool)


def _whole(value: Any, low: int, high: int) -> bool:
    return is_whole_number(value) and low <= value <= high


def _number(value: Any, low: float, high: float) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and low <= value <= high


def _device_count(settings: Mapping[str, Any]) -> int:
    count = settings.get("npu_driver_expected_count", 8)
    return count if _whole(count, 0, 1 << 16) else 0


def _planned_devices_ok(value: Any, settings: Mapping[str, Any]) -> bool:
    count = _device_count(settings)
    return isinstance(value, list) and all(_whole(device, 0, count - 1) for device in value)


@dataclass(frozen=True)
class Rule:
    ok: Callable[[Any, Mapping[str, Any]], bool]
    rule: Callable[[Mapping[str, Any]], str]
    # Show the value's type too: "is "8" (str)" tells a quoted number apart from a number.
    typed: bool = True


RULES: dict[str, Rule] = {
    "npu_driver_expected_count": Rule(
        lambda value, _: _whole(value, 1, 16),
        lambda _: "it must be a whole number from 1 to 16 (8 on Atlas 800I A2, 16 on A3), written without quotes."),
    "npu_driver_min_version": Rule(
        lambda value, _: isinstance(value, str) and bool(_VERSION.match(value)),
        lambda _: 'it must be a quoted Ascend version such as "25.2.0", "24.1.0.3" or "25.3.rc1" '
                  "(unquoted 25.2 would be read as a number)."),
    "npu_driver_allowed_health": Rule(
        lambda value, _: isinstance(value, list) and "OK" in value and all(v in HEALTH_VALUES for v in value),
        lambda _: f"it must be a list that includes OK, with values from {json.dumps(HEALTH_VALUES)}.",
        typed=False),
    "npu_driver_min_free_hbm_mb": Rule(
        lambda value, _: _whole(value, 0, 131072),
        lambda _: "it must be a whole number of MB from 0 to 131072, written without quotes."),
    "npu_driver_planned_devices": Rule(
        _planned_devices_ok,
        lambda settings: f"it must be a list of whole numbers from 0 to {_device_count(settings) - 1} "
                         f"(npu_driver_expected_count is {settings.get('npu_driver_expected_count', 8)}), "
                         "or [] for every device.",
        typed=False),
    "hccl_network_ping_mode": Rule(
        lambda value, _: value in ("all", "ring"),
        lambda _: 'it must be "all" (every node pings every other node) or "ring" (each node pings the next one).',
        typed=False),
    "hccl_network_ping_count": Rule(
        lambda value, _: _whole(value, 1, 100),
        lambda _: "it must be a whole number of packets from 1 to 100, written without quotes."),
    "hccl_network_max_loss_pct": Rule(
        lambda value, _: _number(value, 0, 100),
        lambda _: "it must be a number of percent from 0 to 100, written without quotes."),
    "atlas_multi_node": Rule(
        lambda value, _: isinstance(value, bool),
        lambda _: 'it must be true or false without quotes (a quoted "false" is a string, and would count as true).'),
    "atlas_max_fail_percentage": Rule(
        lambda value, _: _whole(value, 0, 100),
        lambda _: "it must be a whole number of percent from 0 (stop at the first failing node) to 100, "
                  "without quotes."),
}


def _type_name(value: Any) -> str:
    # Inventory values arrive as subclasses of the plain types (with their origin attached): name the plain type.
    for kind in (bool, int, float, str, list, dict):
        if isinstance(value, kind):
            return kind.__name__
    return "NoneType" if value is None else type(value).__name__


def preflight_settings_errors(hostvars: Mapping[str, Any], host: str) -> list[str]:
    """The node's readiness settings (its hostvars) that break a rule, one message each."""
    settings = {name: hostvars[name] for name in RULES if name in hostvars}
    errors = []
    for variable, value in settings.items():
        rule = RULES[variable]
        if not rule.ok(value, settings):
            shown = json.dumps(value) + (f" ({_type_name(value)})" if rule.typed else "")
            errors.append(f"{host}: {variable} is {shown}; {rule.rule(settings)}")
    return errors


class FilterModule:
    def filters(self) -> dict:
        return {"preflight_settings_errors": preflight_settings_errors}
