"""HCCL's host listener: what a tensor-parallel instance holds on the node's network while its ranks run.

Sources (docs/field-failures.md, row 1): CANN's environment reference says HCCL_IF_BASE_PORT is the first port of
the host NIC listener used for HCCL initialisation, that 16 ports from it are occupied, and that without it HCCL
uses 60000-60015. vllm-ascend #405 shows what the second of two tensor-parallel-4 processes on one machine prints
when the first holds them. A single-NPU instance creates no HCCL communicator and holds no port.
"""

from __future__ import annotations

import errno
import socket
import time

from vllm_sim import tracebacks
from vllm_sim.config_checks import Failure

DEFAULT_BASE_PORT = 60000
PORT_COUNT = 16

# The sockets live as long as the engine process: the range stays taken while the ranks run.
_HELD: list[socket.socket] = []

# Where the first collective of the tensor-parallel group creates the HCCL communicator (rank 0 asks for the root
# info, which starts the host listener); the all-reduce frames are those of vllm-ascend #5135.
FRAMES: list[tracebacks.Frame] = [
    *tracebacks.LOAD_MODEL[:5],
    (f"{tracebacks.VLLM}/distributed/parallel_state.py", 359, "all_reduce",
     "return self._all_reduce_out_place(input_)"),
    (
        f"{tracebacks.VLLM}/distributed/parallel_state.py",
        362,
        "_all_reduce_out_place",
        "return self.device_communicator.all_reduce(input_)",
    ),
    (
        f"{tracebacks.VLLM}/distributed/device_communicators/base_device_communicator.py",
        112,
        "all_reduce",
        "dist.all_reduce(input_, group=self.device_group)",
    ),
    (f"{tracebacks.SITE}/torch/distributed/c10d_logger.py", 83, "wrapper", "return func(*args, **kwargs)"),
]


def base_port(env: dict[str, str]) -> int:
    value = (env.get("HCCL_IF_BASE_PORT") or "").strip()
    return int(value) if value.isdigit() else DEFAULT_BASE_PORT


def bind_error(pid: int, port: int) -> str:
    """What torch_npu and HCCL print when the listener's port is taken (vllm-ascend #405)."""
    now = time.time()
    stamp = time.strftime("%Y-%m-%d-%H:%M:%S", time.localtime(now))
    micros = int(now * 1_000_000) % 1_000_000
    return "\n".join([
        "RuntimeError: createHCCLComm:build/CMakeFiles/torch_npu.dir/compiler_depend.ts:1479 HCCL function error: "
        "HcclGetRootInfo(&hcclID), error code is 11",
        f"[ERROR] {stamp} (PID:{pid}, Device:0, RankID:-1) ERR02200 DIST call hccl api failed.",
        f"EJ0003: [PID: {pid}] {stamp}.{micros // 1000:03d}.{micros % 1000:03d} Failed to bind the IP port. "
        "Reason: The IP address and port have been bound already.",
        "        TraceBack (most recent call last):",
        f"        host nic listen start failed, port[{port}], return[11][FUNC:StartListenSocket]"
        "[FILE:network_manager.cc][LINE:1163]",
    ])


def listen(world: int, env: dict[str, str], pid: int) -> Failure | None:
    """Take the instance's port range on the network the process sees (the node's, under --net=host)."""
    if world < 2:
        return None
    base = base_port(env)
    # HCCL_IF_IP names the host NIC address HCCL listens on; without it, every address of the node.
    address = (env.get("HCCL_IF_IP") or "").strip() or "0.0.0.0"
    taken: list[socket.socket] = []
    for port in range(base, base + PORT_COUNT):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind((address, port))
            sock.listen(16)
        except OSError as exc:
            sock.close()
            for held in taken:
                held.close()
            if exc.errno != errno.EADDRINUSE:
                raise
            return Failure(FRAMES, bind_error(pid, port))
        taken.append(sock)
    _HELD.extend(taken)
    return None
