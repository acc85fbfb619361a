"""The `vllm serve` parser of vLLM 0.11.0: every flag, its type, default and choices, in parser order.

Parser order matters: `non-default args` is logged in this order (model_tag, ungrouped, Frontend, engine groups).
"""

from __future__ import annotations

import argparse
from typing import Any

from vllm_sim.argparse_ext import human_readable_int, json_loads, json_or_str, optional_type

# (flags, kind, default, choices). Kinds: str str? int int? float float? hr? json json? jsonstr list? intlist
# bool (--x/--no-x) flag (store_true) append.
Spec = tuple[tuple[str, ...], str, Any, tuple[str, ...] | None]

DTYPES = ("auto", "bfloat16", "float", "float16", "float32", "half")

GROUPS: list[tuple[str, list[Spec]]] = [
    (
        "ungrouped",
        [
            (("--api-server-count", "-asc"), "int", 1, None),
            (("--config",), "str?", None, None),
            (("--headless",), "flag", False, None),
            (("--disable-log-stats",), "flag", False, None),
            (("--enable-log-requests",), "bool", False, None),
            (("--disable-log-requests",), "bool", True, None),
        ],
    ),
    (
        "Frontend",
        [
            (("--host",), "str?", None, None),
            (("--port",), "int", 8000, None),
            (("--uds",), "str?", None, None),
            (("--uvicorn-log-level",), "str", "info", ("critical", "debug", "error", "info", "trace", "warning")),
            (("--disable-uvicorn-access-log",), "bool", False, None),
            (("--allow-credentials",), "bool", False, None),
            (("--allowed-origins",), "json", ["*"], None),
            (("--allowed-methods",), "json", ["*"], None),
            (("--allowed-headers",), "json", ["*"], None),
            (("--api-key",), "list?", None, None),
            (("--lora-modules",), "list?", None, None),
            (("--chat-template",), "str?", None, None),
            (("--chat-template-content-format",), "str", "auto", ("auto", "openai", "string")),
            (("--trust-request-chat-template",), "bool", False, None),
            (("--response-role",), "str", "assistant", None),
            (("--ssl-keyfile",), "str?", None, None),
            (("--ssl-certfile",), "str?", None, None),
            (("--ssl-ca-certs",), "str?", None, None),
            (("--enable-ssl-refresh",), "bool", False, None),
            (("--ssl-cert-reqs",), "int", 0, None),
            (("--root-path",), "str?", None, None),
            (("--middleware",), "append", [], None),
            (("--return-tokens-as-token-ids",), "bool", False, None),
            (("--disable-frontend-multiprocessing",), "bool", False, None),
            (("--enable-request-id-headers",), "bool", False, None),
            (("--enable-auto-tool-choice",), "bool", False, None),
            (("--exclude-tools-when-tool-choice-none",), "bool", False, None),
            (("--tool-call-parser",), "str?", None, None),
            (("--tool-parser-plugin",), "str", "", None),
            (("--tool-server",), "str?", None, None),
            (("--log-config-file",), "str?", None, None),
            (("--max-log-len",), "int?", None, None),
            (("--disable-fastapi-docs",), "bool", False, None),
            (("--enable-prompt-tokens-details",), "bool", False, None),
            (("--enable-server-load-tracking",), "bool", False, None),
            (("--enable-force-include-usage",), "bool", False, None),
            (("--enable-tokenizer-info-endpoint",), "bool", False, None),
            (("--enable-log-outputs",), "bool", False, None),
            (("--h11-max-incomplete-event-size",), "int", 4194304, None),
            (("--h11-max-header-count",), "int", 256, None),
            (("--log-error-stack",), "bool", False, None),
        ],
    ),
    (
        "ModelConfig",
        [
            (("--model",), "str", "Qwen/Qwen3-0.6B", None),
            (("--runner",), "str", "auto", ("auto", "draft", "generate", "pooling")),
            (("--convert",), "str", "auto", ("auto", "classify", "embed", "none", "reward")),
            (
                ("--task",),
                "str?",
                None,
                (
                    "auto",
                    "classify",
                    "draft",
                    "embed",
                    "embedding",
                    "generate",
                    "reward",
                    "score",
                    "transcription",
                    "None",
                ),
            ),
            (("--tokenizer",), "str?", None, None),
            (("--tokenizer-mode",), "str", "auto", ("auto", "custom", "mistral", "slow")),
            (("--trust-remote-code",), "bool", False, None),
            (("--dtype",), "str", "auto", DTYPES),
            (("--seed",), "int?", None, None),
            (("--hf-config-path",), "str?", None, None),
            (("--allowed-local-media-path",), "str", "", None),
            (("--allowed-media-domains",), "list?", None, None),
            (("--revision",), "str?", None, None),
            (("--code-revision",), "str?", None, None),
            (("--rope-scaling",), "json", {}, None),
            (("--rope-theta",), "float?", None, None),
            (("--tokenizer-revision",), "str?", None, None),
            (("--max-model-len",), "hr?", None, None),
            (("--quantization", "-q"), "str?", None, None),
            (("--enforce-eager",), "bool", False, None),
            (("--max-logprobs",), "int", 20, None),
            (
                ("--logprobs-mode",),
                "str",
                "raw_logprobs",
                ("processed_logits", "processed_logprobs", "raw_logits", "raw_logprobs"),
            ),
            (("--disable-sliding-window",), "bool", False, None),
            (("--disable-cascade-attn",), "bool", False, None),
            (("--skip-tokenizer-init",), "bool", False, None),
            (("--enable-prompt-embeds",), "bool", False, None),
            (("--served-model-name",), "list?", None, None),
            (("--config-format",), "str", "auto", None),
            (("--hf-token",), "hf-token", None, None),
            (("--hf-overrides",), "jsonstr", {}, None),
            (("--pooler-config",), "json?", None, None),
            (("--override-pooler-config",), "json?", None, None),
            (("--logits-processor-pattern",), "str?", None, None),
            (("--generation-config",), "str", "auto", None),
            (("--override-generation-config",), "json", {}, None),
            (("--enable-sleep-mode",), "bool", False, None),
            (("--model-impl",), "str", "auto", None),
            (("--override-attention-dtype",), "str?", None, None),
            (("--logits-processors",), "list?", None, None),
            (("--io-processor-plugin",), "str?", None, None),
        ],
    ),
    (
        "LoadConfig",
        [
            (("--load-format",), "str", "auto", None),
            (("--download-dir",), "str?", None, None),
            (("--safetensors-load-strategy",), "str", "lazy", None),
            (("--model-loader-extra-config",), "jsonstr", {}, None),
            (("--ignore-patterns",), "list?", None, None),
            (("--use-tqdm-on-load",), "bool", True, None),
            (("--pt-load-map-location",), "jsonstr", "cpu", None),
        ],
    ),
    (
        "StructuredOutputsConfig",
        [
            (
                ("--reasoning-parser",),
                "str",
                "",
                (
                    "deepseek_r1",
                    "glm45",
                    "openai_gptoss",
                    "granite",
                    "hunyuan_a13b",
                    "mistral",
                    "qwen3",
                    "seed_oss",
                    "step3",
                ),
            ),
            (("--guided-decoding-backend",), "str?", None, None),
            (("--guided-decoding-disable-fallback",), "bool", None, None),
            (("--guided-decoding-disable-any-whitespace",), "bool", None, None),
            (("--guided-decoding-disable-additional-properties",), "bool", None, None),
        ],
    ),
    (
        "ParallelConfig",
        [
            (("--distributed-executor-backend",), "str?", None, None),
            (("--pipeline-parallel-size", "-pp"), "int", 1, None),
            (("--tensor-parallel-size", "-tp"), "int", 1, None),
            (("--decode-context-parallel-size", "-dcp"), "int", 1, None),
            (("--data-parallel-size", "-dp"), "int", 1, None),
            (("--data-parallel-rank", "-dpn"), "int?", None, None),
            (("--data-parallel-start-rank", "-dpr"), "int?", None, None),
            (("--data-parallel-size-local", "-dpl"), "int?", None, None),
            (("--data-parallel-address", "-dpa"), "str?", None, None),
            (("--data-parallel-rpc-port", "-dpp"), "int?", None, None),
            (("--data-parallel-backend", "-dpb"), "str", "mp", None),
            (("--data-parallel-hybrid-lb",), "bool", False, None),
            (("--enable-expert-parallel",), "bool", False, None),
            (("--enable-dbo",), "bool", False, None),
            (("--dbo-decode-token-threshold",), "int", 32, None),
            (("--dbo-prefill-token-threshold",), "int", 512, None),
            (("--enable-eplb",), "bool", False, None),
            (("--eplb-config",), "json?", None, None),
            (("--expert-placement-strategy",), "str", "linear", ("linear", "round_robin")),
            (("--num-redundant-experts",), "int?", None, None),
            (("--eplb-window-size",), "int?", None, None),
            (("--eplb-step-interval",), "int?", None, None),
            (("--eplb-log-balancedness",), "bool", None, None),
            (("--max-parallel-loading-workers",), "int?", None, None),
            (("--ray-workers-use-nsight",), "bool", False, None),
            (("--disable-custom-all-reduce",), "bool", False, None),
            (("--worker-cls",), "str", "auto", None),
            (("--worker-extension-cls",), "str", "", None),
            (("--enable-multimodal-encoder-data-parallel",), "flag", False, None),
        ],
    ),
    (
        "CacheConfig",
        [
            (("--block-size",), "int?", None, ("1", "8", "16", "32", "64", "128")),
            (("--gpu-memory-utilization",), "float", 0.9, None),
            (("--kv-cache-memory-bytes",), "hr?", None, None),
            (("--swap-space",), "float", 4, None),
            (("--kv-cache-dtype",), "str", "auto", ("auto", "bfloat16", "fp8", "fp8_e4m3", "fp8_e5m2", "fp8_inc")),
            (("--num-gpu-blocks-override",), "int?", None, None),
            (("--enable-prefix-caching",), "bool", None, None),
            (("--prefix-caching-hash-algo",), "str", "sha256", ("sha256", "sha256_cbor")),
            (("--cpu-offload-gb",), "float", 0, None),
            (("--calculate-kv-scales",), "bool", False, None),
            (("--kv-sharing-fast-prefill",), "bool", False, None),
            (("--mamba-cache-dtype",), "str", "auto", ("auto", "float32")),
            (("--mamba-ssm-cache-dtype",), "str", "auto", ("auto", "float32")),
        ],
    ),
    (
        "MultiModalConfig",
        [
            (("--limit-mm-per-prompt",), "json", {}, None),
            (("--media-io-kwargs",), "json", {}, None),
            (("--mm-processor-kwargs",), "json?", None, None),
            (("--mm-processor-cache-gb",), "float", 4, None),
            (("--disable-mm-preprocessor-cache",), "flag", False, None),
            (("--mm-processor-cache-type",), "str", "lru", ("lru", "shm")),
            (("--mm-shm-cache-max-object-size-mb",), "int", 128, None),
            (("--mm-encoder-tp-mode",), "str", "weights", ("data", "weights")),
            (("--interleave-mm-strings",), "bool", False, None),
            (("--skip-mm-profiling",), "bool", False, None),
            (("--video-pruning-rate",), "float?", None, None),
        ],
    ),
    (
        "LoRAConfig",
        [
            (("--enable-lora",), "bool", None, None),
            (("--enable-lora-bias",), "bool", False, None),
            (("--max-loras",), "int", 1, None),
            (("--max-lora-rank",), "int", 16, None),
            (("--lora-extra-vocab-size",), "int", 256, None),
            (("--lora-dtype",), "str", "auto", ("auto", "bfloat16", "float16")),
            (("--max-cpu-loras",), "int?", None, None),
            (("--fully-sharded-loras",), "bool", False, None),
            (("--default-mm-loras",), "json?", None, None),
        ],
    ),
    (
        "ObservabilityConfig",
        [
            (("--show-hidden-metrics-for-version",), "str?", None, None),
            (("--otlp-traces-endpoint",), "str?", None, None),
            (("--collect-detailed-traces",), "list?", None, None),
        ],
    ),
    (
        "SchedulerConfig",
        [
            (("--max-num-batched-tokens",), "hr?", None, None),
            (("--max-num-seqs",), "int?", None, None),
            (("--max-num-partial-prefills",), "int", 1, None),
            (("--max-long-partial-prefills",), "int", 1, None),
            (("--cuda-graph-sizes",), "intlist", [], None),
            (("--long-prefill-token-threshold",), "int", 0, None),
            (("--num-lookahead-slots",), "int", 0, None),
            (("--scheduling-policy",), "str", "fcfs", ("fcfs", "priority")),
            (("--enable-chunked-prefill",), "bool", None, None),
            (("--disable-chunked-mm-input",), "bool", False, None),
            (("--scheduler-cls",), "str", "vllm.core.scheduler.Scheduler", None),
            (("--disable-hybrid-kv-cache-manager",), "bool", False, None),
            (("--async-scheduling",), "bool", False, None),
        ],
    ),
    (
        "VllmConfig",
        [
            (("--speculative-config",), "json?", None, None),
            (("--kv-transfer-config",), "json?", None, None),
            (("--kv-events-config",), "json?", None, None),
            (("--compilation-config", "-O"), "json?", None, None),
            (("--additional-config",), "jsonstr", {}, None),
            (("--structured-outputs-config",), "json?", None, None),
        ],
    ),
]


# Flags whose use logs `argument '<dest>' is deprecated` at parse time.
DEPRECATED = (
    "--task",
    "--override-pooler-config",
    "--num-redundant-experts",
    "--eplb-window-size",
    "--eplb-step-interval",
    "--eplb-log-balancedness",
    "--no-eplb-log-balancedness",
    "--enable-multimodal-encoder-data-parallel",
    "--guided-decoding-backend",
    "--guided-decoding-disable-fallback",
    "--guided-decoding-disable-any-whitespace",
    "--guided-decoding-disable-additional-properties",
)


def deprecated_dests(argv: list[str]) -> list[str]:
    found: list[str] = []
    for arg in argv:
        flag = arg.split("=", 1)[0]
        if flag in DEPRECATED:
            dest = flag.removeprefix("--").removeprefix("no-").replace("-", "_")
            if dest not in found:
                found.append(dest)
    return found


def _add(group: argparse._ActionsContainer, spec: Spec) -> None:
    flags, kind, default, choices = spec
    kwargs: dict[str, Any] = {"default": default}
    if choices is not None:
        kwargs["choices"] = list(choices)
    simple = {
        "str": str,
        "str?": optional_type(str),
        "int": int,
        "int?": optional_type(int),
        "float": float,
        "float?": optional_type(float),
        "hr?": optional_type(human_readable_int),
        "json": json_loads,
        "json?": optional_type(json_loads),
        "jsonstr": json_or_str,
    }
    if kind in simple:
        kwargs["type"] = simple[kind]
    elif kind == "list?":
        kwargs.update(type=optional_type(str), nargs="+")
    elif kind == "intlist":
        kwargs.update(type=int, nargs="+")
    elif kind == "bool":
        kwargs["action"] = argparse.BooleanOptionalAction
    elif kind == "flag":
        kwargs["action"] = "store_true"
    elif kind == "append":
        kwargs.update(action="append", type=str)
        kwargs["default"] = list(default)
    elif kind == "hf-token":
        kwargs.update(type=str, nargs="?", const=True)
    if kind == "int?" and choices is not None:
        # --block-size: argparse compares converted values, so the choices must be ints too.
        kwargs["choices"] = [int(c) for c in choices]
    group.add_argument(*flags, **kwargs)


def build_serve_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "serve",
        help="Launch a local OpenAI-compatible API server to serve LLM completions via HTTP.",
        description="Launch a local OpenAI-compatible API server to serve LLM completions via HTTP.",
        usage="vllm serve [model_tag] [options]",
    )
    parser.add_argument(
        "model_tag", type=str, nargs="?", help="The model tag to serve (optional if specified in config)"
    )
    for name, specs in GROUPS:
        container: argparse._ActionsContainer = parser if name == "ungrouped" else parser.add_argument_group(name)
        for spec in specs:
            _add(container, spec)
    return parser


def non_default_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> dict[str, Any]:
    """Dests whose value differs from `parse_args([])`, in parser order (log_non_default_args)."""
    defaults = vars(parser.parse_args([]))
    result: dict[str, Any] = {}
    for action in parser._actions:
        dest = action.dest
        if dest == "help" or dest not in defaults:
            continue
        if getattr(args, dest) != defaults[dest]:
            result[dest] = getattr(args, dest)
    return result
