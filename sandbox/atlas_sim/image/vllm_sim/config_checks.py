"""Config-time checks of the API server process (ModelConfig / VllmConfig), with vLLM 0.11.0's error texts.

Each check returns None or a `Failure` holding the traceback's last line(s); serve.py prints the traceback and
exits 1, as the pydantic config dataclasses make the real server do.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from vllm_sim import logs, modelinfo, tracebacks
from vllm_sim.modelinfo import HubOfflineMiss, ModelInfo, ModelNotFound

QUANTIZATION_METHODS = [
    "awq",
    "deepspeedfp",
    "tpu_int8",
    "fp8",
    "ptpc_fp8",
    "fbgemm_fp8",
    "modelopt",
    "modelopt_fp4",
    "bitblas",
    "gguf",
    "gptq_marlin_24",
    "gptq_marlin",
    "gptq_bitblas",
    "awq_marlin",
    "gptq",
    "compressed-tensors",
    "bitsandbytes",
    "hqq",
    "experts_int8",
    "ipex",
    "quark",
    "moe_wna16",
    "torchao",
    "auto-round",
    "rtn",
    "inc",
    "mxfp4",
    "petit_nvfp4",
    # vllm-ascend's register_quantization_config appends its method last.
    "ascend",
]


@dataclass
class Failure:
    frames: list[tracebacks.Frame]
    final: str


def _model_config_error(message: str) -> Failure:
    return Failure(tracebacks.MODEL_CONFIG, tracebacks.pydantic_error("ModelConfig", message))


def _vllm_config_error(message: str) -> Failure:
    return Failure(tracebacks.VLLM_CONFIG, tracebacks.pydantic_error("VllmConfig", message))


def offline_model(args: argparse.Namespace, env: dict[str, str]) -> Failure | None:
    """EngineArgs.__post_init__ under HF_HUB_OFFLINE: the model becomes a local path or the start stops here."""
    try:
        path = modelinfo.offline_model_path(args.model, env, args.download_dir)
    except HubOfflineMiss as exc:
        return Failure(tracebacks.OFFLINE_MODEL_PATH, str(exc))
    logs.info("arg_utils.py:504", f"HF_HUB_OFFLINE is True, replace model_id [{args.model}] to model_path [{path}]")
    args.model = path
    return None


def resolve(args: argparse.Namespace, env: dict[str, str], weights_missing: bool) -> ModelInfo | Failure:
    if weights_missing:
        return _model_config_error(modelinfo.invalid_repo_message(args.model))
    try:
        path = modelinfo.resolve_model(args.model, env, args.download_dir)
    except ModelNotFound as exc:
        return _model_config_error(str(exc))
    try:
        return modelinfo.read_model(path)
    except (OSError, ValueError) as exc:
        return _model_config_error(f"Failed to load config.json of {path}: {exc}")


def check_quantization_method(args: argparse.Namespace) -> Failure | None:
    method = args.quantization
    if method is None or method == "ascend":
        return None
    if method not in QUANTIZATION_METHODS:
        return _model_config_error(f"Unknown quantization method: {method}. Must be one of {QUANTIZATION_METHODS}.")
    return _model_config_error(f"{method} quantization is currently not supported in npu.")


def check_max_model_len(args: argparse.Namespace, info: ModelInfo, env: dict[str, str]) -> tuple[int, Failure | None]:
    derived = info.derived_max_len
    if args.max_model_len is None:
        return int(derived), None
    if args.max_model_len > derived and env.get("VLLM_ALLOW_LONG_MAX_MODEL_LEN", "0") not in ("1", "true", "True"):
        message = (
            f"User-specified max_model_len ({args.max_model_len}) is greater than the derived max_model_len "
            f"({info.max_len_key}={derived} or model_max_length={info.model_max_length} in model's config.json). "
            "To allow overriding this maximum, set the env var VLLM_ALLOW_LONG_MAX_MODEL_LEN=1. "
            "VLLM_ALLOW_LONG_MAX_MODEL_LEN must be used with extreme caution. If the model uses relative position "
            "encoding (RoPE), positions exceeding derived_max_model_len lead to nan. If the model uses absolute "
            "position encoding, positions exceeding derived_max_model_len will cause a CUDA array out-of-bounds error."
        )
        return 0, _model_config_error(message)
    return int(args.max_model_len), None


def check_parallel(args: argparse.Namespace, info: ModelInfo) -> Failure | None:
    tp = args.tensor_parallel_size
    if tp < 1 or info.num_heads % tp != 0:
        return _vllm_config_error(
            f"Total number of attention heads ({info.num_heads}) must be divisible by tensor parallel size ({tp})."
        )
    pp = args.pipeline_parallel_size
    if pp > 1 and info.num_layers < pp:
        return _vllm_config_error(
            f"Total number of hidden layers ({info.num_layers}) must be greater than or equal to pipeline parallel "
            f"size ({pp})."
        )
    return None


def check_quant_files(args: argparse.Namespace, info: ModelInfo) -> Failure | None:
    if args.quantization != "ascend" or "quantization_config" in info.config:
        return None
    files = modelinfo.quant_config_files(Path(info.path))
    if not files:
        return _vllm_config_error("Cannot find the config file for ascend")
    if len(files) > 1:
        return _vllm_config_error(f"Found multiple config files for ascend: {files}")
    return None


def scheduler_defaults(args: argparse.Namespace, max_model_len: int) -> tuple[int, int]:
    """max_num_batched_tokens / max_num_seqs after _set_default_args (NPUs report < 70 GiB: 2048 / 256)."""
    batched = args.max_num_batched_tokens if args.max_num_batched_tokens is not None else 2048
    seqs = args.max_num_seqs if args.max_num_seqs is not None else min(256, batched)
    return int(batched), int(seqs)
