# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Known causes of a vLLM-Ascend start-up failure, recognised in the crashed container's log, with what to do.

Each row is a message vLLM-Ascend v0.11.0rc1 (or the CANN runtime under it) prints for one failure that real fleets
hit; docs/field-failures.md gives the source of each. The health wait reports the first row whose pattern appears
in the log, so an operator reads the cause and the setting that fixes it instead of a traceback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Cause:
    name: str
    pattern: re.Pattern[str]
    cause: str
    action: str


CAUSES: tuple[Cause, ...] = (
    Cause(
        "graph_capture",
        # model_runner_v1.py logs this when capturing fails with the runtime's stream exhaustion (0x7020023).
        re.compile(r"ACLgraph sizes capture fail|ACLgraph has insufficient available streams"),
        "ACL graph capture at start-up ran out of NPU streams",
        "set vllm_enforce_eager: true to serve without graphs, or pass fewer capture sizes with "
        "vllm_extra_args ['--compilation-config', '{\"cudagraph_capture_sizes\": [...]}']; restarting as it is "
        "fails the same way",
    ),
    Cause(
        "hccl_port",
        re.compile(r"EJ0003.*Failed to bind the IP port|host nic listen start failed, port\[(\d+)\]"),
        "the HCCL host port range is taken by another tensor-parallel instance on this node",
        "give each instance its own HCCL_IF_BASE_PORT range (vllm_instances hccl_base_port, 16 ports apart)",
    ),
    Cause(
        "model_not_local",
        # With HF_HUB_OFFLINE (the role's default) the hub libraries refuse to look beyond the local caches; the
        # last one is vLLM's own wording when the lookup failed otherwise.
        re.compile(r"LocalEntryNotFoundError: Cannot find an appropriate cached snapshot folder"
                   r"|HFValidationError: Repo id must be in the form"
                   r"|Cannot find the requested files in the cached path and outgoing traffic has been disabled"
                   r"|Invalid repository ID or local directory specified"),
        "the model is not a directory with config.json on the node, and offline settings keep vLLM off the hub",
        "stage the weights on the node (model_weights role) and point vllm_model_path at that directory",
    ),
    Cause(
        "no_kv_cache",
        re.compile(r"No available memory for the cache blocks|KV cache is needed, which is larger than the available "
                   r"KV cache memory"),
        "the NPU has too little HBM left for the KV cache after the weights",
        "free HBM held by other processes, lower vllm_max_model_len or raise vllm_gpu_memory_utilization",
    ),
    Cause(
        "npu_out_of_memory",
        re.compile(r"torch\.OutOfMemoryError: NPU out of memory"),
        "the model's weights do not fit in the NPU's free HBM",
        "free HBM held by other processes, or spread the model over more NPUs (vllm_tensor_parallel_size)",
    ),
)


# The floor vllm-ascend's docs give the container's /dev/shm (PRs #3519, #3645), as the role enforces it.
SHM_FLOOR = 1024 ** 3
_ENGINE_DIED = re.compile(r"Engine core proc EngineCore_DP0 died unexpectedly")
_PYTHON_ERROR = re.compile(r"Traceback \(most recent call last\)|\b\w+(?:Error|Exception): ")


def recognise(lines: list[str], shm_size: int | None = None) -> dict[str, str] | None:
    """``{name, cause, action}`` of the first known cause found in the log lines, or None.

    An engine core that died without a Python error of its own while the container's /dev/shm is below the floor
    is the shared-memory failure of vllm-ascend #3513 (it core-dumps; no message names the cause).
    """
    text = "\n".join(lines)
    for row in CAUSES:
        if row.pattern.search(text):
            return {"name": row.name, "cause": row.cause, "action": row.action}
    if shm_size is not None and shm_size < SHM_FLOOR and _ENGINE_DIED.search(text) and not _PYTHON_ERROR.search(text):
        return {"name": "shm_small",
                "cause": f"the engine core died without an error of its own and /dev/shm is {shm_size // 1024 ** 2} MB",
                "action": "start the container with a larger /dev/shm (vllm_shm_size, at least 1g); Docker's "
                          "default of 64 MB gives out under concurrent image requests"}
    return None
