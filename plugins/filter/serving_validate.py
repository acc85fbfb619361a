# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Validate a node's serving settings on the controller, before any host is contacted.

``{{ settings | atlas.vllm.serving_settings_errors(inventory_hostname) }}`` -> list of messages (empty when fine).

``settings`` holds the role settings the node's inventory sets (lookup ``atlas.vllm.role_options`` names them;
unset ones are absent and keep the roles' defaults). Types and choices are the roles' argument specs. A string
where a number or boolean is expected ("8192", "yes", "0.9", as ``-e key=value`` and INI inventories give every
value) is read as the roles' argument validation reads it, and the later checks see the converted value; a string
that does not convert ("8k", "maybe") is refused. Each message names the node, the variable, its value and the
rule, so an operator can fix the inventory without reading code. The same plan that the vllm role uses later
(devices and ports per instance) is computed here, so overlapping devices or ports are refused in seconds.
"""

from __future__ import annotations

import re
from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.atlas.vllm.plugins.filter.preflight_validate import RULES as PREFLIGHT_RULES
from ansible_collections.atlas.vllm.plugins.filter.preflight_validate import converts, readiness_settings
from ansible_collections.atlas.vllm.plugins.filter.vllm_plan import vllm_hccl_ports, vllm_instance_plan
from ansible_collections.atlas.vllm.plugins.filter.vllm_serve import vllm_serve_argv
from ansible_collections.atlas.vllm.plugins.plugin_utils.role_specs import (
    BOOLEAN_RULE,
    DIGITS_OK,
    NUMBER_OK,
    role_options,
    spec_value,
)

_MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
# Rules the argument specs cannot express: ranges of whole numbers, and choices that include null (a spec's
# choices refuse null, which these settings default to). Types and other choices come from the specs.
_RANGES = {
    "vllm_tensor_parallel_size": (1, 16),
    "vllm_npu_count": (1, 16),
    "vllm_port": (1, 65535),
    "vllm_hccl_base_port": (1024, 65520),
    "vllm_max_model_len": (1, 10_000_000),
    "vllm_max_num_batched_tokens": (1, 10_000_000),
    "vllm_max_num_seqs": (1, 100_000),
    "vllm_image_timeout": (1, 86_400),
}
_NULLABLE_CHOICES = {"vllm_quantization": (None, "ascend")}
# docker's size syntax (go-units RAMInBytes): a number, an optional binary unit, an optional "i" and "b".
_DOCKER_SIZE = re.compile(r"^(\d+(?:\.\d+)?) ?([kmgtp])?i?b?$", re.IGNORECASE)
# /dev/shm below this is refused: Docker's 64 MB default lets the engine core die under load (vllm-ascend #3513);
# the vllm-ascend docs pass --shm-size=1g since PR #3645 (docs/field-failures.md, row 2).
SHM_FLOOR_BYTES = 1 << 30


def docker_size_bytes(value: Any) -> int | None:
    """Bytes of a docker size such as '1g', '512m' or '2GiB'; None when it is not one."""
    match = _DOCKER_SIZE.match(str(value).strip()) if isinstance(value, (str, int)) and value != "" else None
    if not match:
        return None
    power = " kmgtp".index((match.group(2) or " ").lower())
    return int(float(match.group(1)) * (1024 ** power))


def _label_errors(settings: dict[str, Any], host: str) -> list[str]:
    """The serving role labels our containers with vllm_label; the NPU check must look for the same label, or it
    counts the HBM of our own containers as foreign. Both default to atlas_managed_label."""
    if "vllm_label" not in settings and "npu_driver_managed_label" not in settings:
        return []
    label = settings.get("vllm_label", settings.get("atlas_managed_label"))
    check = settings.get("npu_driver_managed_label", f"{settings.get('atlas_managed_label')}=true")
    if label is None or check == f"{label}=true":
        return []
    return [f"{host}: vllm_label is {label!r} but npu_driver_managed_label is {check!r}: the NPU check would count "
            "the HBM of our own containers as foreign; set atlas_managed_label instead (every role follows it)"]


def _type_rule(variable: str, spec: dict[str, Any]) -> str:
    """What a value of the variable's spec type (and range) looks like, for its message."""
    kind = spec.get("type", "str")
    if kind == "bool":
        return BOOLEAN_RULE
    default = spec.get("default")
    example = f", e.g. {default}" if isinstance(default, (int, float)) and not isinstance(default, bool) else ""
    if kind == "float":
        return f"it must be a number{example} {NUMBER_OK}"
    low, high = _RANGES.get(variable, (None, None))
    within = f" from {low} to {high}" if low is not None else ""
    return f"it must be a whole number{within}{example} {DIGITS_OK}"


def serving_settings_errors(settings: dict[str, Any], host: str) -> list[str]:
    errors: list[str] = []

    def bad(variable: str, rule: str) -> None:
        errors.append(f"{host}: {variable} is {settings[variable]!r}; {rule}")

    # The readiness settings have rules of their own (the preflight's), with messages that name the usual mistake.
    readiness, readiness_errors = readiness_settings(settings, host)
    errors += readiness_errors
    options = role_options()
    # The settings as the roles read them: what every check below looks at.
    values = {**settings, **readiness}
    for variable in settings:
        if variable in PREFLIGHT_RULES:
            continue
        spec = options.get(variable) or {}
        kind = spec.get("type", "str")
        if not converts(settings[variable], kind):
            bad(variable, _type_rule(variable, spec))
            continue
        value = values[variable] = spec_value(settings[variable], kind)
        low, high = _RANGES.get(variable, (None, None))
        if kind == "int" and value is not None and low is not None and not low <= value <= high:
            bad(variable, _type_rule(variable, spec))
        elif kind in ("list", "dict") and value is not None and not isinstance(value, list if kind == "list" else dict):
            bad(variable, f"it must be a {'list' if kind == 'list' else 'mapping'}")
        choices = _NULLABLE_CHOICES.get(variable) or spec.get("choices")
        if choices and value not in choices:
            bad(variable, f"choose one of {', '.join(repr(c) for c in choices)}")
    if "vllm_shm_size" in settings:
        size = docker_size_bytes(values["vllm_shm_size"])
        if size is None:
            bad("vllm_shm_size", "it must be a docker size such as '1g' or '2048m'")
        elif size < SHM_FLOOR_BYTES:
            bad("vllm_shm_size", "the container's /dev/shm must be at least 1g: below it the engine core dies under "
                "concurrent multimodal load (Docker's default is 64m); set 1g or more")
    if "vllm_model" in settings and not _MODEL_ID.match(str(values["vllm_model"] or "")):
        bad("vllm_model", "it must be a model id like 'Qwen/Qwen2.5-VL-7B-Instruct'")
    errors += _label_errors(values, host)
    if values.get("vllm_image_source") == "archive" and not values.get("vllm_image_archive"):
        errors.append(f"{host}: vllm_image_source is 'archive' but vllm_image_archive is not set; "
                      "set it to the controller path of the image archive")
    if errors:
        # The plan below needs sound numbers; report the type errors first.
        return errors

    def setting(variable: str) -> Any:
        # What the node will run with: the inventory's value, else the default the role's spec states.
        return values[variable] if variable in values else options[variable].get("default")

    try:
        plan = vllm_instance_plan(setting("vllm_instances"), setting("vllm_tensor_parallel_size"),
                                  list(range(setting("vllm_npu_count"))), setting("vllm_port"))
        env = {**(setting("vllm_env") or {}), **(setting("vllm_extra_env") or {})}
        vllm_hccl_ports(plan, setting("vllm_hccl_base_port"), env, host)
        vllm_serve_argv({"model_path": "model", "extra_args": setting("vllm_extra_args")})
    except AnsibleFilterError as exc:
        errors.append(exc.message if exc.message.startswith(f"{host}: ") else f"{host}: {exc.message}")
    return errors


class FilterModule:
    def filters(self) -> dict:
        return {"serving_settings_errors": serving_settings_errors}
