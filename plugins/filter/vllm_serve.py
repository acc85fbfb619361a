# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Build the `vllm serve` argv of an instance from structured settings.

``{{ settings | atlas.vllm.vllm_serve_argv }}`` -> ``['vllm', 'serve', '/root/.cache/...', '--port', '8000', ...]``

An argv list (never a shell line) reaches the container unchanged, so a value with spaces or quotes in
the inventory cannot turn into extra arguments. ``extra_args`` may not repeat a flag that a structured
setting already controls: two sources for one flag is how a nightly run starts serving something other
than what the inventory says.
"""

from __future__ import annotations

import json
from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.atlas.vllm.plugins.module_utils import vllm_flags
from ansible_collections.atlas.vllm.plugins.module_utils.vllm_flags import (
    JSON,
    KIND_ORDER,
    NEGATABLE,
    SWITCH,
    VALUE,
    controlled_flags,
    negated,
    settings_from_variables,
)


def _normalise(flag: str) -> str:
    # vLLM accepts both --max-model-len and --max_model_len; compare them as one.
    return flag.split("=", 1)[0].replace("_", "-")


def _written(kind: str, flag: str, value: Any) -> list[str]:
    if kind == VALUE:
        return [flag, str(value)] if value is not None and value != "" else []
    if kind == JSON:
        return [flag, json.dumps(value, separators=(",", ":"), sort_keys=True)] if value else []
    if kind == SWITCH:
        return [flag] if value else []
    if kind == NEGATABLE:
        return [] if value is None else [flag if value else negated(flag)]
    raise AnsibleFilterError(f"unknown flag kind {kind!r} of {flag}")


def vllm_serve_argv(settings: dict[str, Any]) -> list[str]:
    if not isinstance(settings, dict) or not settings.get("model_path"):
        raise AnsibleFilterError(f"vllm_serve_argv needs a dict with model_path, got {settings!r}")
    argv = ["vllm", "serve", str(settings["model_path"])]
    for kind in KIND_ORDER:
        for row in vllm_flags.FLAGS:
            if row.kind == kind:
                argv += _written(kind, row.flag, settings.get(row.key))
    extra = settings.get("extra_args") or []
    if not isinstance(extra, list) or not all(isinstance(arg, (str, int, float)) for arg in extra):
        raise AnsibleFilterError(f"vllm_extra_args must be a list of strings, got {extra!r}")
    clashes = sorted({_normalise(str(arg)) for arg in extra if str(arg).startswith("--")} & controlled_flags())
    if clashes:
        raise AnsibleFilterError(
            f"vllm_extra_args repeats {', '.join(clashes)}, which the role sets from its own variables "
            f"(vllm_extra_args is {extra!r}); set the matching vllm_* variable instead")
    return argv + [str(arg) for arg in extra]


def vllm_serve_settings(values: dict[str, Any]) -> dict[str, Any]:
    """The values of the flag variables (lookup ``atlas.vllm.vllm_serve_values``), keyed as vllm_serve_argv reads
    them."""
    try:
        return settings_from_variables(values)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    def filters(self) -> dict:
        return {"vllm_serve_argv": vllm_serve_argv, "vllm_serve_settings": vllm_serve_settings}
