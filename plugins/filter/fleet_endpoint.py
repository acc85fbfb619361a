# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""The fleet endpoint: which wheels a gateway needs, which instances stand behind the router, what clients call.

``{{ hostvars[gw] | atlas.vllm.wheel_target }}``                 -> ``{name, python, platforms}`` for pip download
``{{ hosts | atlas.vllm.router_workers(ansible_check_mode) }}``  -> URLs of the instances that passed this run
``{{ gateways | atlas.vllm.fleet_endpoints(default_port) }}``    -> the fleet endpoint URLs (HTTPS), one per gateway
``{{ gateways | atlas.vllm.fleet_endpoint_lines(workers) }}``     -> the head of the endpoint table
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError

# Binary wheels of the router and its dependencies are built for these glibc baselines.
_MANYLINUX = ("manylinux_2_28", "manylinux_2_17", "manylinux2014", "manylinux_2_5", "manylinux1")


def wheel_target(host: dict[str, Any]) -> dict[str, Any]:
    """The pip download target of one gateway, from its gathered facts."""
    facts = host.get("ansible_facts") or {}
    python = facts.get("python") or {}
    version = python.get("version") or {}
    machine = facts.get("architecture")
    if not version or not machine:
        raise AnsibleFilterError(
            f"{host.get('inventory_hostname', '?')}: no Python or architecture facts; gather facts on the gateways "
            "before the vllm_router role runs")
    release = f"{version['major']}.{version['minor']}"
    return {"name": f"cp{version['major']}{version['minor']}-{machine}", "python": release,
            "platforms": [f"{tag}_{machine}" for tag in _MANYLINUX]}


def _passed(health: dict[str, Any]) -> list[str]:
    names = []
    for instance in (health or {}).get("instances") or []:
        if instance.get("ready") and not (instance.get("probe") or {}).get("error"):
            names.append(instance.get("name"))
    return names


def router_workers(hosts: list[dict[str, Any]], assume_ready: bool = False) -> list[str]:
    """URLs (as the gateways reach them) of the instances that passed their health gate and probe in this run.

    ``hosts`` are the hostvars of the nodes still in the play. With ``assume_ready`` (check mode, where the
    wait is skipped) every planned instance counts, to show what a real run would aim for.
    """
    urls = []
    for host in hosts:
        endpoints = host.get("vllm_endpoints") or []
        passed = None if assume_ready else set(_passed(host.get("vllm_gate") or {}))
        urls += [endpoint["url"] for endpoint in endpoints if passed is None or endpoint["name"] in passed]
    return sorted(set(urls))


def fleet_endpoints(gateways: list[dict[str, Any]], default_port: int = 8443) -> list[str]:
    """The URL clients use on each gateway: its inventory address and the proxy's HTTPS port (the router itself
    listens on the gateway's loopback)."""
    return [f"https://{gateway.get('ansible_host') or gateway.get('inventory_hostname')}:"
            f"{gateway.get('vllm_gateway_port', default_port)}" for gateway in gateways]


def fleet_endpoint_lines(gateways: list[dict[str, Any]], workers: list[str], default_port: int = 8443) -> list[str]:
    """The head of the endpoint table: the URL clients use, and the instances behind it."""
    if not gateways:
        return ["fleet endpoint: none (no atlas_gateways group); clients use the instance endpoints below", ""]
    lines = [f"fleet endpoint: {url} ({gw.get('inventory_hostname', '?')})"
             for url, gw in zip(fleet_endpoints(gateways, default_port), gateways, strict=True)]
    lines.append(f"behind it: {len(workers)} instance(s): {', '.join(workers) if workers else 'none'}")
    return [*lines, ""]


def _instance_ports(node: dict[str, Any]) -> list[int]:
    base = int(node.get("vllm_port", 8000))
    instances = node.get("vllm_instances", 1)
    if isinstance(instances, list):
        return [int(item.get("port", base + index)) for index, item in enumerate(instances) if isinstance(item, dict)]
    return list(range(base, base + int(instances)))


def fleet_settings_errors(nodes: list[dict[str, Any]], gateways: list[dict[str, Any]] | None,
                          defaults: dict[str, Any]) -> list[str]:
    """Fleet-endpoint settings a controller can refuse before any host is touched.

    ``nodes`` and ``gateways`` are hostvars (``gateways`` is None without an atlas_gateways group); ``defaults``
    holds the gateway roles' port defaults (vllm_router_port, vllm_router_prometheus_port, vllm_gateway_port):
    each port a gateway listens on.
    """
    errors: list[str] = []
    if gateways is not None and not gateways:
        errors.append("atlas_gateways is an empty group; add the gateway hosts to it, or remove the group to let "
                      "clients use the instance endpoints")
    node_names = {node.get("inventory_hostname") for node in nodes}
    for gateway in gateways or []:
        name = gateway.get("inventory_hostname")
        if name not in node_names:
            continue
        ports = _instance_ports(gateway)
        for variable in sorted(defaults):
            value = gateway.get(variable, defaults.get(variable))
            if str(value).isdigit() and int(value) in ports:
                errors.append(f"{name}: {variable} is {value}, a port of this node's vLLM instances ({ports}); "
                              f"a gateway that is also a node needs a {variable} no instance uses")
    for node in nodes:
        for variable in ("atlas_rolling_pause", "atlas_drain_timeout"):
            value = node.get(variable)
            if value is not None and (isinstance(value, bool) or not str(value).isdigit()):
                errors.append(f"{node.get('inventory_hostname')}: {variable} is {value!r}; it must be a whole "
                              "number of seconds, 0 or more")
    return errors


class FilterModule:
    def filters(self) -> dict:
        return {"wheel_target": wheel_target, "router_workers": router_workers, "fleet_endpoints": fleet_endpoints,
                "fleet_endpoint_lines": fleet_endpoint_lines,
                "fleet_settings_errors": fleet_settings_errors}
