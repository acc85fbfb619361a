# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""The options of module vllm_health: its argument spec (documented in the module) and the checks the spec
cannot state, made before any request is sent. The checks raise ValueError with the message the task fails with.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from ansible_collections.atlas.vllm.plugins.module_utils.vllm_probe import (
    INSTANCE_OPTIONS,
    build_chat_request,
    parse_url,
)

ARGUMENT_SPEC: dict[str, Any] = {
    "instances": {
        "type": "list",
        "elements": "dict",
        "required": True,
        "options": {
            **INSTANCE_OPTIONS,
            "served_model_name": {"type": "str"},
            "container": {"type": "str"},
            "container_baseline": {
                "type": "dict",
                "options": {"restart_count": {"type": "int"}, "started_at": {"type": "str"}},
            },
        },
    },
    "api_key": {"type": "str", "no_log": True},
    "wait_seconds": {"type": "float", "default": 0},
    "poll_interval": {"type": "float", "default": 0.5},
    "request_timeout": {"type": "float", "default": 5},
    "docker_timeout": {"type": "int", "default": 30},
    "validate_certs": {"type": "bool", "default": True},
    "probe": {
        "type": "dict",
        "options": {
            "image_path": {"type": "path", "required": True},
            "prompt": {"type": "str", "default": "Describe this image in one sentence."},
            "system": {"type": "str", "default": "You are a helpful assistant."},
            # A count of tokens, not a secret.
            "max_tokens": {"type": "int", "default": 64, "no_log": False},
            "timeout": {"type": "float", "default": 120},
        },
    },
    "docker_executable": {"type": "str", "default": "docker"},
    "log_lines": {"type": "int", "default": 20},
}

# Handled by the action plugin on the controller, which never passes them on; the module accepts them only so that
# its argument spec and its documentation describe the same task.
ACTION_ARGUMENT_SPEC: dict[str, Any] = {
    "timeout": {"type": "float", "default": 600},
    "progress_interval": {"type": "float", "default": 10},
    "check_mode_skip": {"type": "bool", "default": True},
}


def check_inputs(params: dict[str, Any]) -> bytes | None:
    """Refuse values that cannot work; return the probe image's bytes (None without a probe)."""
    if params["poll_interval"] <= 0:
        raise ValueError(f"poll_interval must be greater than 0, got {params['poll_interval']}")
    if params["wait_seconds"] < 0:
        raise ValueError(f"wait_seconds must not be negative, got {params['wait_seconds']}")
    if params["request_timeout"] <= 0:
        raise ValueError(f"request_timeout must be greater than 0, got {params['request_timeout']}")
    if params["docker_timeout"] < 1:
        raise ValueError(f"docker_timeout must be at least 1 second, got {params['docker_timeout']}")
    if not params["instances"]:
        raise ValueError("instances is empty: there is nothing to check")
    names = [instance["name"] for instance in params["instances"]]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"instance names must be unique; repeated: {', '.join(duplicates)}")
    for instance in params["instances"]:
        try:
            parse_url(instance["url"])
        except ValueError as exc:
            raise ValueError(f"instance {instance['name']}: {exc}") from exc
    probe = params["probe"]
    if not probe:
        return None
    if probe["max_tokens"] < 1:
        raise ValueError(f"probe.max_tokens must be at least 1, got {probe['max_tokens']}")
    path = probe["image_path"]
    try:
        with open(path, "rb") as handle:
            image = handle.read()
        build_chat_request("check", image, probe["prompt"])
    except OSError as exc:
        raise ValueError(f"probe.image_path {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise ValueError(f"probe.image_path {path}: {exc}") from exc
    return image


def docker_path(params: dict[str, Any], which: Callable[[str], str | None]) -> str | None:
    """The container CLI to watch containers with; None when no instance names a container."""
    if not any(instance.get("container") for instance in params["instances"]):
        return None
    executable = params["docker_executable"]
    if os.path.sep in executable:
        if os.access(executable, os.X_OK):
            return executable
        raise ValueError(f"docker_executable {executable} is not an executable file")
    found = which(executable)
    if not found:
        raise ValueError(f"{executable} not found on PATH; it is needed to watch the containers")
    return found
