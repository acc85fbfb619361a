"""The scrape configuration the prometheus role writes is one Prometheus 2.42's promtool accepts, with every target."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml
from promtool_support import render, run_promtool

REPO = Path(__file__).resolve().parents[2]


def render_config(tmp_path: Path, **extra) -> dict:
    """prometheus.yml for gateway gw-01, as the role renders it (promtool_support.render), checked by promtool."""
    config = render(tmp_path, {"vllm_router_prometheus_port": 29000, **extra}, host="gw-01") / "prometheus.yml"
    check = run_promtool("check", "config", str(config))
    assert check.returncode == 0, check.stdout + check.stderr
    return yaml.safe_load(config.read_text())


def jobs(config: dict) -> dict:
    return {job["job_name"]: job for job in config["scrape_configs"]}


def test_every_target_of_the_plan_is_scraped_with_its_labels(tmp_path):
    config = render_config(tmp_path, prometheus_vllm_targets=[
        {"node": "atlas-01", "instance_name": "vllm-0", "url": "http://10.0.0.11:8000", "devices": [0, 1, 2, 3]},
        {"node": "atlas-01", "instance_name": "vllm-1", "url": "http://10.0.0.11:8001", "devices": [4, 5, 6, 7]},
    ], prometheus_npu_exporter_targets=[{"node": "atlas-01", "address": "10.0.0.11:8082"}],
        prometheus_alertmanagers=["am.example:9093"])
    vllm = jobs(config)["vllm"]["static_configs"]
    assert [(c["targets"], c["labels"]) for c in vllm] == [
        (["10.0.0.11:8000"], {"node": "atlas-01", "instance_name": "vllm-0", "worker": "http://10.0.0.11:8000"}),
        (["10.0.0.11:8001"], {"node": "atlas-01", "instance_name": "vllm-1", "worker": "http://10.0.0.11:8001"}),
    ]
    assert jobs(config)["npu_exporter"]["static_configs"] == [{"targets": ["10.0.0.11:8082"],
                                                               "labels": {"node": "atlas-01"}}]
    assert jobs(config)["vllm_router"]["static_configs"] == [{"targets": ["127.0.0.1:29000"],
                                                              "labels": {"gateway": "gw-01"}}]
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["am.example:9093"]
    assert config["global"]["external_labels"] == {"gateway": "gw-01"}
    assert sorted(config["rule_files"]) == sorted(str(tmp_path / name) for name in
                                                  ("atlas-alerts.rules.yml", "atlas-npu-assignments.rules.yml"))


def test_an_empty_fleet_is_still_a_valid_configuration(tmp_path):
    config = render_config(tmp_path, promtool_sample_targets=[])
    assert jobs(config)["vllm"]["static_configs"] == [] and "alerting" not in config


def test_odd_inventory_names_cannot_break_the_file(tmp_path):
    odd = 'atlas-01": x\n  evil: [1'
    config = render_config(tmp_path, prometheus_npu_exporter_targets=[{"node": odd, "address": "10.0.0.11:8082"}],
                    prometheus_extra_scrape_configs=[{"job_name": "node", "static_configs": [{"targets": ["a:9100"]}]}])
    assert jobs(config)["npu_exporter"]["static_configs"][0]["labels"] == {"node": odd}
    assert jobs(config)["node"]["static_configs"] == [{"targets": ["a:9100"]}]


def test_settings_prometheus_would_reject_stop_the_role_before_it_writes_anything(tmp_path):
    playbook = tmp_path / "role.yml"
    playbook.write_text("- hosts: all\n  connection: local\n  gather_facts: false\n  roles: [prometheus]\n")
    bad = {"prometheus_retention_time": "15 days", "prometheus_alert_kv_cache_usage": 90,
           "prometheus_npu_exporter_targets": [{"node": "atlas-01", "address": "10.0.0.11:8082", "port": 8082}]}
    # --check: were the refusal to let anything through, nothing on this machine would change.
    command = [str(REPO / ".venv/bin/ansible-playbook"), "--check", "-i", "gw-01,", "-e",
               f"ansible_python_interpreter={sys.executable}", "-e", json.dumps(bad), str(playbook)]
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_ROLES_PATH": str(REPO / "roles")}
    unknown = subprocess.run(command, capture_output=True, text=True, env=env)
    assert unknown.returncode != 0
    assert "prometheus_npu_exporter_targets.port. Supported parameters include: address, node" in unknown.stdout
    del bad["prometheus_npu_exporter_targets"]
    command[command.index("-e", 5) + 1] = json.dumps(bad)
    refused = subprocess.run(command, capture_output=True, text=True, env=env)
    assert refused.returncode != 0
    output = refused.stdout + refused.stderr
    assert "gw-01: prometheus_retention_time is '15 days', not a Prometheus duration" in output
    assert "gw-01: prometheus_alert_kv_cache_usage is 90; it must be a number from 0.01 to 1.0" in output
    assert "Install the prometheus package" not in output
