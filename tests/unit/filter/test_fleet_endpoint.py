"""The fleet endpoint filters: wheel targets, workers that passed, the endpoint lines, controller-side checks."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.atlas.vllm.plugins.filter.fleet_endpoint import (
    fleet_endpoint_lines,
    fleet_endpoints,
    fleet_settings_errors,
    router_workers,
    wheel_target,
)

FACTS = {"python": {"version": {"major": 3, "minor": 11, "micro": 2}}, "architecture": "aarch64"}
ENDPOINTS = [{"name": "vllm-0", "url": "http://10.0.0.11:8000"}, {"name": "vllm-1", "url": "http://10.0.0.11:8001"}]


def _node(gate_instances: list[dict] | None) -> dict:
    node = {"inventory_hostname": "atlas-01", "vllm_endpoints": ENDPOINTS}
    if gate_instances is not None:
        node["vllm_gate"] = {"instances": gate_instances}
    return node


def test_wheel_target_names_python_and_architecture() -> None:
    target = wheel_target({"inventory_hostname": "gw", "ansible_facts": FACTS})
    assert target["name"] == "cp311-aarch64" and target["python"] == "3.11"
    assert "manylinux_2_28_aarch64" in target["platforms"] and "manylinux2014_aarch64" in target["platforms"]


def test_wheel_target_without_facts_names_the_gateway() -> None:
    with pytest.raises(AnsibleFilterError, match="gw-9: no Python or architecture facts"):
        wheel_target({"inventory_hostname": "gw-9"})


def test_only_instances_that_passed_gate_and_probe_become_workers() -> None:
    node = _node([{"name": "vllm-0", "ready": True, "probe": {"answer": "ok", "error": None}},
                  {"name": "vllm-1", "ready": True, "probe": {"error": "HTTP 500"}}])
    assert router_workers([node]) == ["http://10.0.0.11:8000"]
    assert router_workers([_node([{"name": "vllm-0", "ready": False}])]) == []
    assert router_workers([_node(None)]) == []


def test_check_mode_counts_every_planned_instance() -> None:
    assert router_workers([_node(None)], True) == ["http://10.0.0.11:8000", "http://10.0.0.11:8001"]


def test_endpoint_lines_show_the_fleet_endpoint_first_or_say_there_is_none() -> None:
    gateway = {"inventory_hostname": "atlas-gw-01", "ansible_host": "10.0.0.201"}
    lines = fleet_endpoint_lines([gateway], ["http://10.0.0.11:8000"])
    assert lines[0] == "fleet endpoint: https://10.0.0.201:8443 (atlas-gw-01)"
    assert lines[1] == "behind it: 1 instance(s): http://10.0.0.11:8000"
    assert "clients use the instance endpoints" in fleet_endpoint_lines([], [])[0]


def test_an_empty_gateway_group_is_refused() -> None:
    errors = fleet_settings_errors([], [], {})
    assert errors and "atlas_gateways is an empty group" in errors[0]
    assert fleet_settings_errors([], None, {}) == []


def test_router_port_clashing_with_an_instance_port_on_a_gateway_node_is_refused() -> None:
    node = {"inventory_hostname": "atlas-01", "vllm_port": 8000, "vllm_instances": 2, "vllm_router_port": 8001}
    errors = fleet_settings_errors([node], [node], {"vllm_router_port": 30000, "vllm_router_prometheus_port": 29000})
    assert errors == ["atlas-01: vllm_router_port is 8001, a port of this node's vLLM instances ([8000, 8001]); "
                      "a gateway that is also a node needs a vllm_router_port no instance uses"]
    other = {"inventory_hostname": "atlas-gw-01", "vllm_router_port": 8000}
    assert fleet_settings_errors([node], [other], {}) == []


def test_the_https_port_clashing_with_an_instance_port_on_a_gateway_node_is_refused() -> None:
    node = {"inventory_hostname": "atlas-01", "vllm_port": 8443}
    errors = fleet_settings_errors([node], [node], {"vllm_router_port": 30000, "vllm_gateway_port": 8443})
    assert errors == ["atlas-01: vllm_gateway_port is 8443, a port of this node's vLLM instances ([8443]); "
                      "a gateway that is also a node needs a vllm_gateway_port no instance uses"]


def test_the_fleet_endpoint_is_the_gateways_https_port() -> None:
    gateways = [{"inventory_hostname": "gw-1", "ansible_host": "10.0.0.201"},
                {"inventory_hostname": "gw-2.example", "vllm_gateway_port": 443}]
    assert fleet_endpoints(gateways) == ["https://10.0.0.201:8443", "https://gw-2.example:443"]


def test_rollout_timings_must_be_whole_seconds() -> None:
    node = {"inventory_hostname": "atlas-01", "atlas_rolling_pause": "soon", "atlas_drain_timeout": 60}
    assert fleet_settings_errors([node], None, {}) == [
        "atlas-01: atlas_rolling_pause is 'soon'; it must be a whole number of seconds, 0 or more"]
