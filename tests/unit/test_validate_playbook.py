"""playbooks/validate.yml refuses a bad inventory on the controller, without contacting any node."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def run_validate(tmp_path: Path, hosts: dict, *extra_vars: str,
                 playbook: tuple[str, ...] = ("playbooks/validate.yml",)) -> subprocess.CompletedProcess:
    """Run the playbook against the hosts; each of extra_vars is given as ``-e key=value``, as an operator types it."""
    # Addresses in TEST-NET-1 with no route: a play that tried to connect would fail as unreachable.
    inventory = {"atlas_nodes": {"hosts": {name: {"ansible_host": f"192.0.2.{i}", **values}
                                           for i, (name, values) in enumerate(hosts.items(), start=1)}}}
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(inventory))
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    command = [REPO / ".venv/bin/ansible-playbook", *playbook, "-i", str(path)]
    for extra in extra_vars:
        command += ["-e", extra]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def test_a_sound_inventory_passes(tmp_path: Path) -> None:
    result = run_validate(tmp_path, {"atlas-01": {"vllm_instances": 4, "vllm_tensor_parallel_size": 2},
                                     "atlas-02": {}})
    assert result.returncode == 0, result.stdout
    assert "serving settings of 2 node(s) are valid" in result.stdout
    assert "UNREACHABLE" not in result.stdout


def test_every_problem_of_every_node_is_named_before_any_connection(tmp_path: Path) -> None:
    result = run_validate(tmp_path, {
        "atlas-01": {"vllm_port": "8000x", "vllm_trust_remote_code": "maybe"},
        "atlas-02": {"vllm_instances": [{"devices": [0]}, {"devices": [0]}]},
    })
    assert result.returncode == 2
    assert "atlas-01: vllm_port is ''8000x''; it must be a whole number from 1 to 65535" in result.stdout
    assert "atlas-01: vllm_trust_remote_code is ''maybe''" in result.stdout
    assert "atlas-02: vllm_instances: NPU 0 is given to both vllm-0 and vllm-1" in result.stdout
    assert "UNREACHABLE" not in result.stdout


def test_a_label_set_for_the_serving_role_alone_is_refused_and_the_shared_name_is_fine(tmp_path: Path) -> None:
    result = run_validate(tmp_path, {"atlas-01": {"vllm_label": "site.ours"},
                                     "atlas-02": {"atlas_managed_label": "site.ours"}})
    assert result.returncode == 2
    assert ("atlas-01: vllm_label is ''site.ours'' but npu_driver_managed_label is ''io.atlas-vllm.managed=true''"
            in result.stdout)
    # atlas-02 changed the shared name: every role follows it, nothing disagrees.
    assert "atlas-02: vllm_label" not in result.stdout


# -e key=value gives every value as a string, as docs/operations.md's Day 2 section has operators pass a change.
@pytest.mark.parametrize("extra_vars", [
    ("vllm_max_model_len=8192",),
    ("vllm_trust_remote_code=false", "vllm_enforce_eager=yes", "model_weights_shared=no"),
    ("vllm_gpu_memory_utilization=0.9", "vllm_instances=2", "vllm_tensor_parallel_size=4", "vllm_port=8100"),
])
def test_numbers_and_booleans_given_with_e_pass(tmp_path: Path, extra_vars: tuple[str, ...]) -> None:
    result = run_validate(tmp_path, {"atlas-01": {}, "atlas-02": {}}, *extra_vars)
    assert result.returncode == 0, result.stdout
    assert "serving settings of 2 node(s) are valid" in result.stdout


@pytest.mark.parametrize(("extra_var", "message"), [
    ("vllm_max_model_len=8k", "vllm_max_model_len is ''8k''; it must be a whole number from 1 to 10000000,"),
    ("vllm_max_model_len=70000000", "vllm_max_model_len is ''70000000''; it must be a whole number from 1"),
    ("vllm_trust_remote_code=maybe", "vllm_trust_remote_code is ''maybe''; it must be true or false"),
])
def test_a_value_given_with_e_that_does_not_convert_is_refused_naming_the_variable(tmp_path: Path, extra_var: str,
                                                                                    message: str) -> None:
    result = run_validate(tmp_path, {"atlas-01": {}, "atlas-02": {}}, extra_var)
    assert result.returncode == 2
    assert f"atlas-01: {message}" in result.stdout
    assert f"atlas-02: {message}" in result.stdout
    assert "UNREACHABLE" not in result.stdout


# The preflight's gate (its first play, tagged always) reads the readiness settings by the same rule.
PREFLIGHT_GATE = ("playbooks/preflight.yml", "--tags", "always")


def test_the_preflight_gate_takes_readiness_settings_given_with_e(tmp_path: Path) -> None:
    result = run_validate(tmp_path, {"atlas-01": {}}, "npu_driver_expected_count=8", "atlas_multi_node=yes",
                          "hccl_network_max_loss_pct=2.5", "atlas_max_fail_percentage=25", playbook=PREFLIGHT_GATE)
    assert result.returncode == 0, result.stdout
    assert "UNREACHABLE" not in result.stdout


def test_the_preflight_gate_refuses_a_boolean_that_does_not_convert(tmp_path: Path) -> None:
    result = run_validate(tmp_path, {"atlas-01": {}}, "atlas_multi_node=maybe", playbook=PREFLIGHT_GATE)
    assert result.returncode == 2
    assert 'atlas-01: atlas_multi_node is "maybe" (str); it must be true or false' in result.stdout
