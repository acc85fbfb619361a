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

# Structured setting -> the vLLM 0.11.0 flag it becomes (value flags).
VALUE_FLAGS = {
    "served_model_name": "--served-model-name",
    "host": "--host",
    "port": "--port",
    "tensor_parallel_size": "--tensor-parallel-size",
    "max_model_len": "--max-model-len",
    "max_num_batched_tokens": "--max-num-batched-tokens",
    "max_num_seqs": "--max-num-seqs",
    "quantization": "--quantization",
    "dtype": "--dtype",
    "gpu_memory_utilization": "--gpu-memory-utilization",
}
JSON_FLAGS = {"additional_config": "--additional-config", "limit_mm_per_prompt": "--limit-mm-per-prompt"}
SWITCH_FLAGS = {"async_scheduling": "--async-scheduling", "trust_remote_code": "--trust-remote-code"}


def _normalise(flag: str) -> str:
    # vLLM accepts both --max-model-len and --max_model_len; compare them as one.
    return flag.split("=", 1)[0].replace("_", "-")


def _controlled_flags() -> set[str]:
    flags = set(VALUE_FLAGS.values()) | set(JSON_FLAGS.values()) | set(SWITCH_FLAGS.values())
    return flags | {"--enable-prefix-caching", "--no-enable-prefix-caching", "--api-key"}


def vllm_serve_argv(settings: dict[str, Any]) -> list[str]:
    if not isinstance(settings, dict) or not settings.get("model_path"):
        raise AnsibleFilterError(f"vllm_serve_argv needs a dict with model_path, got {settings!r}")
    argv = ["vllm", "serve", str(settings["model_path"])]
    for key, flag in VALUE_FLAGS.items():
        value = settings.get(key)
        if value is not None and value != "":
            argv += [flag, str(value)]
    for key, flag in JSON_FLAGS.items():
        value = settings.get(key)
        if value:
            argv += [flag, json.dumps(value, separators=(",", ":"), sort_keys=True)]
    for key, flag in SWITCH_FLAGS.items():
        if settings.get(key):
            argv.append(flag)
    prefix_caching = settings.get("enable_prefix_caching")
    if prefix_caching is not None:
        argv.append("--enable-prefix-caching" if prefix_caching else "--no-enable-prefix-caching")
    extra = settings.get("extra_args") or []
    if not isinstance(extra, list) or not all(isinstance(arg, (str, int, float)) for arg in extra):
        raise AnsibleFilterError(f"vllm_extra_args must be a list of strings, got {extra!r}")
    clashes = sorted({_normalise(str(arg)) for arg in extra if str(arg).startswith("--")} & _controlled_flags())
    if clashes:
        raise AnsibleFilterError(
            f"vllm_extra_args repeats {', '.join(clashes)}, which the role sets from its own variables "
            f"(vllm_extra_args is {extra!r}); set the matching vllm_* variable instead")
    return argv + [str(arg) for arg in extra]


class FilterModule:
    def filters(self) -> dict:
        return {"vllm_serve_argv": vllm_serve_argv}
