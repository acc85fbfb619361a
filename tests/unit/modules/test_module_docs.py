"""What `ansible-doc` shows of each module (documentation fragments merged) agrees with its argument spec, and its
EXAMPLES and RETURN parse. vllm_health's options also include those its action plugin handles on the controller."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
MODULES = sorted(path.stem for path in (REPO / "plugins" / "modules").glob("*.py") if path.stem != "__init__")
SPEC_KEYS = ("type", "elements", "default", "required", "choices")


def load(name: str):
    return importlib.import_module(f"ansible_collections.atlas.vllm.plugins.modules.{name}")


@cache
def rendered(name: str) -> dict:
    """ansible-doc's JSON of one module: doc (fragments merged), examples, return."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    done = subprocess.run([str(Path(sys.executable).parent / "ansible-doc"), "-t", "module", "-j",
                           f"atlas.vllm.{name}"], capture_output=True, text=True, env=env, cwd=REPO, check=False,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)[f"atlas.vllm.{name}"]


def documented_spec(options: dict) -> dict:
    spec = {}
    for option, doc in options.items():
        entry = {key: doc[key] for key in SPEC_KEYS if key in doc}
        entry.setdefault("type", "str")
        if "suboptions" in doc:
            entry["options"] = documented_spec(doc["suboptions"])
        spec[option] = entry
    return spec


def code_spec(spec: dict) -> dict:
    result = {}
    for option, entry in spec.items():
        normalized = {key: entry[key] for key in SPEC_KEYS if key in entry}
        normalized.setdefault("type", "str")
        if "options" in entry:
            normalized["options"] = code_spec(entry["options"])
        result[option] = normalized
    return result


def expected_spec(name: str) -> dict:
    spec = dict(load(name).ARGUMENT_SPEC)
    if name == "vllm_health":
        from ansible_collections.atlas.vllm.plugins.action import vllm_health as action

        spec.update(action.ACTION_ARGUMENT_SPEC)
    return code_spec(spec)


def test_every_module_is_covered() -> None:
    assert {"npu_node_info", "npu_smi_info", "hccn_info", "hccn_ping", "model_weights_sync", "vllm_health", "vllm_inflight",
            "vllm_router_workers"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_rendered_docs_match_the_argument_spec(name: str) -> None:
    doc = rendered(name)["doc"]
    assert doc["module"] == name
    assert doc["attributes"]["check_mode"]["support"] == "full"
    assert doc["attributes"]["diff_mode"]["support"] == "none"
    assert documented_spec(doc["options"]) == expected_spec(name)


@pytest.mark.parametrize("name", MODULES)
def test_examples_and_return_parse(name: str) -> None:
    docs = rendered(name)
    assert any(f"atlas.vllm.{name}" in task for task in yaml.safe_load(docs["examples"]))
    assert docs["return"] and all("description" in value and "type" in value for value in docs["return"].values())


@pytest.mark.parametrize("name", ["vllm_health", "vllm_inflight", "model_weights_sync"])
def test_secrets_are_never_logged(name: str) -> None:
    secret = {"vllm_health": "api_key", "vllm_inflight": "api_key", "model_weights_sync": "modelscope_token"}[name]
    assert load(name).ARGUMENT_SPEC[secret]["no_log"] is True


@pytest.mark.parametrize(("name", "words"), [
    ("vllm_health", ["wait_seconds", "check_mode_skip", "time_to_ready_s"]),
    ("vllm_inflight", ["in_flight", "until: result.idle"]),
    ("vllm_router_workers", ["add_timeout", "state_file_changed"]),
    ("model_weights_sync", ["time_budget", "bytes_total"]),
])
def test_the_text_an_operator_reads_renders(name: str, words: list[str]) -> None:
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    done = subprocess.run([str(Path(sys.executable).parent / "ansible-doc"), f"atlas.vllm.{name}"],
                          capture_output=True, text=True, env=env, cwd=REPO, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    assert [word for word in words if word not in done.stdout] == []
