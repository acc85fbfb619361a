# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Reshape serving data between the vllm role, the vllm_health module, the results records and the summary.

``{{ endpoint | atlas.vllm.vllm_health_instance }}``                -> an O(instances) entry of vllm_health
``{{ health.instances | atlas.vllm.vllm_instance_records(endpoints, images) }}`` -> what the fleet report keeps
``{{ hostvars_list | atlas.vllm.endpoint_table }}``                  -> the endpoint table printed after deploy
"""

from __future__ import annotations

from typing import Any

from ansible_collections.atlas.vllm.plugins.filter.docker_image import image_digest


def vllm_health_instance(endpoint: dict[str, Any]) -> dict[str, Any]:
    # The health check runs on the node itself, so it uses the loopback URL; the container is named
    # after the instance, which lets a crash be reported as soon as it happens.
    return {"name": endpoint["name"], "url": endpoint["local_url"], "container": endpoint["name"],
            "served_model_name": endpoint.get("served_model_name")}


def vllm_instance_records(health: list[dict[str, Any]], endpoints: list[dict[str, Any]],
                          images: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """One record per planned instance; ``images`` (docker_image_info's ``images``) gives the registry digests
    of the image each container runs, so a report says which build served, whatever the tag names since."""
    by_name = {item.get("name"): item for item in health or []}
    digests = {image.get("Id"): sorted({image_digest(d) for d in image.get("RepoDigests") or []})
               for image in images or []}
    records = []
    for endpoint in endpoints:
        seen = by_name.get(endpoint["name"], {})
        probe = seen.get("probe") or {}
        container = seen.get("container") or {}
        records.append({
            "name": endpoint["name"], "url": endpoint["url"], "devices": endpoint["devices"],
            "port": endpoint["port"], "served_model_name": endpoint.get("served_model_name"),
            "state": seen.get("state", "unknown"), "ready": bool(seen.get("ready")),
            "time_to_ready_s": seen.get("time_to_ready_s"), "max_model_len": seen.get("max_model_len"),
            "probe_answer": probe.get("answer"), "probe_latency_s": probe.get("latency_s"),
            "probe_usage": probe.get("usage"),
            "image": container.get("image"), "image_id": container.get("image_id"),
            "image_digests": digests.get(container.get("image_id"), []),
        })
    return records


def endpoint_table(hosts: list[dict[str, Any]]) -> list[str]:
    header = f"{'node':<12} {'instance':<10} {'endpoint':<28} {'NPUs':<8} {'state':<8} {'ready after':>11}  answer"
    lines = [header]
    for host in hosts:
        health = {i.get("name"): i for i in (host.get("vllm_gate") or {}).get("instances", [])}
        for endpoint in host.get("vllm_endpoints") or []:
            seen = health.get(endpoint["name"], {})
            ready_after = seen.get("time_to_ready_s")
            answer = ((seen.get("probe") or {}).get("answer") or "").replace("\n", " ")
            lines.append(f"{host.get('inventory_hostname', '?'):<12} {endpoint['name']:<10} {endpoint['url']:<28} "
                         f"{','.join(str(d) for d in endpoint['devices']):<8} {seen.get('state', 'unknown'):<8} "
                         f"{'-' if ready_after is None else f'{ready_after:.1f}s':>11}  {answer[:60]}")
    return lines


def identity_table(facts: dict[str, dict[str, Any]]) -> list[str]:
    """One line per node (sorted) with its OS and machine identity, from each node's ansible_facts."""
    row = "{:<12} {:<14} {:<10} {:<8} {:<8} {}"
    lines = [row.format("node", "distribution", "version", "family", "arch", "machine id")]
    for node in sorted(facts):
        f = facts[node] or {}
        lines.append(row.format(node, f.get("distribution"), f.get("distribution_version"), f.get("os_family"),
                                f.get("architecture"), f.get("machine_id")))
    return lines


class FilterModule:
    def filters(self) -> dict:
        return {"vllm_health_instance": vllm_health_instance, "vllm_instance_records": vllm_instance_records,
                "endpoint_table": endpoint_table, "identity_table": identity_table}
