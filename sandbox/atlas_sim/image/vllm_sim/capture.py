"""ACL graph capture at the end of start-up, and the way it fails when the NPU runs out of streams.

Sources (docs/field-failures.md, row 4): vllm-ascend v0.11.0rc1 captures graphs after the KV cache is sized unless
--enforce-eager is given (worker_v1.compile_or_warm_up_model). update_aclgraph_sizes caps the number of capture
sizes by the NPU's 2048 streams (1800 usable) with HCCL_OP_EXPANSION_MODE=AIV; the streams that formula cannot
count run out on some settings, and model_runner_v1._capture_model then logs the message below and re-raises the
runtime's error (retCode=0x7020023; the runtime's text is the one vllm-ascend #8393 shows). Which settings exhaust
the streams is not predictable from the sources, so the twin fails only under the node fault `graph-capture`.
"""

from __future__ import annotations

import argparse
import math
import time

from vllm_sim import logs, tracebacks
from vllm_sim.config_checks import Failure

MAX_CAPTURE_STREAMS = 1800

CAPTURE_FAIL = (
    "ACLgraph sizes capture fail: RuntimeError:\n"
    "ACLgraph has insufficient available streams to capture the configured number of sizes. Please verify both the "
    "availability of adequate streams and the appropriateness of the configured size count.\n\n"
    "Recommended solutions:\n"
    "1. Manually configure the compilation_config parameter with a reduced set of sizes: "
    "'{\"cudagraph_capture_sizes\":[size1, size2, size3, ...]}'.\n"
    "2. Utilize ACLgraph's full graph mode as an alternative to the piece-wise approach.\n\n"
)

FRAMES: list[tracebacks.Frame] = [
    tracebacks.KV_CACHE[0],
    (f"{tracebacks.VLLM}/v1/executor/abstract.py", 74, "initialize_from_config",
     'self.collective_rpc("compile_or_warm_up_model")'),
    *tracebacks.collective_rpc(58, "compile_or_warm_up_model")[1:],
    (f"{tracebacks.ASCEND}/worker/worker_v1.py", 329, "compile_or_warm_up_model", "self.model_runner.capture_model()"),
    (f"{tracebacks.ASCEND}/worker/model_runner_v1.py", 3561, "capture_model", "self._capture_model()"),
    (f"{tracebacks.ASCEND}/worker/model_runner_v1.py", 3498, "_capture_model", "self._capture_aclgraphs("),
    (f"{tracebacks.ASCEND}/worker/model_runner_v1.py", 3473, "_capture_aclgraphs", "self._dummy_run(num_tokens,"),
]


def capture_sizes(max_num_seqs: int, num_layers: int, tensor_parallel_size: int) -> list[int]:
    """vLLM's default sizes (1, 2, 4, then every 8 up to twice max_num_seqs, at most 512), thinned the way
    vllm-ascend's update_aclgraph_sizes does for a dense model with HCCL_OP_EXPANSION_MODE=AIV."""
    largest = min(max_num_seqs * 2, 512)
    sizes = [size for size in (1, 2, 4) if size <= largest] + list(range(8, largest + 1, 8))
    per_graph = num_layers + 1
    factor = 1 + int(tensor_parallel_size > 1)
    limit = math.floor((MAX_CAPTURE_STREAMS - factor * per_graph) / per_graph / factor)
    if 1 < limit < len(sizes):
        step = (len(sizes) - 1) / (limit - 1)
        picked = [round(i * step) for i in range(limit)]
        picked[0], picked[-1] = 0, len(sizes) - 1
        sizes = [sizes[i] for i in picked]
    return sizes


def _runtime_error(pid: int) -> str:
    stamp = time.strftime("%Y-%m-%d-%H:%M:%S")
    return (
        "capture_begin:build/CMakeFiles/torch_npu.dir/compiler_depend.ts:214 NPU function error: "
        "c10_npu::acl::AclmdlRICaptureBegin(capture_stream_, capture_mode), error code is 207005\n"
        f"[ERROR] {stamp} (PID:{pid}, Device:0, RankID:-1) ERR00100 PTA call acl api failed\n"
        "[Error]: Failed to apply for memory.\n"
        "        Check the remaining storage space in the hardware environment.\n"
        "EE9999: Inner Error!\n"
        f"EE9999[PID: {pid}] {stamp}.000.000 (EE9999):  [SqCqManage]Alloc sq cq fail, stream_id=1984, "
        "retCode=0x7020023."
    )


def capture(args: argparse.Namespace, num_layers: int, seqs: int, streams_short: bool, pid: int,
            prefix: str) -> Failure | None:
    """Log the capture as rank 0 does; a Failure when the streams run out. Nothing at all with --enforce-eager."""
    if args.enforce_eager:
        return None
    cases = list(reversed(capture_sizes(seqs, num_layers, args.tensor_parallel_size)))
    logs.info("model_runner_v1.py:3450",
              f"Starting to capture ACL graphs for cases: {cases}, mode: PIECEWISE, uniform_decode: False", prefix)
    if streams_short:
        error = _runtime_error(pid)
        logs.error("model_runner_v1.py:3512", CAPTURE_FAIL + error, prefix)
        return Failure(FRAMES, f"RuntimeError: {error}")
    logs.info("model_runner_v1.py:3568", f"Graph capturing finished in {max(1, len(cases) // 12)} secs, took "
              f"{0.02 * len(cases):.2f} GiB", prefix)
    return None
