# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""The `vllm serve` flags the vllm role controls: one row per flag, the only list of them.

Each row names the role variable that sets the flag, the settings key the argv builder reads, the vLLM 0.11.0
flag and how the value is written. The variable is documented, typed and defaulted in
roles/vllm/meta/argument_specs.yml only (lookup atlas.vllm.vllm_serve_values applies the spec's default). The
argv builder, the settings the role collects for it, the flags that ``vllm_extra_args`` may not repeat and the
variables the controller validates all come from this table.
"""

from __future__ import annotations

from dataclasses import dataclass

VALUE = "value"  # --flag VALUE, left out when the value is null or ""
JSON = "json"  # --flag '{"compact":"json"}', left out when empty
SWITCH = "switch"  # --flag when true, nothing when false
NEGATABLE = "negatable"  # --flag when true, --no-flag when false, nothing when null (vLLM's own default)

# Written to the argv in this order of kinds, each kind in table order (the order running containers carry).
KIND_ORDER = (VALUE, JSON, SWITCH, NEGATABLE)


@dataclass(frozen=True)
class Flag:
    key: str
    flag: str
    kind: str
    # None: set per instance by the plan, not by a role variable.
    variable: str | None


FLAGS: tuple[Flag, ...] = (
    Flag("served_model_name", "--served-model-name", VALUE, "vllm_served_model_name"),
    Flag("host", "--host", VALUE, "vllm_host"),
    Flag("port", "--port", VALUE, None),
    Flag("tensor_parallel_size", "--tensor-parallel-size", VALUE, "vllm_tensor_parallel_size"),
    Flag("max_model_len", "--max-model-len", VALUE, "vllm_max_model_len"),
    Flag("max_num_batched_tokens", "--max-num-batched-tokens", VALUE, "vllm_max_num_batched_tokens"),
    Flag("max_num_seqs", "--max-num-seqs", VALUE, "vllm_max_num_seqs"),
    Flag("quantization", "--quantization", VALUE, "vllm_quantization"),
    Flag("dtype", "--dtype", VALUE, "vllm_dtype"),
    Flag("gpu_memory_utilization", "--gpu-memory-utilization", VALUE, "vllm_gpu_memory_utilization"),
    Flag("additional_config", "--additional-config", JSON, "vllm_additional_config"),
    Flag("limit_mm_per_prompt", "--limit-mm-per-prompt", JSON, "vllm_limit_mm_per_prompt"),
    Flag("async_scheduling", "--async-scheduling", SWITCH, "vllm_async_scheduling"),
    Flag("trust_remote_code", "--trust-remote-code", SWITCH, "vllm_trust_remote_code"),
    Flag("enforce_eager", "--enforce-eager", SWITCH, "vllm_enforce_eager"),
    Flag("enable_prefix_caching", "--enable-prefix-caching", NEGATABLE, "vllm_enable_prefix_caching"),
)

# Set by the role from other sources: the API key travels in the environment (VLLM_API_KEY), never in the argv.
OTHER_CONTROLLED = ("--api-key",)


def negated(flag: str) -> str:
    return "--no-" + flag[2:]


def controlled_flags() -> set[str]:
    """Every flag the role writes itself, so vllm_extra_args may not repeat it."""
    flags = {row.flag for row in FLAGS} | {negated(row.flag) for row in FLAGS if row.kind == NEGATABLE}
    return flags | set(OTHER_CONTROLLED)


def role_variables() -> list[str]:
    """The role variables that set flags, in table order."""
    return [row.variable for row in FLAGS if row.variable]


def spec_defaults(options: dict) -> dict:
    """Variable -> the default its argument spec states (null when it states none), for every flag variable."""
    missing = [name for name in role_variables() if name not in options]
    if missing:
        raise ValueError(f"flag variables without an entry in roles/vllm/meta/argument_specs.yml: {', '.join(missing)}")
    return {name: options[name].get("default") for name in role_variables()}


def settings_from_variables(values: dict) -> dict:
    """Settings keys for the values of role_variables(), given by variable name."""
    missing = [name for name in role_variables() if not isinstance(values, dict) or name not in values]
    if missing:
        raise ValueError(f"expected a value for each flag variable; missing: {', '.join(missing)} (got {values!r})")
    return {row.key: values[row.variable] for row in FLAGS if row.variable}
