# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Validate the readiness settings of a node on the controller, before any host is contacted.

``{{ hostvars[node] | atlas.vllm.preflight_settings_errors(node) }}`` -> list of messages (empty when fine).

One row per setting the preflight reads: its type, what makes a value sound, and the message that names the node,
the variable, its value (and type) and the rule. A string that converts to the row's type the way the roles'
argument validation converts it ("8", "yes", "2.5", as ``-e key=value`` gives them) is read as that number or
boolean; one that does not is refused. Only settings the node's inventory sets are checked; the others keep the
roles' defaults. playbooks/validate.yml uses the same rows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ansible_collections.atlas.vllm.plugins.plugin_utils.role_specs import (
    BOOLEAN_RULE,
    DIGITS_OK,
    NUMBER_OK,
    spec_value,
)

HEALTH_VALUES = ["OK", "Warning", "Alarm", "Critical"]
# Ascend versions: 24.1.0, 24.1.0.3, 25.3.rc1, 25.3.rc1.b061, 25.0.rc1.1 (case-insensitive rc).
_VERSION = re.compile(r"^[0-9]+\.[0-9]+(\.([rR][cC])?[0-9]+)*(\.[bB][0-9]+)?$")


def converts(value: Any, kind: str | None) -> bool:
    """Whether ``value`` reads as a setting of spec type ``kind`` (role_specs.spec_value)."""
    try:
        spec_value(value, kind)
    except (TypeError, ValueError):
        return False
    return True


def _whole(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _number(value: Any, low: float, high: float) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and low <= value <= high


def _device_count(settings: Mapping[str, Any]) -> int:
    count = settings.get("npu_driver_expected_count", 8)
    return count if _whole(count, 0, 1 << 16) else 0


def _planned_devices_ok(value: Any, settings: Mapping[str, Any]) -> bool:
    count = _device_count(settings)
    return isinstance(value, list) and all(
        converts(device, "int") and _whole(spec_value(device, "int"), 0, count - 1) for device in value)


@dataclass(frozen=True)
class Rule:
    # Given the value read as ``kind`` (the spec type; None: taken as it is) and the node's other settings.
    ok: Callable[[Any, Mapping[str, Any]], bool]
    rule: Callable[[Mapping[str, Any]], str]
    kind: str | None = None
    # Show the value's type too: "is "8k" (str)" tells a string apart from a number.
    typed: bool = True


RULES: dict[str, Rule] = {
    "npu_driver_expected_count": Rule(
        lambda value, _: _whole(value, 1, 16),
        lambda _: f"it must be a whole number from 1 to 16, 8 on Atlas 800I A2 and 16 on A3 {DIGITS_OK}.",
        kind="int"),
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
        lambda _: f"it must be a whole number of MB from 0 to 131072, e.g. 28672 {DIGITS_OK}.",
        kind="int"),
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
        lambda _: f"it must be a whole number of packets from 1 to 100, e.g. 3 {DIGITS_OK}.",
        kind="int"),
    "hccl_network_max_loss_pct": Rule(
        lambda value, _: _number(value, 0, 100),
        lambda _: f"it must be a number of percent from 0 to 100, e.g. 2.5 {NUMBER_OK}.",
        kind="float"),
    "atlas_multi_node": Rule(
        lambda value, _: isinstance(value, bool),
        lambda _: f"{BOOLEAN_RULE}.",
        kind="bool"),
    "atlas_max_fail_percentage": Rule(
        lambda value, _: _whole(value, 0, 100),
        lambda _: "it must be a whole number of percent from 0 (stop at the first failing node) to 100 "
                  f"{DIGITS_OK}.",
        kind="int"),
}


def _type_name(value: Any) -> str:
    # Inventory values arrive as subclasses of the plain types (with their origin attached): name the plain type.
    for kind in (bool, int, float, str, list, dict):
        if isinstance(value, kind):
            return kind.__name__
    return "NoneType" if value is None else type(value).__name__


def readiness_settings(hostvars: Mapping[str, Any], host: str) -> tuple[dict[str, Any], list[str]]:
    """The node's readiness settings as the roles read them (a string that converts is converted), and one message
    per setting that breaks its rule."""
    given = {name: hostvars[name] for name in RULES if name in hostvars}
    settings = {name: spec_value(value, RULES[name].kind) if converts(value, RULES[name].kind) else value
                for name, value in given.items()}
    errors = []
    for variable, value in given.items():
        rule = RULES[variable]
        if not converts(value, rule.kind) or not rule.ok(settings[variable], settings):
            shown = json.dumps(value) + (f" ({_type_name(value)})" if rule.typed else "")
            errors.append(f"{host}: {variable} is {shown}; {rule.rule(settings)}")
    return settings, errors


def preflight_settings_errors(hostvars: Mapping[str, Any], host: str) -> list[str]:
    """The node's readiness settings (its hostvars) that break a rule, one message each."""
    return readiness_settings(hostvars, host)[1]


class FilterModule:
    def filters(self) -> dict:
        return {"preflight_settings_errors": preflight_settings_errors}
