"""Causes the health wait recognises in a crashed vLLM's log (module_utils/vllm_causes.py), from real messages."""

from __future__ import annotations

import pytest
from ansible_collections.atlas.vllm.plugins.module_utils.vllm_causes import recognise

# vllm-ascend v0.11.0rc1 model_runner_v1.py, as its FAQ (question 20) shows the log.
GRAPH_CAPTURE = [
    "ERROR 09-26 10:48:07 [model_runner_v1.py:3029] ACLgraph sizes capture fail: RuntimeError:",
    "ERROR 09-26 10:48:07 [model_runner_v1.py:3029] ACLgraph has insufficient available streams to capture the "
    "configured number of sizes.Please verify both the availability of adequate streams and the appropriateness of "
    "the configured size count.",
]
# vllm-ascend #405: the second of two tensor-parallel-4 processes on one machine.
HCCL_PORT = [
    "EJ0003: [PID: 159] 2025-03-26-17:01:02.816.428 Failed to bind the IP port. Reason: The IP address and port have "
    "been bound already.",
    "        host nic listen start failed, port[60000], return[11][FUNC:StartListenSocket][FILE:network_manager.cc]"
    "[LINE:1163]",
]
# vLLM 0.11.0 kv_cache_utils.py and the torch_npu allocator.
NO_CACHE = ["ValueError: No available memory for the cache blocks. Try increasing `gpu_memory_utilization` when "
            "initializing the engine."]
KV_TOO_SMALL = ["ValueError: To serve at least one request with the models's max seq len (128000), (6.84 GiB KV "
                "cache is needed, which is larger than the available KV cache memory (3.96 GiB)."]
OOM = ["torch.OutOfMemoryError: NPU out of memory. Tried to allocate 1.02 GiB (NPU 0; 60.96 GiB total capacity; "
       "1.19 GiB already allocated; 1.19 GiB current active; 0.59 GiB free; 1.21 GiB reserved in total by PyTorch)"]

# huggingface_hub's snapshot_download(local_files_only=True) and validate_repo_id; vLLM 0.11 get_config.
NOT_CACHED = ["huggingface_hub.errors.LocalEntryNotFoundError: Cannot find an appropriate cached snapshot folder for "
              "the specified revision on the local disk and outgoing traffic has been disabled. To enable repo "
              "look-ups and downloads online, pass 'local_files_only=False' as input."]
PATH_GONE = ["huggingface_hub.errors.HFValidationError: Repo id must be in the form 'repo_name' or "
             "'namespace/repo_name': '/root/.cache/modelscope/hub/models/Qwen/Qwen2___5-VL-7B-Instruct'. Use "
             "`repo_type` argument if needed."]
INVALID_REPO = ["  Value error, Invalid repository ID or local directory specified: 'Qwen/Qwen2.5-VL-7B-Instruct'."]


@pytest.mark.parametrize(("lines", "name", "words"), [
    (NOT_CACHED, "model_not_local", "vllm_model_path"),
    (PATH_GONE, "model_not_local", "model_weights"),
    (INVALID_REPO, "model_not_local", "vllm_model_path"),
    (GRAPH_CAPTURE, "graph_capture", "vllm_enforce_eager: true"),
    (HCCL_PORT, "hccl_port", "HCCL_IF_BASE_PORT"),
    (NO_CACHE, "no_kv_cache", "vllm_max_model_len"),
    (KV_TOO_SMALL, "no_kv_cache", "vllm_gpu_memory_utilization"),
    (OOM, "npu_out_of_memory", "vllm_tensor_parallel_size"),
])
def test_each_known_failure_is_named_with_its_action(lines: list[str], name: str, words: str) -> None:
    found = recognise(["INFO 09-26 10:47:50 [core.py:77] Initializing a V1 LLM engine", *lines,
                       "RuntimeError: Engine core initialization failed. See root cause above."])
    assert found is not None and found["name"] == name
    assert words in found["action"]


def test_an_unknown_failure_claims_no_cause() -> None:
    assert recognise(["RuntimeError: ACL stream synchronize failed, error code:507053"]) is None
    assert recognise([]) is None


# vLLM 0.11.0's API server when its engine core process dies (core_client.py); a core dump prints nothing else.
ENGINE_DIED = ["(APIServer pid=1) ERROR 10-14 13:42:23 [core_client.py:564] Engine core proc EngineCore_DP0 died "
               "unexpectedly, shutting down client."]


def test_an_engine_that_died_silently_on_a_small_dev_shm_is_the_shared_memory_failure() -> None:
    found = recognise(ENGINE_DIED, 64 * 1024 * 1024)
    assert found is not None and found["name"] == "shm_small"
    assert "/dev/shm is 64 MB" in found["cause"] and "vllm_shm_size" in found["action"]
    # With the documented 1g, or with a Python error of the engine's own, /dev/shm is not the cause.
    assert recognise(ENGINE_DIED, 1024 ** 3) is None
    assert recognise(["RuntimeError: ACL stream synchronize failed, error code:507053", *ENGINE_DIED],
                     64 * 1024 * 1024) is None
    assert recognise(ENGINE_DIED) is None
