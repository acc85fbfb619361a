"""Every `vllm serve` flag the role controls is one row of plugins/module_utils/vllm_flags.py: walking the table
proves each row reaches the argv, the validation and the docs without a second list anywhere."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.atlas.vllm.plugins.filter.serving_validate import serving_settings_errors
from ansible_collections.atlas.vllm.plugins.filter.vllm_serve import vllm_serve_argv, vllm_serve_settings
from ansible_collections.atlas.vllm.plugins.module_utils import vllm_flags
from ansible_collections.atlas.vllm.plugins.module_utils.role_specs import role_options

REPO = Path(__file__).resolve().parents[2]
SPEC = yaml.safe_load((REPO / "roles/vllm/meta/argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
ROWS = [row for row in vllm_flags.FLAGS if row.variable]
# A value of each spec type that makes the flag appear.
SAMPLE = {"int": 7, "str": "sample", "bool": True, "float": 0.5, "dict": {"k": 1}}


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.variable)
def test_each_flag_variable_is_documented_and_reaches_the_argv(row: vllm_flags.Flag) -> None:
    assert row.variable in SPEC, f"{row.variable} has no entry in roles/vllm/meta/argument_specs.yml"
    value = SAMPLE[SPEC[row.variable].get("type", "str")]
    values = [value if other is row else None for other in ROWS]
    argv = vllm_serve_argv({"model_path": "/m", **vllm_serve_settings(values)})
    assert row.flag in argv
    assert row.variable in role_options()  # so playbooks/validate.yml checks it when an inventory sets it
    assert f"`{row.variable}`" in (REPO / "docs/variables.md").read_text()


@pytest.mark.parametrize("row", vllm_flags.FLAGS, ids=lambda row: row.flag)
def test_extra_args_may_not_repeat_any_flag_of_the_table(row: vllm_flags.Flag) -> None:
    with pytest.raises(AnsibleFilterError, match="vllm_extra_args repeats"):
        vllm_serve_argv({"model_path": "/m", "extra_args": [row.flag, "1"]})


def test_the_role_lists_no_flag_variable_of_its_own() -> None:
    specs_task = (REPO / "roles/vllm/tasks/specs.yml").read_text()
    assert [row.variable for row in ROWS if row.variable in specs_task] == []
    assert "atlas.vllm.vllm_serve_variables" in specs_task


def test_a_negatable_flag_writes_its_negation_and_nothing_when_null() -> None:
    (row,) = [row for row in ROWS if row.kind == vllm_flags.NEGATABLE]
    for value, expected in ((True, [row.flag]), (False, [vllm_flags.negated(row.flag)]), (None, [])):
        values = [value if other is row else None for other in ROWS]
        assert vllm_serve_argv({"model_path": "/m", **vllm_serve_settings(values)})[3:] == expected


def test_settings_need_one_value_per_flag_variable() -> None:
    with pytest.raises(AnsibleFilterError, match="expected the values of"):
        vllm_serve_settings([1, 2])


@pytest.mark.parametrize(("settings", "message"), [
    ({"model_weights_http_timeout": "30"}, "model_weights_http_timeout is '30'; it must be a whole number, written"),
    ({"model_weights_shared": "yes"}, "model_weights_shared is 'yes'; it must be true or false"),
    ({"vllm_gpu_memory_utilization": "0.9"}, "vllm_gpu_memory_utilization is '0.9'; it must be a number"),
    ({"vllm_extra_args": "--seed 7"}, "vllm_extra_args is '--seed 7'; it must be a list"),
])
def test_every_role_setting_is_checked_against_its_spec_type(settings: dict, message: str) -> None:
    errors = serving_settings_errors(settings, "atlas-04")
    assert any(error.startswith(f"atlas-04: {message}") for error in errors), errors
