# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Describe the container of one planned vLLM instance.

``{{ plan | map('atlas.vllm.vllm_container_spec', common, settings) | list }}`` -> one dict per instance with
exactly the options the vllm role hands to ``community.docker.docker_container``:
``{name, port, image, restart_policy, network_mode, published_ports, shm_size, devices, volumes, env, labels,
command}``.
``{{ specs | atlas.vllm.vllm_spec_changes(inspects, secrets) }}`` -> what each container would change, secrets
redacted (the ``--diff`` view of containers whose task hides its arguments for a secret).

The dict is also what the node keeps as the instance's current settings, so a failed rolling change can
restore the previous container exactly, option for option.
"""

from __future__ import annotations

from typing import Any

from ansible.module_utils.common.text.formatters import human_to_bytes
from ansible_collections.atlas.vllm.plugins.filter.vllm_serve import vllm_serve_argv
from ansible_collections.atlas.vllm.plugins.module_utils.redact import redact

# Labels our own tooling reads back: the instance a container serves and the NPUs it holds.
INSTANCE_LABEL = "io.atlas-vllm.instance"
DEVICES_LABEL = "io.atlas-vllm.devices"


def vllm_container_spec(instance: dict[str, Any], common: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    devices = [int(device) for device in instance["devices"]]
    port = int(instance["port"])
    bridge = common["network_mode"] != "host"
    return {
        "name": instance["name"],
        "port": port,
        "image": common["image"],
        "restart_policy": common["restart_policy"],
        "network_mode": common["network_mode"],
        # On the host network the server binds the node's port itself; a bridge needs it published.
        "published_ports": [f"{port}:{port}"] if bridge else [],
        "shm_size": common["shm_size"],
        "devices": [f"/dev/davinci{device}" for device in devices] + list(common["control_devices"]),
        "volumes": list(common["volumes"]),
        "env": {**{str(key): str(value) for key, value in common["env"].items()},
                # The instance's own HCCL listener range (the plan spaces them and refuses overlaps).
                **({"HCCL_IF_BASE_PORT": str(instance["hccl_base_port"])} if "hccl_base_port" in instance else {})},
        "labels": {common["label"]: "true", INSTANCE_LABEL: instance["name"],
                   DEVICES_LABEL: ",".join(str(device) for device in devices)},
        "command": vllm_serve_argv({**settings, "port": port}),
    }


def vllm_container_spec_from_inspect(inspect: dict[str, Any]) -> dict[str, Any]:
    """The same description, read back from a running container (``docker inspect``, as docker_container_info
    returns it): what the container really runs, whichever run or version of the role started it."""
    config = inspect.get("Config") or {}
    host = inspect.get("HostConfig") or {}
    labels = dict(config.get("Labels") or {})
    bindings = host.get("PortBindings") or {}
    published = [f"{(binds or [{}])[0].get('HostPort') or port.split('/')[0]}:{port.split('/')[0]}"
                 for port, binds in sorted(bindings.items())]
    env = dict(item.split("=", 1) for item in config.get("Env") or [] if "=" in item)
    command = list(config.get("Cmd") or [])
    port = _flag(command, "--port")
    return {
        "name": str(inspect.get("Name", "")).lstrip("/"),
        "port": int(port) if port and str(port).isdigit() else None,
        "image": config.get("Image"),
        "restart_policy": (host.get("RestartPolicy") or {}).get("Name") or "no",
        "network_mode": host.get("NetworkMode") or "default",
        "published_ports": published,
        "shm_size": str(host.get("ShmSize")) if host.get("ShmSize") else None,
        "devices": [device["PathOnHost"] for device in host.get("Devices") or []],
        "volumes": list(host.get("Binds") or []),
        "env": env,
        "labels": labels,
        "command": command,
    }


def vllm_spec_changes(specs: list[dict[str, Any]], inspects: list[dict[str, Any]],
                      secrets: Any = None) -> list[dict[str, Any]]:
    """Per container description: ``{name, state: new|changed|same, changes: {option: {before, after}}}``, every
    secret redacted. ``inspects`` are the running containers (docker_container_info's ``container``); the
    environment is compared on the variables the description sets (the image adds its own), and sizes, mount and
    option spellings are compared as docker means them."""
    running = {spec["name"]: spec for spec in map(vllm_container_spec_from_inspect, [i for i in inspects or [] if i])}
    changes = []
    for spec in specs:
        current = running.get(spec["name"])
        if current is None:
            changes.append({"name": spec["name"], "state": "new", "changes": {}})
            continue
        found = {option: {"before": before, "after": after}
                 for option, before, after in _compared(current, spec) if before != after}
        changes.append({"name": spec["name"], "state": "changed" if found else "same", "changes": found})
    return redact(changes, secrets)


def _compared(current: dict[str, Any], spec: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    pairs = [(option, current.get(option), spec.get(option))
             for option in ("image", "restart_policy", "network_mode", "command")]
    pairs += [("published_ports", sorted(current["published_ports"]), sorted(spec["published_ports"])),
              ("devices", sorted(current["devices"]), sorted(spec["devices"])),
              ("volumes", sorted(map(_bind, current["volumes"])), sorted(map(_bind, spec["volumes"]))),
              ("shm_size", _bytes(current["shm_size"]), _bytes(spec["shm_size"])),
              ("labels", {key: current["labels"].get(key) for key in spec["labels"]}, spec["labels"])]
    env = spec["env"]
    pairs += [(f"env.{key}", current["env"].get(key), env[key]) for key in sorted(env)]
    return pairs


def _bind(volume: str) -> str:
    """host:container[:mode] as docker means it: no trailing slashes, rw when no mode is given."""
    parts = volume.split(":")
    paths = [part.rstrip("/") or "/" for part in parts[:2]]
    return ":".join(paths + [parts[2] if len(parts) > 2 else "rw"])


def _bytes(size: Any) -> int | None:
    if size in (None, ""):
        return None
    return human_to_bytes(str(size)) if not str(size).isdigit() else int(size)


def _flag(command: list[str], flag: str) -> str | None:
    return next((str(command[i + 1]) for i, arg in enumerate(command[:-1]) if arg == flag), None)


def vllm_spec_local_instance(spec: dict[str, Any]) -> dict[str, Any]:
    """The instance of a container description as the node itself reaches it (for the in-flight check)."""
    return {"name": spec["name"], "url": f"http://127.0.0.1:{spec['port']}"}


def vllm_spec_urls(specs: list[dict[str, Any]], address: str) -> list[str]:
    """The URLs of container descriptions as the gateways reach them (the node's inventory address)."""
    return [f"http://{address}:{spec['port']}" for spec in specs]


def vllm_spec_health_instance(spec: dict[str, Any]) -> dict[str, Any]:
    """A vllm_health instance entry for a container description (the gate of a rollback)."""
    return {**vllm_spec_local_instance(spec), "container": spec["name"],
            "served_model_name": _flag(spec.get("command") or [], "--served-model-name")}


def vllm_container_outcome(result: dict[str, Any], secrets: Any = None) -> dict[str, Any]:
    """One loop result over __vllm_spec as the role publishes it: the container, whether it changed (or would, in
    check mode) and its diff (with --diff; empty when the task only reported the start). The diff is the module's
    own, which Ansible keeps in the registered result even when the task is no_log: every secret is redacted."""
    spec = result.get("__vllm_spec") or {}
    return {"name": spec.get("name"), "changed": bool(result.get("changed")),
            "diff": redact(result.get("diff") or {}, secrets)}


class FilterModule:
    def filters(self) -> dict:
        return {"vllm_container_spec": vllm_container_spec,
                "vllm_container_spec_from_inspect": vllm_container_spec_from_inspect,
                "vllm_spec_local_instance": vllm_spec_local_instance, "vllm_spec_urls": vllm_spec_urls,
                "vllm_spec_health_instance": vllm_spec_health_instance,
                "vllm_container_outcome": vllm_container_outcome, "vllm_spec_changes": vllm_spec_changes}
