# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""The HBM budget vLLM-Ascend v0.11.0rc1 gives an instance on each of its NPUs, checked before it starts.

vllm-ascend v0.11.0rc1 (``NPUWorker.determine_available_memory``) sizes the KV cache as
``total HBM x gpu_memory_utilization - peak``, where the peak counts every allocation on the NPU that is not the
engine's own tensors (the driver's reservation and any other process) on top of the weights and activations.
So before any activation is known, an NPU whose ``total x utilization - HBM already used`` cannot hold the
instance's share of the weights plus the KV cache of one ``max_model_len`` request will fail to start
(``No available memory for the cache blocks`` or ``... KV cache is needed, which is larger than the available
KV cache memory``). The check is a lower bound on the need: it never refuses an instance that would start.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible_collections.atlas.vllm.plugins.module_utils.npu_smi import chips_per_npu, device_logic_id

MIB = 1 << 20
# vLLM's --gpu-memory-utilization default.
VLLM_DEFAULT_UTILIZATION = 0.9
# Bytes per element of the KV cache for the model's dtype (the cache is kept in the model's dtype by default).
_DTYPE_BYTES = {"bfloat16": 2, "float16": 2, "half": 2, "float32": 4, "float": 4}


def _text_config(config: dict[str, Any]) -> dict[str, Any]:
    """Multimodal configs (Qwen2.5-VL) keep the language model's shape at the top or under text_config."""
    text = config.get("text_config")
    return {**config, **text} if isinstance(text, dict) else config


def kv_bytes_per_token(config: dict[str, Any], tensor_parallel_size: int) -> int:
    """KV cache bytes one token takes on one NPU of a tensor-parallel group (keys and values, every layer)."""
    text = _text_config(config)
    layers = int(text["num_hidden_layers"])
    heads = int(text["num_attention_heads"])
    kv_heads = int(text.get("num_key_value_heads") or heads)
    head_dim = int(text.get("head_dim") or int(text["hidden_size"]) // heads)
    dtype = str(text.get("torch_dtype") or config.get("torch_dtype") or "bfloat16")
    # Fewer KV heads than ranks: each rank keeps a copy of one head.
    kv_heads_per_rank = max(1, kv_heads // max(1, tensor_parallel_size))
    return 2 * layers * kv_heads_per_rank * head_dim * _DTYPE_BYTES.get(dtype, 2)


def _process_devices(devices: list[dict[str, Any]]) -> Callable[[dict[str, Any]], int]:
    """The logic id of the NPU chip an npu-smi process row sits on."""
    chips = chips_per_npu(devices)
    logic = {(int(d["npu_id"]), int(d.get("chip_id") or 0)): device_logic_id(d, chips) for d in devices}

    def device_of(process: dict[str, Any]) -> int:
        key = (int(process["npu_id"]), int(process.get("chip_id") or 0))
        return logic.get(key, key[0] * chips + key[1])

    return device_of


def holders_by_device(devices: list[dict[str, Any]], processes: list[dict[str, Any]],
                      ours: set[int] | None = None) -> dict[int, list[str]]:
    """Logic id -> "pid N (name) M MB" of each process npu-smi lists on it, leaving out ours."""
    device_of = _process_devices(devices)
    holders: dict[int, list[str]] = {}
    for process in processes:
        if int(process["pid"]) in (ours or set()):
            continue
        holders.setdefault(device_of(process), []).append(
            f"pid {process['pid']} ({process.get('name') or '?'}) {process.get('memory_mb')} MB")
    return holders


def hbm_by_device(devices: list[dict[str, Any]], processes: list[dict[str, Any]] | None = None,
                  ours: set[int] | None = None) -> dict[int, tuple[int, int]]:
    """Logic id -> (total MB, used MB) from npu_smi_info's devices; chips without HBM figures are left out.

    HBM of processes in ``ours`` (host pids of our own serving containers) counts as free: those containers are
    replaced or stopped before an instance starts on their NPUs."""
    chips = chips_per_npu(devices)
    device_of = _process_devices(devices)
    freed: dict[int, int] = {}
    for process in processes or []:
        if int(process["pid"]) in (ours or set()):
            device = device_of(process)
            freed[device] = freed.get(device, 0) + int(process.get("memory_mb") or 0)
    hbm = {}
    for device in devices:
        if device.get("hbm_total_mb") is None or device.get("hbm_used_mb") is None:
            continue
        logic_id = device_logic_id(device, chips)
        hbm[logic_id] = (int(device["hbm_total_mb"]), max(int(device["hbm_used_mb"]) - freed.get(logic_id, 0), 0))
    return hbm


def budget_problems(
    instances: list[dict[str, Any]],
    hbm: dict[int, tuple[int, int]],
    config: dict[str, Any],
    weights_bytes: int,
    utilization: float,
    max_model_len: int,
) -> list[dict[str, Any]]:
    """One entry per planned NPU whose budget cannot hold the instance's weights and one request's KV cache."""
    problems = []
    for instance in instances:
        devices = [int(device) for device in instance["devices"]]
        tp = max(1, len(devices))
        weights_mb = weights_bytes / tp / MIB
        kv_mb = max_model_len * kv_bytes_per_token(config, tp) / MIB
        for device in devices:
            if device not in hbm:
                continue
            total_mb, used_mb = hbm[device]
            budget_mb = utilization * total_mb - used_mb
            if budget_mb < weights_mb + kv_mb:
                problems.append({
                    "instance": instance["name"],
                    "device": device,
                    "total_mb": total_mb,
                    "used_mb": used_mb,
                    "budget_mb": int(budget_mb),
                    "weights_mb": int(round(weights_mb)),
                    "kv_mb": int(round(kv_mb)),
                })
    return problems


def problem_line(problem: dict[str, Any], utilization: float, max_model_len: int, holders: list[str]) -> str:
    held = f" (held by {', '.join(holders)})" if holders else ""
    return (
        f"{problem['instance']} on NPU {problem['device']}: vLLM's budget there is gpu_memory_utilization "
        f"{utilization:g} x {problem['total_mb']} MB - {problem['used_mb']} MB already used{held} = "
        f"{problem['budget_mb']} MB, below the {problem['weights_mb']} MB of weights plus {problem['kv_mb']} MB of "
        f"KV cache for max_model_len {max_model_len} it needs there before any activation"
    )
