# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Plan the vLLM instances of one node: which NPUs and which port each instance gets.

``{{ vllm_instances | atlas.vllm.vllm_instance_plan(tp, healthy_devices, base_port) }}`` returns
``[{"name": "vllm-0", "devices": [0, 1], "port": 8000}, ...]``.

``{{ plan | atlas.vllm.vllm_hccl_ports(60000, env, inventory_hostname) }}`` adds each tensor-parallel
instance's HCCL listener range (``hccl_base_port``).

``vllm_instances`` is either a count (devices are taken in order from the healthy ones, ports counted
up from the base port) or a list of explicit instances ``{name, devices, port, hccl_base_port}`` (any key may be
left out and is then allocated). Overlapping devices or ports, devices that are not healthy, and a plan
that needs more NPUs than are healthy are refused with a message naming the variable.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError

# HCCL_IF_BASE_PORT: the first of the 16 host ports HCCL's listener takes, 1024-65520 (CANN environment reference).
HCCL_PORTS = 16
HCCL_LOWEST = 1024
HCCL_HIGHEST = 65520


def _fail(message: str) -> None:
    raise AnsibleFilterError(message)


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdigit():
        _fail(f"{what} must be a whole number, got {value!r}")
    return int(value)


def _explicit(instances: Any) -> list[dict]:
    if isinstance(instances, (int, str)) and not isinstance(instances, bool):
        count = _int(instances, "vllm_instances")
        if count < 1:
            _fail(f"vllm_instances must be at least 1, got {count}")
        return [{} for dummy in range(count)]
    if not isinstance(instances, list) or not instances or not all(isinstance(i, dict) for i in instances):
        _fail(f"vllm_instances must be a count or a non-empty list of {{name, devices, port}}, got {instances!r}")
    return [dict(item) for item in instances]


def _check_unique(plan: list[dict], key: str, describe) -> None:
    owner: dict = {}
    for instance in plan:
        for value in instance[key] if key == "devices" else [instance[key]]:
            if value in owner:
                _fail(f"vllm_instances: {describe(value)} is given to both {owner[value]} and {instance['name']}")
            owner[value] = instance["name"]


def vllm_instance_plan(instances: Any, tensor_parallel_size: Any, healthy_devices: list, base_port: Any,
                       name_prefix: str = "vllm") -> list[dict]:
    tp = _int(tensor_parallel_size, "vllm_tensor_parallel_size")
    if tp < 1:
        _fail(f"vllm_tensor_parallel_size must be at least 1, got {tp}")
    port = _int(base_port, "vllm_port")
    healthy = [_int(device, "a healthy device id") for device in healthy_devices]
    wanted = _explicit(instances)
    explicit_devices = {_int(d, "a device in vllm_instances") for item in wanted for d in item.get("devices", [])}
    free = [device for device in healthy if device not in explicit_devices]
    used_ports = {_int(item["port"], "a port in vllm_instances") for item in wanted if "port" in item}
    plan = []
    for index, item in enumerate(wanted):
        name = str(item.get("name") or f"{name_prefix}-{index}")
        if "devices" in item:
            devices = [_int(d, f"devices of {name}") for d in item["devices"]]
            if len(devices) != tp:
                _fail(f"vllm_instances: {name} has {len(devices)} devices {devices}, "
                      f"but vllm_tensor_parallel_size is {tp}")
        else:
            if len(free) < tp:
                needed = tp * len(wanted)
                _fail(f"vllm_instances: {len(wanted)} instance(s) x vllm_tensor_parallel_size {tp} need {needed} "
                      f"NPUs, but only {len(healthy)} are healthy ({healthy}); lower vllm_instances or "
                      "vllm_tensor_parallel_size, or repair the unhealthy NPUs")
            devices, free = free[:tp], free[tp:]
        if "port" in item:
            instance_port = _int(item["port"], f"port of {name}")
        else:
            while port in used_ports:
                port += 1
            instance_port = port
            used_ports.add(port)
        planned = {"name": name, "devices": devices, "port": instance_port}
        if "hccl_base_port" in item:
            planned["hccl_base_port"] = _int(item["hccl_base_port"], f"hccl_base_port of {name}")
        plan.append(planned)
    _check_unique(plan, "name", lambda value: f"the name {value}")
    _check_unique(plan, "devices", lambda value: f"NPU {value}")
    _check_unique(plan, "port", lambda value: f"port {value}")
    unhealthy = sorted({d for i in plan for d in i["devices"]} - set(healthy))
    if unhealthy:
        _fail(f"vllm_instances: NPU(s) {unhealthy} are not among the healthy devices {healthy}; "
              "choose healthy NPUs or repair these")
    return plan


def vllm_hccl_ports(plan: list[dict], base_port: Any, env: dict | None, host: str) -> list[dict]:
    """Give each tensor-parallel instance its own HCCL host listener range (HCCL_IF_BASE_PORT and the 15 ports
    after it; docs/field-failures.md row 1) and refuse ranges that overlap.

    A range comes from the instance's ``hccl_base_port`` in vllm_instances, else from HCCL_IF_BASE_PORT in
    vllm_env/vllm_extra_env (which gives every instance the same one), else ``base_port + 16 x index``. Instances
    on one NPU (tensor parallel 1) create no HCCL communicator and get none.
    """
    if all(len(instance["devices"]) < 2 for instance in plan):
        return plan
    base = _int(base_port, "vllm_hccl_base_port")
    forced = (env or {}).get("HCCL_IF_BASE_PORT")
    planned = []
    for index, instance in enumerate(plan):
        if "hccl_base_port" in instance:
            first, source = instance["hccl_base_port"], f"vllm_instances hccl_base_port of {instance['name']}"
        elif forced not in (None, ""):
            first, source = _int(forced, "HCCL_IF_BASE_PORT in vllm_env/vllm_extra_env"), "HCCL_IF_BASE_PORT"
        else:
            first, source = base + HCCL_PORTS * index, "vllm_hccl_base_port"
        if not HCCL_LOWEST <= first <= HCCL_HIGHEST:
            _fail(f"{host}: {instance['name']} would listen for HCCL from port {first} ({source}); HCCL takes "
                  f"{HCCL_LOWEST} to {HCCL_HIGHEST}")
        planned.append({**instance, "hccl_base_port": first, "hccl_source": source})
    for index, one in enumerate(planned):
        for other in planned[index + 1:]:
            shared = max(one["hccl_base_port"], other["hccl_base_port"])
            if shared < min(one["hccl_base_port"], other["hccl_base_port"]) + HCCL_PORTS:
                _fail(f"{host}: {one['name']} and {other['name']} would both listen for HCCL on port {shared} "
                      f"({one['name']}: {_span(one)} from {one['hccl_source']}; {other['name']}: {_span(other)} from "
                      f"{other['hccl_source']}); the second to start would fail with EJ0003 'Failed to bind the IP "
                      f"port'. Give each instance its own range {HCCL_PORTS} ports apart (vllm_instances "
                      "hccl_base_port), or leave HCCL_IF_BASE_PORT out of vllm_env/vllm_extra_env so that "
                      "vllm_hccl_base_port spaces them")
    return [{key: value for key, value in item.items() if key != "hccl_source"} for item in planned]


def _span(instance: dict) -> str:
    return f"{instance['hccl_base_port']}-{instance['hccl_base_port'] + HCCL_PORTS - 1}"


def vllm_endpoints(plan: list[dict], address: str, served_model_name: str) -> list[dict]:
    """The planned instances with the URLs the fleet reaches them at (the node's address) and the node itself
    reaches them at (loopback), and the model name clients ask for."""
    return [{**instance, "url": f"http://{address}:{instance['port']}",
             "local_url": f"http://127.0.0.1:{instance['port']}", "served_model_name": served_model_name}
            for instance in plan]


def _port_ranges(text: str) -> list[tuple[int, int]]:
    ranges = []
    for part in str(text or "").replace("\n", ",").split(","):
        part = part.strip()
        if not part:
            continue
        first, dummy, last = part.partition("-")
        try:
            ranges.append((int(first), int(last or first)))
        except ValueError as exc:
            raise AnsibleFilterError(f"vllm_reserved_ports: {part!r} is not a port or a port range") from exc
    return ranges


def vllm_reserved_ports(plan: list[dict], current: Any = "") -> str:
    """``net.ipv4.ip_local_reserved_ports`` holding what it holds now plus each planned HCCL range, written as
    the kernel prints it back (ascending, adjacent ranges merged), so an unchanged plan is an unchanged value."""
    ranges = _port_ranges(current) + [(item["hccl_base_port"], item["hccl_base_port"] + HCCL_PORTS - 1)
                                      for item in plan if "hccl_base_port" in item]
    merged: list[list[int]] = []
    for first, last in sorted(ranges):
        if merged and first <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], last)
        else:
            merged.append([first, last])
    return ",".join(str(first) if first == last else f"{first}-{last}" for first, last in merged)


class FilterModule:
    def filters(self) -> dict:
        return {"vllm_instance_plan": vllm_instance_plan, "vllm_hccl_ports": vllm_hccl_ports,
                "vllm_reserved_ports": vllm_reserved_ports,
                "vllm_endpoints": vllm_endpoints}
