"""The preflight's readiness settings, refused on the controller with one message per broken rule."""

from __future__ import annotations

import pytest
from ansible_collections.atlas.vllm.plugins.filter.preflight_validate import (
    RULES,
    preflight_settings_errors,
    readiness_settings,
)
from ansible_collections.atlas.vllm.plugins.filter.serving_validate import serving_settings_errors
from ansible_collections.atlas.vllm.plugins.plugin_utils.role_specs import role_options

SOUND = {
    "npu_driver_expected_count": 16,
    "npu_driver_min_version": "25.3.rc1.b061",
    "npu_driver_allowed_health": ["OK", "Warning"],
    "npu_driver_min_free_hbm_mb": 0,
    "npu_driver_planned_devices": [0, 15],
    "hccl_network_ping_mode": "ring",
    "hccl_network_ping_count": 100,
    "hccl_network_max_loss_pct": 2.5,
    "atlas_multi_node": False,
    "atlas_max_fail_percentage": 100,
}


def test_sound_values_of_every_rule_pass() -> None:
    assert set(SOUND) == set(RULES)
    assert preflight_settings_errors(SOUND, "atlas-01") == []


def test_settings_the_inventory_does_not_set_are_not_checked() -> None:
    assert preflight_settings_errors({"vllm_port": "x"}, "atlas-01") == []


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("npu_driver_expected_count", "8k", 'is "8k" (str); it must be a whole number from 1 to 16, 8 on Atlas 800I A2 '
                                        "and 16 on A3 (a string of digits, as -e gives it, is fine)."),
    ("npu_driver_expected_count", 17, "is 17 (int); it must be a whole number from 1 to 16"),
    ("npu_driver_expected_count", "17", 'is "17" (str); it must be a whole number from 1 to 16'),
    ("npu_driver_min_version", 25.2, 'is 25.2 (float); it must be a quoted Ascend version such as "25.2.0", '
                                     '"24.1.0.3" or "25.3.rc1" (unquoted 25.2 would be read as a number).'),
    ("npu_driver_allowed_health", ["Warning"], 'is ["Warning"]; it must be a list that includes OK, with values '
                                               'from ["OK", "Warning", "Alarm", "Critical"].'),
    ("npu_driver_allowed_health", ["OK", "Fine"], 'is ["OK", "Fine"]; it must be a list that includes OK'),
    ("npu_driver_min_free_hbm_mb", -1, "is -1 (int); it must be a whole number of MB from 0 to 131072, e.g. 28672"),
    ("hccl_network_ping_mode", "star", 'is "star"; it must be "all" (every node pings every other node) or "ring" '
                                       "(each node pings the next one)."),
    # YAML's true is an int to Python; a boolean where a number is expected stays a mistake.
    ("hccl_network_ping_count", True, "is true (bool); it must be a whole number of packets from 1 to 100"),
    ("hccl_network_max_loss_pct", "lots", 'is "lots" (str); it must be a number of percent from 0 to 100, e.g. 2.5 '
                                          "(a string such as '0.9', as -e gives it, is fine)."),
    ("atlas_multi_node", "maybe", 'is "maybe" (str); it must be true or false (yes/no, on/off and 1/0 too; quoted '
                                  "or not, as -e gives them, is fine)."),
    ("atlas_multi_node", 2, "is 2 (int); it must be true or false"),
    ("atlas_max_fail_percentage", 101, "is 101 (int); it must be a whole number of percent from 0 (stop at the first "
                                       "failing node) to 100 (a string of digits, as -e gives it, is fine)."),
])
def test_a_broken_rule_names_the_node_the_variable_the_value_and_the_rule(variable, value, message) -> None:
    (error,) = preflight_settings_errors({variable: value}, "atlas-03")
    assert error.startswith(f"atlas-03: {variable} {message}")


def test_planned_devices_are_checked_against_the_expected_count() -> None:
    errors = preflight_settings_errors({"npu_driver_expected_count": 8, "npu_driver_planned_devices": [0, 8]}, "a")
    assert errors == ["a: npu_driver_planned_devices is [0, 8]; it must be a list of whole numbers from 0 to 7 "
                      "(npu_driver_expected_count is 8), or [] for every device."]
    assert preflight_settings_errors({"npu_driver_planned_devices": []}, "a") == []


@pytest.mark.parametrize(("variable", "value", "read_as"), [
    ("npu_driver_expected_count", "16", 16),
    ("npu_driver_expected_count", " 8", 8),
    ("npu_driver_min_free_hbm_mb", "0", 0),
    ("hccl_network_ping_count", "100", 100),
    ("hccl_network_max_loss_pct", "2.5", 2.5),
    ("hccl_network_max_loss_pct", "5", 5.0),
    ("atlas_multi_node", "yes", True),
    ("atlas_multi_node", "false", False),
    ("atlas_multi_node", "True", True),
    ("atlas_multi_node", "0", False),
    ("atlas_max_fail_percentage", "25", 25),
])
def test_a_string_that_converts_as_the_argument_spec_would_passes_and_is_read_converted(variable, value,
                                                                                          read_as) -> None:
    # -e key=value and INI inventories give every value as a string.
    settings, errors = readiness_settings({variable: value}, "atlas-03")
    assert errors == []
    assert settings[variable] == read_as
    assert type(settings[variable]) is type(read_as)


def test_planned_devices_are_checked_against_the_converted_expected_count() -> None:
    errors = preflight_settings_errors({"npu_driver_expected_count": "4", "npu_driver_planned_devices": [0, "3"]}, "a")
    assert errors == []
    errors = preflight_settings_errors({"npu_driver_expected_count": "4", "npu_driver_planned_devices": [0, 4]}, "a")
    assert errors == ["a: npu_driver_planned_devices is [0, 4]; it must be a list of whole numbers from 0 to 3 "
                      "(npu_driver_expected_count is 4), or [] for every device."]


def test_each_rule_reads_its_setting_as_the_role_spec_types_it() -> None:
    options = role_options()
    for variable, rule in RULES.items():
        if variable in options:
            kind = options[variable].get("type", "str")
            assert rule.kind == (kind if kind in ("int", "float", "bool") else None), variable


def test_the_serving_validation_gives_a_readiness_setting_the_preflight_message_once() -> None:
    errors = serving_settings_errors({"npu_driver_expected_count": "8k"}, "atlas-05")
    assert errors == ['atlas-05: npu_driver_expected_count is "8k" (str); it must be a whole number from 1 to 16, 8 on '
                      "Atlas 800I A2 and 16 on A3 (a string of digits, as -e gives it, is fine)."]
    assert serving_settings_errors({"npu_driver_expected_count": "8"}, "atlas-05") == []
