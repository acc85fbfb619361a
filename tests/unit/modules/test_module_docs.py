"""DOCUMENTATION, EXAMPLES and RETURN of each module parse and agree with its argument spec."""

from __future__ import annotations

import importlib

import pytest
import yaml

MODULES = ["npu_smi_info", "hccn_info", "hccn_ping", "model_weights_sync"]
SPEC_KEYS = ("type", "elements", "default", "required")


def load(name):
    return importlib.import_module(f"ansible_collections.atlas.vllm.plugins.modules.{name}")


def documented_spec(options):
    spec = {}
    for option, doc in options.items():
        entry = {key: doc[key] for key in SPEC_KEYS if key in doc}
        entry.setdefault("type", "str")
        if "suboptions" in doc:
            entry["options"] = documented_spec(doc["suboptions"])
        spec[option] = entry
    return spec


def code_spec(spec):
    result = {}
    for option, entry in spec.items():
        normalized = {key: entry[key] for key in SPEC_KEYS if key in entry}
        normalized.setdefault("type", "str")
        if "options" in entry:
            normalized["options"] = code_spec(entry["options"])
        result[option] = normalized
    return result


@pytest.mark.parametrize("name", MODULES)
def test_docs_match_argument_spec(name):
    module = load(name)
    doc = yaml.safe_load(module.DOCUMENTATION)
    assert doc["module"] == name
    assert doc["attributes"]["check_mode"]["support"] == "full"
    assert documented_spec(doc["options"]) == code_spec(module.ARGUMENT_SPEC)


@pytest.mark.parametrize("name", MODULES)
def test_examples_and_return_parse(name):
    module = load(name)
    examples = yaml.safe_load(module.EXAMPLES)
    assert any(f"atlas.vllm.{name}" in task for task in examples)
    returned = yaml.safe_load(module.RETURN)
    assert all("description" in value and "type" in value for value in returned.values())
