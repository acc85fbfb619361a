"""`vllm serve`: the start-up sequence of vLLM 0.11.0 on vllm-ascend, then the HTTP server.

The port is bound first and only listened on once the simulated engine is ready, so clients see "connection
refused" while the model loads. Load time: the slow-load fault's value, else the node's load_seconds, else
modelinfo.default_load_seconds().
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from typing import Any

from vllm_sim import (
    VLLM_VERSION,
    cann,
    capture,
    config_checks,
    driver,
    hccl,
    loader,
    logs,
    modelinfo,
    ranks,
    shm,
    tracebacks,
)
from vllm_sim.config_checks import Failure
from vllm_sim.driver import DeviceError, DriverState
from vllm_sim.engine import Engine
from vllm_sim.http_server import ROUTES, SimServer
from vllm_sim.openai_api import ServeContext
from vllm_sim.serve_args import non_default_args

PROCESS_NAME = "VLLMWorker_TP"


def _api_failure(failure: Failure) -> int:
    tracebacks.write(
        tracebacks.traceback_lines(tracebacks.SERVE_TO_CONFIG + failure.frames, failure.final), logs.api_prefix()
    )
    return 1


def _engine_failure(failure: Failure) -> int:
    lines = [
        "EngineCore failed to start.",
        *tracebacks.traceback_lines(tracebacks.ENGINE_CORE_INIT + failure.frames, failure.final),
    ]
    logs.log("ERROR", "core.py:708", "\n".join(lines), logs.engine_prefix(), sys.stderr)
    final = "RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}"
    tracebacks.write(
        tracebacks.traceback_lines(tracebacks.SERVE_TO_CONFIG + tracebacks.ENGINE_START, final), logs.api_prefix()
    )
    return 1


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt("terminated")


def _node_fault_value(state: DriverState, kind: str) -> tuple[bool, Any]:
    found = state.faults(kind)
    if not found:
        return False, None
    return True, found[-1].get("value")


def _crash_after(seconds: float, started: float) -> None:
    def _crash() -> None:
        delay = started + seconds - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        _print_crash()
        os._exit(1)

    threading.Thread(target=_crash, daemon=True).start()


def _engine_died() -> None:
    """The engine core killed by a signal (no Python error of its own): only the API server's side is printed."""
    logs.error("core_client.py:564", "Engine core proc EngineCore_DP0 died unexpectedly, shutting down client.")
    logs.uvicorn("Shutting down")
    os._exit(1)


def _print_crash() -> None:
    pid = os.getpid()
    frames: list[tracebacks.Frame] = [
        (f"{tracebacks.VLLM}/v1/engine/core.py", 701, "run_engine_core", "engine_core.run_busy_loop()"),
        (f"{tracebacks.VLLM}/v1/engine/core.py", 728, "run_busy_loop", "self._process_engine_step()"),
        (
            f"{tracebacks.VLLM}/v1/engine/core.py",
            754,
            "_process_engine_step",
            "outputs, model_executed = self.step_fn()",
        ),
        (f"{tracebacks.VLLM}/v1/engine/core.py", 284, "step", "model_output = self.execute_model_with_error_logging("),
        (f"{tracebacks.ASCEND}/worker/model_runner_v1.py", 1929, "execute_model", "torch.npu.synchronize()"),
        (f"{tracebacks.SITE}/torch_npu/npu/utils.py", 49, "synchronize", "return torch_npu._C._npu_synchronize()"),
    ]
    stamp = time.strftime("%Y-%m-%d-%H:%M:%S")
    final = "\n".join(
        [
            "RuntimeError: ACL stream synchronize failed, error code:507053",
            f"[ERROR] {stamp} (PID:{pid}, Device:0, RankID:-1) ERR00100 PTA call acl api failed",
            f"EZ9999: [PID: {pid}] {stamp}.000.000 The error from device(chipId:0, dieId:0), serial number is 7, "
            "hccl fails to execute. Possible cause: HCCS link error or remote rank exited.",
            "        TraceBack (most recent call last):",
            "        rtStreamSynchronize execute failed, reason=[hccl error][FUNC:FuncErrorReason]"
            "[FILE:error_message_manage.cc][LINE:53]",
        ]
    )
    lines = ["EngineCore encountered a fatal error.", *tracebacks.traceback_lines(frames, final)]
    logs.log("ERROR", "core.py:710", "\n".join(lines), logs.engine_prefix(), sys.stderr)
    logs.error("core_client.py:564", "Engine core proc EngineCore_DP0 died unexpectedly, shutting down client.")
    logs.uvicorn("Shutting down")
    logs.uvicorn("Waiting for application shutdown.")
    logs.uvicorn("Application shutdown complete.")
    logs.uvicorn(f"Finished server process [{pid}]")


def _engine_config_line(args: argparse.Namespace, info: modelinfo.ModelInfo, max_len: int, served: list[str]) -> str:
    dtype = "bfloat16" if args.dtype in ("auto", "bfloat16") else args.dtype.replace("half", "float16")
    return (
        f"Initializing a V1 LLM engine (v{VLLM_VERSION}) with config: model='{args.model}', speculative_config=None, "
        f"tokenizer='{args.tokenizer or args.model}', skip_tokenizer_init={args.skip_tokenizer_init}, "
        f"tokenizer_mode={args.tokenizer_mode}, revision=None, tokenizer_revision=None, "
        f"trust_remote_code={args.trust_remote_code}, dtype=torch.{dtype}, max_seq_len={max_len}, "
        f"download_dir={args.download_dir!r}, load_format=auto, tensor_parallel_size={args.tensor_parallel_size}, "
        f"pipeline_parallel_size={args.pipeline_parallel_size}, data_parallel_size={args.data_parallel_size}, "
        f"disable_custom_all_reduce=True, quantization={args.quantization}, enforce_eager={args.enforce_eager}, "
        "kv_cache_dtype=auto, device_config=npu, structured_outputs_config=StructuredOutputsConfig(backend='auto'), "
        "observability_config=ObservabilityConfig(), seed=0, "
        f"served_model_name={served[0]}, enable_prefix_caching={args.enable_prefix_caching is not False}, "
        'chunked_prefill_enabled=True, pooler_config=None, compilation_config={"level":3,"mode":null}'
    )


def run(args: argparse.Namespace, parser: argparse.ArgumentParser, state: DriverState) -> int:
    started = time.monotonic()
    env = dict(os.environ)
    if args.model_tag:
        args.model = args.model_tag
    logs.info("api_server.py:1839", f"vLLM API server version {VLLM_VERSION}")
    logs.info("utils.py:233", f"non-default args: {non_default_args(parser, args)}")
    if args.enable_auto_tool_choice and not args.tool_call_parser:
        return _api_failure(Failure([], "TypeError: Error: --enable-auto-tool-choice requires --tool-call-parser"))

    shm.install(_engine_died)
    crash, crash_value = _node_fault_value(state, "container-crash")
    if crash:
        _crash_after(float(crash_value) if crash_value not in (None, "") else 5.0, started)

    host = args.host or ""
    try:
        server_placeholder = SimServer((host, args.port))
    except OSError as exc:
        final = f"OSError: [Errno {exc.errno}] {exc.strerror}"
        frames: list[tracebacks.Frame] = [
            (
                f"{tracebacks.VLLM}/entrypoints/openai/api_server.py",
                1853,
                "setup_server",
                "sock = create_server_socket(sock_addr)",
            ),
            (f"{tracebacks.VLLM}/entrypoints/openai/api_server.py", 1796, "create_server_socket", "sock.bind(addr)"),
        ]
        return _api_failure(Failure(frames, final))
    # vLLM's setup_server, once the socket is bound: SIGTERM interrupts the start-up. Without it a process that is
    # PID 1 in its container (and so has no default action for SIGTERM) would sit out `docker stop`.
    signal.signal(signal.SIGTERM, _interrupt)

    if modelinfo.hub_offline(env):
        failure = config_checks.offline_model(args, env)
        if failure:
            tracebacks.write(tracebacks.traceback_lines(failure.frames, failure.final), logs.api_prefix())
            return 1
    elif modelinfo.hub_lookup(args.model, env, args.download_dir):
        # No route to the hub: the connection waits in silence until the client gives up.
        time.sleep(modelinfo.HUB_UNREACHABLE_SECONDS)
    weights_missing, _ = _node_fault_value(state, "weights-missing")
    resolved = config_checks.resolve(args, env, weights_missing)
    if isinstance(resolved, Failure):
        return _api_failure(resolved)
    info = resolved
    failure = config_checks.check_quantization_method(args)
    if failure:
        return _api_failure(failure)
    max_len, failure = config_checks.check_max_model_len(args, info, env)
    if failure:
        return _api_failure(failure)
    logs.info("model.py:547", f"Resolved architecture: {info.architecture}")
    logs.info("model.py:1510", f"Using max model len {max_len}")
    failure = config_checks.check_parallel(args, info) or config_checks.check_quant_files(args, info)
    if failure:
        return _api_failure(failure)
    batched, seqs = config_checks.scheduler_defaults(args, max_len)
    logs.info("scheduler.py:205", f"Chunked prefill is enabled with max_num_batched_tokens={batched}.")
    served = args.served_model_name or [args.model]

    return _start_engine(args, state, info, max_len, batched, seqs, served, server_placeholder, env)


def _start_engine(
    args: argparse.Namespace,
    state: DriverState,
    info: modelinfo.ModelInfo,
    max_len: int,
    batched: int,
    seqs: int,
    served: list[str],
    server: SimServer,
    env: dict[str, str],
) -> int:
    ep = logs.engine_prefix()
    logs.info("core.py:77", _engine_config_line(args, info, max_len, served), ep)
    tp = args.tensor_parallel_size
    world = tp * args.pipeline_parallel_size
    pid = os.getpid()
    failure = cann.check_driver()
    if failure:
        return _engine_failure(failure)
    try:
        runtime = driver.runtime_devices(state, env)
    except DeviceError as exc:
        extra = ["[Error]: Invalid device ID.", "        Check whether the device ID is valid."]
        return _engine_failure(Failure(loader.INIT_DEVICE, loader.set_device_error(pid, exc.code, 0, str(exc), extra)))
    failure = loader.open_devices(state, runtime, world, pid, env.get("ASCEND_RT_VISIBLE_DEVICES") or None)
    if failure:
        return _engine_failure(failure)
    chosen = runtime[:world]
    logs.info(
        "parallel_state.py:1208",
        f"rank 0 in world size {world} is assigned as DP rank 0, PP rank 0, TP rank 0, EP rank 0",
        ep,
    )
    logs.info("model_runner_v1.py:2543", f"Starting to load model {args.model}...", ep)
    failure = hccl.listen(world, env, pid)
    if failure:
        return _engine_failure(failure)

    slow, slow_value = _node_fault_value(state, "slow-load")
    if slow and slow_value is not None:
        total = float(slow_value)
    elif state.node.get("load_seconds") is not None:
        total = float(state.node["load_seconds"])
    else:
        total = modelinfo.default_load_seconds(info, tp)
    weights_time = total * 0.6

    corrupt, _ = _node_fault_value(state, "weights-corrupt")
    reason = (
        "Error while deserializing header: MetadataIncompleteBuffer"
        if corrupt
        else modelinfo.corrupt_safetensors(info.path)
    )
    if reason:
        time.sleep(weights_time * 0.3)
        return _engine_failure(loader.corrupt_weights(reason))
    devices = [state.devices[d] for d in chosen]
    plan, failure = loader.plan_memory(devices, info, tp, args.gpu_memory_utilization, batched, max_len)
    time.sleep(weights_time if plan else weights_time * 0.5)
    if failure:
        return _engine_failure(failure)
    assert plan is not None
    logs.info("default_loader.py:268", f"Loading weights took {weights_time * 0.9:.2f} seconds", ep)
    logs.info("model_runner_v1.py:2576", f"Loading model weights took {plan.weights_mb / 1024:.4f} GB", ep)
    profile_time = total - weights_time
    time.sleep(profile_time * 0.5)
    logs.info(
        "worker_v1.py:230",
        f"Available memory: {int(plan.kv_gib * (1 << 30))}, total memory: {devices[0].hbm_total_mb * (1 << 20)}",
        ep,
    )
    logs.info("kv_cache_utils.py:1087", f"GPU KV cache size: {plan.kv_tokens:,} tokens", ep)
    logs.info(
        "kv_cache_utils.py:1091",
        f"Maximum concurrency for {max_len:,} tokens per request: {plan.kv_tokens / max_len:.2f}x",
        ep,
    )
    time.sleep(profile_time * 0.5)
    streams_short, _ = _node_fault_value(state, "graph-capture")
    failure = capture.capture(args, info.num_layers, seqs, streams_short, pid, ep)
    if failure:
        return _engine_failure(failure)
    try:
        registration = ranks.start(state.module, chosen, plan.budget_mb, PROCESS_NAME)
    except ValueError as exc:
        extra = ["[Error]: Failed to start the device."]
        return _engine_failure(Failure(loader.INIT_DEVICE, loader.set_device_error(pid, 507033, 0, str(exc), extra)))
    logs.info(
        "core.py:210", f"init engine (profile, create kv cache, warmup model) took {profile_time:.2f} seconds", ep
    )
    return _serve_http(args, info, max_len, seqs, served, plan.kv_tokens, server, registration)


def _serve_http(
    args: argparse.Namespace,
    info: modelinfo.ModelInfo,
    max_len: int,
    seqs: int,
    served: list[str],
    kv_tokens: int,
    server: SimServer,
    registration: object,
) -> int:
    engine = Engine(seqs, kv_tokens)
    ctx = ServeContext(
        served_names=served,
        root=args.model,
        max_model_len=max_len,
        engine=engine,
        limit_mm={k: int(v) for k, v in (args.limit_mm_per_prompt or {}).items()},
        response_role=args.response_role,
    )
    server.ctx = ctx
    server.api_keys = list(args.api_key or ([os.environ["VLLM_API_KEY"]] if os.environ.get("VLLM_API_KEY") else []))
    server.access_log = not args.disable_uvicorn_access_log
    logs.info("api_server.py:1634", "Supported_tasks: ['generate']")
    scheme = "https" if args.ssl_keyfile and args.ssl_certfile else "http"
    location = f"unix:{args.uds}" if args.uds else f"{scheme}://{args.host or '0.0.0.0'}:{args.port}"
    logs.info("api_server.py:1912", f"Starting vLLM API server 0 on {location}")
    logs.info("launcher.py:34", "Available routes are:")
    for path, methods in ROUTES:
        if args.disable_fastapi_docs and methods == "GET, HEAD":
            continue
        logs.info("launcher.py:42", f"Route: {path}, Methods: {methods}")
    server.server_activate()
    pid = os.getpid()
    logs.uvicorn(f"Started server process [{pid}]")
    logs.uvicorn("Waiting for application startup.")
    logs.uvicorn("Application startup complete.")
    if not args.disable_log_stats:
        engine.start_stat_logger()

    def _stop(signum: int, _frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    server.serve_forever(poll_interval=0.2)
    logs.uvicorn("Shutting down")
    logs.uvicorn("Waiting for application shutdown.")
    logs.uvicorn("Application shutdown complete.")
    logs.uvicorn(f"Finished server process [{pid}]")
    del registration
    return 0
