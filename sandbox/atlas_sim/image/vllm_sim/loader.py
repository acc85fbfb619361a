"""Engine-side start-up: opening NPUs, loading weights and sizing the KV cache against the driver's HBM state.

Memory model per device (MB): the weights take `weight_bytes / tp`; profiling peaks at 1 GiB plus activations for
max_num_batched_tokens; vLLM then claims gpu_memory_utilization x the HBM free at start (what npu-smi shows for
the process). Less free HBM than the weights need fails with torch_npu's out-of-memory error; a budget that leaves
too little KV cache for one max_model_len request fails with vLLM's KV-cache ValueError.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from vllm_sim.config_checks import Failure
from vllm_sim.driver import Device, DriverState
from vllm_sim.modelinfo import ModelInfo, gib
from vllm_sim.tracebacks import CORRUPT, INIT_DEVICE, KV_CACHE, LOAD_MODEL, TO_DEVICE

MIB = 1 << 20
BLOCK_SIZE = 128  # vllm-ascend's default KV block size


def _acl_stamp() -> str:
    return time.strftime("%Y-%m-%d-%H:%M:%S")


def set_device_error(pid: int, code: int, rank: int, reason: str, extra: list[str]) -> str:
    lines = [
        "RuntimeError: Initialize:build/CMakeFiles/torch_npu.dir/compiler_depend.ts:146 NPU function error: "
        f"c10_npu::SetDevice(device_id_), error code is {code}",
        f"[ERROR] {_acl_stamp()} (PID:{pid}, Device:-1, RankID:-1) ERR00100 PTA call acl api failed",
        *extra,
        f"EE1001: [PID: {pid}] {_acl_stamp()}.000.000 The argument is invalid.Reason: {reason}",
        "        Solution: 1.Check the input parameter range of the function. 2.Check the function invocation "
        "relationship.",
        "        TraceBack (most recent call last):",
        f"        open device {rank} failed, runtime result = {code}."
        "[FUNC:ReportCallError][FILE:log_inner.cpp][LINE:161]",
    ]
    return "\n".join(lines)


def open_devices(state: DriverState, runtime: list[int], world: int, pid: int, rt_env: str | None) -> Failure | None:
    """torch.npu.set_device for ranks 0..world-1, as each worker does at init_device."""
    for rank in range(world):
        if rank >= len(runtime):
            if rt_env:
                reason = f"Set visible device failed, invalid device={rank}, input visible devices:{rt_env}"
            else:
                reason = (
                    f"Set device failed, invalid device, set device={rank}, valid device range is [0, {len(runtime)})"
                )
            extra = ["[Error]: Invalid device ID.", "        Check whether the device ID is valid."]
            return Failure(INIT_DEVICE, set_device_error(pid, 107001, rank, reason, extra))
        dev = state.devices[runtime[rank]]
        if not dev.present or dev.health == "Critical":
            extra = [
                "[Error]: Failed to start the device.",
                "        Rectify the fault based on the error information in the ascend log.",
            ]
            reason = f"Failed to open device, retCode=0x7020014, deviceId={rank}."
            return Failure(INIT_DEVICE, set_device_error(pid, 507033, rank, reason, extra))
    return None


@dataclass
class MemoryPlan:
    weights_mb: float
    budget_mb: int
    kv_tokens: int
    kv_gib: float


def plan_memory(
    devices: list[Device], info: ModelInfo, tp: int, util: float, batched: int, max_model_len: int
) -> tuple[MemoryPlan | None, Failure | None]:
    weights_mb = info.weight_bytes / tp / MIB
    activation_mb = 1024 + batched * info.hidden_size * 2 * 24 / MIB
    tightest = min(devices, key=lambda d: d.hbm_free_mb)
    free_mb = tightest.hbm_free_mb
    if free_mb < weights_mb + 512:
        return None, Failure(LOAD_MODEL + TO_DEVICE, _oom(devices.index(tightest), tightest, weights_mb, free_mb))
    # vllm-ascend v0.11.0rc1 NPUWorker.determine_available_memory: total x gpu_memory_utilization minus the peak,
    # and the peak counts every allocation that is not the engine's (the driver's share, other processes).
    budget_mb = int(min(util * d.hbm_total_mb - d.hbm_used_mb for d in devices))
    kv_mb = budget_mb - weights_mb - activation_mb
    if kv_mb <= 0:
        return None, Failure(
            KV_CACHE,
            "ValueError: No available memory for the cache blocks. Try increasing "
            "`gpu_memory_utilization` when initializing the engine.",
        )
    per_token = info.kv_bytes_per_token(tp)
    kv_tokens = int(kv_mb * MIB // per_token) // BLOCK_SIZE * BLOCK_SIZE
    if kv_tokens < max_model_len:
        needed = gib(max_model_len * per_token)
        available = gib(kv_mb * MIB)
        message = (
            f"ValueError: To serve at least one request with the models's max seq len ({max_model_len}), "
            f"({needed:.2f} GiB KV cache is needed, which is larger than the available KV cache memory "
            f"({available:.2f} GiB). Based on the available memory, the estimated maximum model length is "
            f"{kv_tokens}. Try increasing `gpu_memory_utilization` or decreasing `max_model_len` when initializing "
            "the engine."
        )
        return None, Failure(KV_CACHE, message)
    return MemoryPlan(weights_mb, budget_mb, kv_tokens, gib(kv_mb * MIB)), None


def _oom(rank: int, dev: Device, weights_mb: float, free_mb: int) -> str:
    capacity = gib((dev.hbm_total_mb - 3400) * MIB)
    allocated = max(gib(min(weights_mb * 0.6, free_mb * 0.95) * MIB), 0.01)
    free = gib(max(free_mb - min(weights_mb * 0.6, free_mb * 0.95), 0) * MIB)
    request = gib(max(weights_mb * 0.05, 256) * MIB)
    return (
        f"torch.OutOfMemoryError: NPU out of memory. Tried to allocate {request:.2f} GiB (NPU {rank}; "
        f"{capacity:.2f} GiB total capacity; {allocated:.2f} GiB already allocated; "
        f"{allocated:.2f} GiB current active; "
        f"{free:.2f} GiB free; {allocated + 0.02:.2f} GiB reserved in total by PyTorch) If reserved memory is >> "
        "allocated memory try setting max_split_size_mb to avoid fragmentation."
    )


def corrupt_weights(reason: str) -> Failure:
    return Failure(CORRUPT, f"safetensors_rust.SafetensorError: {reason}")
