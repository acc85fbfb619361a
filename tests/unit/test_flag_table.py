"""Every `vllm serve` flag the role controls is one row of plugins/module_utils/vllm_flags.py: walking the table
proves each row reaches the argv, the validation and the docs without a second list anywhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError, AnsibleLookupError
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar
from ansible_collections.atlas.vllm.plugins.filter.serving_validate import serving_settings_errors
from ansible_collections.atlas.vllm.plugins.filter.vllm_serve import vllm_serve_argv, vllm_serve_settings
from ansible_collections.atlas.vllm.plugins.lookup import vllm_serve_values
from ansible_collections.atlas.vllm.plugins.module_utils import vllm_flags
from ansible_collections.atlas.vllm.plugins.plugin_utils.role_specs import role_options

REPO = Path(__file__).resolve().parents[2]
SPEC = yaml.safe_load((REPO / "roles/vllm/meta/argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
ROWS = [row for row in vllm_flags.FLAGS if row.variable]
# A value of each spec type that makes the flag appear.
# A variable read in an expression (messages may name it in words).
USED_IN_JINJA = r"(?<![.\w]){}\s*(\||==|!=|\)|\}}\}}|,|\[|$)"
SAMPLE = {"int": 7, "str": "sample", "bool": True, "float": 0.5, "dict": {"k": 1}}


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.variable)
def test_each_flag_variable_is_documented_and_reaches_the_argv(row: vllm_flags.Flag) -> None:
    assert row.variable in SPEC, f"{row.variable} has no entry in roles/vllm/meta/argument_specs.yml"
    value = SAMPLE[SPEC[row.variable].get("type", "str")]
    values = {other.variable: value if other is row else None for other in ROWS}
    argv = vllm_serve_argv({"model_path": "/m", **vllm_serve_settings(values)})
    assert row.flag in argv
    assert row.variable in role_options()  # so playbooks/validate.yml checks it when an inventory sets it
    assert f"`{row.variable}`" in (REPO / "docs/variables.md").read_text()


@pytest.mark.parametrize("row", vllm_flags.FLAGS, ids=lambda row: row.flag)
def test_extra_args_may_not_repeat_any_flag_of_the_table(row: vllm_flags.Flag) -> None:
    with pytest.raises(AnsibleFilterError, match="vllm_extra_args repeats"):
        vllm_serve_argv({"model_path": "/m", "extra_args": [row.flag, "1"]})


def test_the_role_lists_no_flag_variable_of_its_own() -> None:
    tasks = "".join(path.read_text() for path in (REPO / "roles/vllm/tasks").glob("*.yml"))
    defaults = yaml.safe_load((REPO / "roles/vllm/defaults/main.yml").read_text())
    # Tasks read the settings from the one lookup, and no default is written twice (the spec holds it).
    assert [row.variable for row in ROWS if re.search(USED_IN_JINJA.format(row.variable), tasks, re.M)] == []
    assert [row.variable for row in ROWS if row.variable in defaults] == []
    assert "atlas.vllm.vllm_serve_values" in tasks


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.variable)
def test_an_unset_flag_variable_takes_the_spec_default_and_a_set_one_its_value(row: vllm_flags.Flag) -> None:
    values = _lookup({"vllm_model": "Qwen/Qwen2.5-VL-7B-Instruct"})
    expected = SPEC[row.variable].get("default")
    assert values[row.variable] == ("Qwen2.5-VL-7B-Instruct" if row.variable == "vllm_served_model_name" else expected)
    sample = SAMPLE[SPEC[row.variable].get("type", "str")]
    assert _lookup({"vllm_model": "m", row.variable: sample})[row.variable] == sample


def test_flag_variables_given_as_strings_are_read_as_their_spec_types() -> None:
    # -e key=value gives every value as a string; "false" must not switch a flag on.
    values = _lookup({"vllm_model": "m", "vllm_max_model_len": "8192", "vllm_trust_remote_code": "false",
                      "vllm_enforce_eager": "yes", "vllm_gpu_memory_utilization": "0.9",
                      "vllm_enable_prefix_caching": "off"})
    assert (values["vllm_max_model_len"], values["vllm_trust_remote_code"], values["vllm_enforce_eager"],
            values["vllm_gpu_memory_utilization"], values["vllm_enable_prefix_caching"]) == (8192, False, True, 0.9,
                                                                                               False)
    argv = vllm_serve_argv({"model_path": "/m", **vllm_serve_settings(values)})
    assert "--trust-remote-code" not in argv
    assert {"--enforce-eager", "--no-enable-prefix-caching"} <= set(argv)
    assert argv[argv.index("--max-model-len") + 1] == "8192"


@pytest.mark.parametrize(("variable", "value"), [("vllm_max_model_len", "8k"), ("vllm_trust_remote_code", "maybe")])
def test_a_flag_variable_that_does_not_convert_is_named(variable: str, value: str) -> None:
    with pytest.raises(AnsibleLookupError, match=f"^{variable} is '{value}'; it must be a value of type"):
        _lookup({"vllm_model": "m", variable: value})


def test_a_new_flag_is_one_table_row_and_one_spec_option(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a contributor adds for a new flag, and nothing else, reaches the values, the argv and the refusal of
    the same flag in vllm_extra_args."""
    row = vllm_flags.Flag("seed", "--seed", vllm_flags.VALUE, "vllm_seed")
    monkeypatch.setattr(vllm_flags, "FLAGS", (*vllm_flags.FLAGS, row))
    options = {**role_options(), "vllm_seed": {"type": "int", "default": 7}}
    monkeypatch.setattr(vllm_serve_values, "role_options", lambda: options)
    values = _lookup({"vllm_model": "m"})
    assert values["vllm_seed"] == 7
    argv = vllm_serve_argv({"model_path": "/m", **vllm_serve_settings(values)})
    assert argv[argv.index("--seed") + 1] == "7"
    with pytest.raises(AnsibleFilterError, match="vllm_extra_args repeats --seed"):
        vllm_serve_argv({"model_path": "/m", "extra_args": ["--seed", "1"]})


def test_a_flag_variable_missing_from_the_spec_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vllm_flags, "FLAGS", (*vllm_flags.FLAGS, vllm_flags.Flag("seed", "--seed", "value", "vllm_seed")))
    with pytest.raises(AnsibleLookupError, match="without an entry in roles/vllm/meta/argument_specs.yml: vllm_seed"):
        _lookup({})


def _lookup(variables: dict) -> dict:
    loader = DataLoader()
    lookup = vllm_serve_values.LookupModule(loader=loader, templar=Templar(loader=loader, variables=variables))
    (values,) = lookup.run([], variables=variables)
    return values


def test_a_negatable_flag_writes_its_negation_and_nothing_when_null() -> None:
    (row,) = [row for row in ROWS if row.kind == vllm_flags.NEGATABLE]
    for value, expected in ((True, [row.flag]), (False, [vllm_flags.negated(row.flag)]), (None, [])):
        values = {other.variable: value if other is row else None for other in ROWS}
        assert vllm_serve_argv({"model_path": "/m", **vllm_serve_settings(values)})[3:] == expected


def test_settings_need_one_value_per_flag_variable() -> None:
    with pytest.raises(AnsibleFilterError, match="expected a value for each flag variable; missing: vllm_served_model_name"):
        vllm_serve_settings({"vllm_host": "0.0.0.0"})


@pytest.mark.parametrize(("settings", "message"), [
    ({"model_weights_http_timeout": "30s"}, "model_weights_http_timeout is '30s'; it must be a whole number, e.g. 60"),
    ({"model_weights_shared": "maybe"}, "model_weights_shared is 'maybe'; it must be true or false"),
    ({"vllm_gpu_memory_utilization": "most"}, "vllm_gpu_memory_utilization is 'most'; it must be a number"),
    ({"vllm_extra_args": "--seed 7"}, "vllm_extra_args is '--seed 7'; it must be a list"),
])
def test_every_role_setting_is_checked_against_its_spec_type(settings: dict, message: str) -> None:
    errors = serving_settings_errors(settings, "atlas-04")
    assert any(error.startswith(f"atlas-04: {message}") for error in errors), errors
