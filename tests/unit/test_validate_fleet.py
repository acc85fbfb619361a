"""playbooks/validate.yml refuses rollout and fleet endpoint settings on the controller, before any connection."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def run_validate(tmp_path: Path, nodes: int, node_vars: dict, gateways: list[str] | None) -> str:
    # TEST-NET-1 addresses with no route: a play that tried to connect would fail as unreachable.
    inventory: dict = {"atlas_nodes": {"hosts": {f"atlas-0{i}": {"ansible_host": f"192.0.2.{i}"}
                                                 for i in range(1, nodes + 1)}, "vars": node_vars}}
    if gateways is not None:
        inventory["atlas_gateways"] = {"hosts": {name: {"ansible_host": "192.0.2.200"} for name in gateways}}
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(inventory))
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    result = subprocess.run([REPO / ".venv/bin/ansible-playbook", "playbooks/validate.yml", "-i", str(path)],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert "UNREACHABLE" not in result.stdout
    return ("ok\n" if result.returncode == 0 else f"rc={result.returncode}\n") + result.stdout


def test_sound_rollout_settings_pass(tmp_path: Path) -> None:
    output = run_validate(tmp_path, 4, {"atlas_rolling_batch": "50%", "atlas_drain_timeout": 60}, ["gw-1"])
    assert output.startswith("ok") and "rollout and fleet endpoint settings are valid" in output


@pytest.mark.parametrize(("batch", "shown"), [(0, "0"), (5, "5"), ("two%", "'two%'"), ("0%", "'0%'")])
def test_a_bad_batch_size_is_refused_naming_variable_value_and_rule(tmp_path: Path, batch: object,
                                                                    shown: str) -> None:
    output = run_validate(tmp_path, 4, {"atlas_rolling_batch": batch}, None)
    assert output.startswith("rc=2")
    assert f"atlas_rolling_batch is {shown}" in output.replace("''", "'")
    assert "must be a whole number of nodes from 1 to 4, or a percentage from 1% to 100%" in output


def test_an_empty_gateway_group_is_refused(tmp_path: Path) -> None:
    output = run_validate(tmp_path, 1, {}, [])
    assert output.startswith("rc=2") and "atlas_gateways is an empty group" in output


def test_a_router_port_on_an_instance_port_of_a_gateway_node_is_refused(tmp_path: Path) -> None:
    output = run_validate(tmp_path, 2, {"vllm_router_port": 8000}, ["atlas-01"])
    assert output.startswith("rc=2")
    assert "atlas-01: vllm_router_port is 8000, a port of this node's vLLM instances ([8000])" in output
