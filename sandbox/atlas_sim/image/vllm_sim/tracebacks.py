"""Tracebacks as the real image prints them when start-up or serving fails.

Paths follow the real image: vLLM and vllm-ascend are editable installs under /vllm-workspace, Python lives in
/usr/local/python3.11.13 (the CANN base image). Operators and log parsers match on the last lines, which carry
vLLM's exact error texts.
"""

from __future__ import annotations

import sys

PY = "/usr/local/python3.11.13/lib/python3.11"
SITE = f"{PY}/site-packages"
VLLM = "/vllm-workspace/vllm/vllm"
ASCEND = "/vllm-workspace/vllm-ascend/vllm_ascend"

Frame = tuple[str, int, str, str]


def collective_rpc(line: int, method: str) -> list[Frame]:
    """The uniproc executor calling a worker method (init_device, load_model)."""
    return [
        (f"{VLLM}/executor/uniproc_executor.py", line, "_init_executor", f'self.collective_rpc("{method}")'),
        (
            f"{VLLM}/executor/uniproc_executor.py",
            58,
            "collective_rpc",
            "answer = run_method(self.driver_worker, method,",
        ),
        (f"{VLLM}/utils/__init__.py", 3060, "run_method", "return func(*args, **kwargs)"),
    ]


PYDANTIC_INIT: Frame = (
    f"{SITE}/pydantic/_internal/_dataclasses.py",
    123,
    "__init__",
    "s.__pydantic_validator__.validate_python(ArgsKwargs(args, kwargs), self_instance=s)",
)
QWEN_VL_LOAD_WEIGHTS: Frame = (
    f"{VLLM}/model_executor/models/qwen2_5_vl.py",
    1590,
    "load_weights",
    "return loader.load_weights(weights, mapper=self.hf_to_vllm_mapper)",
)

# Shared frames from `vllm serve` down to engine-config creation in the API server process.
SERVE_TO_CONFIG: list[Frame] = [
    ("/usr/local/python3.11.13/bin/vllm", 8, "<module>", "sys.exit(main())"),
    (f"{VLLM}/entrypoints/cli/main.py", 54, "main", "args.dispatch_function(args)"),
    (f"{VLLM}/entrypoints/cli/serve.py", 57, "cmd", "uvloop.run(run_server(args))"),
    (f"{SITE}/uvloop/__init__.py", 105, "run", "return runner.run(wrapper())"),
    (f"{PY}/asyncio/runners.py", 118, "run", "return self._loop.run_until_complete(task)"),
    ("uvloop/loop.pyx", 1518, "uvloop.loop.Loop.run_until_complete", ""),
    (f"{SITE}/uvloop/__init__.py", 61, "wrapper", "return await main"),
    (
        f"{VLLM}/entrypoints/openai/api_server.py",
        1884,
        "run_server",
        "await run_server_worker(listen_address, sock, args, **uvicorn_kwargs)",
    ),
    (f"{VLLM}/entrypoints/openai/api_server.py", 1902, "run_server_worker", "async with build_async_engine_client("),
    (f"{PY}/contextlib.py", 210, "__aenter__", "return await anext(self.gen)"),
    (
        f"{VLLM}/entrypoints/openai/api_server.py",
        180,
        "build_async_engine_client",
        "async with build_async_engine_client_from_engine_args(",
    ),
    (f"{PY}/contextlib.py", 210, "__aenter__", "return await anext(self.gen)"),
]

CREATE_CONFIG: Frame = (
    f"{VLLM}/entrypoints/openai/api_server.py",
    206,
    "build_async_engine_client_from_engine_args",
    "vllm_config = engine_args.create_engine_config(usage_context=usage_context)",
)

# vLLM 0.11 replaces the model by a local path in EngineArgs.__post_init__ (its log line is arg_utils.py:504) when
# HF_HUB_OFFLINE is set; the hub library's snapshot_download raises when nothing is cached. Line numbers of these
# frames other than the logging call's neighbourhood are not taken from a source.
OFFLINE_MODEL_PATH: list[Frame] = [
    *SERVE_TO_CONFIG[:-2],
    (f"{VLLM}/entrypoints/openai/api_server.py", 164, "build_async_engine_client",
     "engine_args = AsyncEngineArgs.from_cli_args(args)"),
    (f"{VLLM}/engine/arg_utils.py", 1060, "from_cli_args",
     "engine_args = cls(**{attr: getattr(args, attr) for attr in attrs})"),
    ("<string>", 185, "__init__", ""),
    (f"{VLLM}/engine/arg_utils.py", 501, "__post_init__", "self.model = get_model_path(self.model, self.revision)"),
    (f"{VLLM}/transformers_utils/utils.py", 107, "get_model_path",
     "return snapshot_download(repo_id=model, **common_kwargs)"),
]

MODEL_CONFIG: list[Frame] = [
    CREATE_CONFIG,
    (f"{VLLM}/engine/arg_utils.py", 1142, "create_engine_config", "model_config = self.create_model_config()"),
    (f"{VLLM}/engine/arg_utils.py", 994, "create_model_config", "return ModelConfig("),
    PYDANTIC_INIT,
]

VLLM_CONFIG: list[Frame] = [
    CREATE_CONFIG,
    (f"{VLLM}/engine/arg_utils.py", 1367, "create_engine_config", "config = VllmConfig("),
    PYDANTIC_INIT,
]

ENGINE_START: list[Frame] = [
    (
        f"{VLLM}/entrypoints/openai/api_server.py",
        225,
        "build_async_engine_client_from_engine_args",
        "async_llm = AsyncLLM.from_vllm_config(",
    ),
    (f"{VLLM}/utils/__init__.py", 1572, "inner", "return fn(*args, **kwargs)"),
    (f"{VLLM}/v1/engine/async_llm.py", 207, "from_vllm_config", "return cls("),
    (f"{VLLM}/v1/engine/async_llm.py", 134, "__init__", "self.engine_core = EngineCoreClient.make_async_mp_client("),
    (f"{VLLM}/v1/engine/core_client.py", 102, "make_async_mp_client", "return AsyncMPClient(*client_args)"),
    (f"{VLLM}/v1/engine/core_client.py", 769, "__init__", "super().__init__("),
    (f"{VLLM}/v1/engine/core_client.py", 448, "__init__", "with launch_core_engines(vllm_config, executor_class,"),
    (f"{PY}/contextlib.py", 144, "__exit__", "next(self.gen)"),
    (f"{VLLM}/v1/engine/utils.py", 732, "launch_core_engines", "wait_for_engine_startup("),
    (
        f"{VLLM}/v1/engine/utils.py",
        785,
        "wait_for_engine_startup",
        'raise RuntimeError("Engine core initialization failed. "',
    ),
]

ENGINE_CORE_INIT: list[Frame] = [
    (f"{PY}/multiprocessing/process.py", 314, "_bootstrap", "self.run()"),
    (f"{PY}/multiprocessing/process.py", 108, "run", "self._target(*self._args, **self._kwargs)"),
    (f"{VLLM}/v1/engine/core.py", 712, "run_engine_core", "raise e"),
    (f"{VLLM}/v1/engine/core.py", 699, "run_engine_core", "engine_core = EngineCoreProc(*args, **kwargs)"),
    (f"{VLLM}/v1/engine/core.py", 498, "__init__", "super().__init__(vllm_config, executor_class, log_stats,"),
    (f"{VLLM}/v1/engine/core.py", 83, "__init__", "self.model_executor = executor_class(vllm_config)"),
    (f"{VLLM}/executor/executor_base.py", 54, "__init__", "self._init_executor()"),
]


# Engine-side frames (the worker process): opening an NPU, loading weights, sizing the KV cache.
INIT_DEVICE: list[Frame] = [
    *collective_rpc(47, "init_device"),
    (f"{VLLM}/worker/worker_base.py", 611, "init_device", "self.worker.init_device()  # type: ignore"),
    (f"{ASCEND}/worker/worker_v1.py", 196, "init_device", "device = self._init_device()"),
    (f"{ASCEND}/worker/worker_v1.py", 178, "_init_device", "NPUPlatform.set_device(device)"),
    (f"{ASCEND}/platform.py", 121, "set_device", "torch.npu.set_device(device)"),
    (f"{SITE}/torch_npu/npu/utils.py", 80, "set_device", "torch_npu._C._npu_setDevice(device_id)"),
]

LOAD_MODEL: list[Frame] = [
    *collective_rpc(49, "load_model"),
    (f"{ASCEND}/worker/worker_v1.py", 254, "load_model", "self.model_runner.load_model()"),
    (f"{ASCEND}/worker/model_runner_v1.py", 2563, "load_model", "self.model = get_model(vllm_config=self.vllm_config)"),
    (
        f"{VLLM}/model_executor/model_loader/__init__.py",
        119,
        "get_model",
        "return loader.load_model(vllm_config=vllm_config,",
    ),
    (f"{VLLM}/model_executor/model_loader/base_loader.py", 50, "load_model", "self.load_weights(model, model_config)"),
    (
        f"{VLLM}/model_executor/model_loader/default_loader.py",
        264,
        "load_weights",
        "loaded_weights = model.load_weights(",
    ),
]

KV_CACHE: list[Frame] = [
    (f"{VLLM}/v1/engine/core.py", 92, "__init__", "num_gpu_blocks, num_cpu_blocks, kv_cache_config = \\"),
    (
        f"{VLLM}/v1/engine/core.py",
        201,
        "_initialize_kv_caches",
        "kv_cache_configs = get_kv_cache_configs(vllm_config, kv_cache_specs,",
    ),
    (
        f"{VLLM}/v1/core/kv_cache_utils.py",
        1227,
        "get_kv_cache_configs",
        "check_enough_kv_cache_memory(vllm_config, kv_cache_spec_one_worker,",
    ),
    (f"{VLLM}/v1/core/kv_cache_utils.py", 706, "check_enough_kv_cache_memory", "raise ValueError("),
]

# Copying a weight onto the NPU (where an out-of-memory error is raised).
TO_DEVICE: list[Frame] = [
    QWEN_VL_LOAD_WEIGHTS,
    (
        f"{VLLM}/model_executor/models/utils.py",
        291,
        "load_weights",
        'autoloaded_weights = set(self._load_module("", self.module, weights))',
    ),
    (
        f"{VLLM}/model_executor/model_loader/weight_utils.py",
        624,
        "default_weight_loader",
        "param.data.copy_(loaded_weight)",
    ),
]

CORRUPT: list[Frame] = [
    *LOAD_MODEL,
    QWEN_VL_LOAD_WEIGHTS,
    (
        f"{VLLM}/model_executor/model_loader/weight_utils.py",
        540,
        "safetensors_weights_iterator",
        'with safe_open(st_file, framework="pt") as f:',
    ),
]


def format_frames(frames: list[Frame]) -> list[str]:
    lines: list[str] = []
    for path, line, func, code in frames:
        lines.append(f'  File "{path}", line {line}, in {func}')
        if code:
            lines.append(f"    {code}")
    return lines


def traceback_lines(frames: list[Frame], final: str) -> list[str]:
    return ["Traceback (most recent call last):", *format_frames(frames), *final.split("\n")]


def pydantic_error(model: str, message: str) -> str:
    """The last lines of a pydantic ValidationError raised from a vLLM config dataclass."""
    return (
        f"pydantic_core._pydantic_core.ValidationError: 1 validation error for {model}\n"
        f"  Value error, {message} [type=value_error, "
        "input_value=ArgsKwargs((), {'model': ...rocessor_plugin': None}), input_type=ArgsKwargs]\n"
        "    For further information visit https://errors.pydantic.dev/2.11/v/value_error"
    )


def write(lines: list[str], prefix: str = "") -> None:
    for line in lines:
        sys.stderr.write(f"{prefix}{line}\n")
    sys.stderr.flush()
