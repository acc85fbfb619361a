"""playbooks/validate.yml refuses a bad inventory on the controller, without contacting any node."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def run_validate(tmp_path: Path, hosts: dict) -> subprocess.CompletedProcess:
    # Addresses in TEST-NET-1 with no route: a play that tried to connect would fail as unreachable.
    inventory = {"atlas_nodes": {"hosts": {name: {"ansible_host": f"192.0.2.{i}", **values}
                                           for i, (name, values) in enumerate(hosts.items(), start=1)}}}
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(inventory))
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    return subprocess.run([REPO / ".venv/bin/ansible-playbook", "playbooks/validate.yml", "-i", str(path)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def test_a_sound_inventory_passes(tmp_path: Path) -> None:
    result = run_validate(tmp_path, {"atlas-01": {"vllm_instances": 4, "vllm_tensor_parallel_size": 2},
                                     "atlas-02": {}})
    assert result.returncode == 0, result.stdout
    assert "serving settings of 2 node(s) are valid" in result.stdout
    assert "UNREACHABLE" not in result.stdout


def test_every_problem_of_every_node_is_named_before_any_connection(tmp_path: Path) -> None:
    result = run_validate(tmp_path, {
        "atlas-01": {"vllm_port": "8000x", "vllm_trust_remote_code": "false"},
        "atlas-02": {"vllm_instances": [{"devices": [0]}, {"devices": [0]}]},
    })
    assert result.returncode == 2
    assert "atlas-01: vllm_port is ''8000x''; it must be a whole number from 1 to 65535" in result.stdout
    assert "atlas-01: vllm_trust_remote_code is ''false''" in result.stdout
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
