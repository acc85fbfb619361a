"""The `vllm bench serve` parser of vLLM 0.11.0 (benchmarks/serve.py add_cli_args + datasets.py)."""

from __future__ import annotations

import argparse
import ast
import json
from typing import Any

DATASETS = ("sharegpt", "burstgpt", "sonnet", "random", "random-mm", "hf", "custom", "prefix_repetition", "spec_bench")
BACKENDS = ("vllm", "openai", "openai-chat", "openai-audio", "openai-embeddings")


def _bucket_config(value: str) -> dict[tuple[int, int, int], float]:
    # vLLM accepts a Python dict literal with (H, W, T) tuple keys.
    parsed = ast.literal_eval(value) if isinstance(value, str) else value
    if not isinstance(parsed, dict):
        raise argparse.ArgumentTypeError(f"Invalid bucket config: {value}")
    return {tuple(int(x) for x in k): float(v) for k, v in parsed.items()}  # type: ignore[misc]


def _json(value: str) -> Any:
    return json.loads(value)


def build_bench_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    bench = subparsers.add_parser(
        "bench",
        help="vLLM bench subcommand.",
        description="vLLM bench subcommand.",
        usage="vllm bench <bench_type> [options]",
    )
    bench_sub = bench.add_subparsers(required=False, dest="bench_type")
    for name in ("latency", "serve", "throughput"):
        if name != "serve":
            bench_sub.add_parser(name, help=f"vllm bench {name} (not provided by this image's simulator)")
            continue
        p = bench_sub.add_parser(
            "serve",
            help="Benchmark the online serving throughput.",
            description="Benchmark the online serving throughput.",
        )
        _add_serve_flags(p)
    return bench


def _add_serve_flags(p: argparse.ArgumentParser) -> None:
    add = p.add_argument
    add("--seed", type=int, default=0)
    add("--num-prompts", type=int, default=1000)
    add("--dataset-name", type=str, default="random", choices=list(DATASETS))
    add("--no-stream", action="store_true")
    add("--dataset-path", type=str, default=None)
    add("--no-oversample", action="store_true")
    add("--label", type=str, default=None)
    add("--backend", type=str, default="openai", choices=list(BACKENDS))
    add("--endpoint-type", type=str, default=None, choices=list(BACKENDS))
    add("--base-url", type=str, default=None)
    add("--host", type=str, default="127.0.0.1")
    add("--port", type=int, default=8000)
    add("--endpoint", type=str, default="/v1/completions")
    add("--header", metavar="KEY=VALUE", nargs="*", default=None)
    add("--max-concurrency", type=int, default=None)
    add("--model", type=str, required=True)
    add("--tokenizer", type=str, default=None)
    add("--use-beam-search", action="store_true")
    add("--logprobs", type=int, default=None)
    add("--request-rate", type=float, default=float("inf"))
    add("--burstiness", type=float, default=1.0)
    add("--trust-remote-code", action="store_true")
    add("--disable-tqdm", action="store_true")
    add("--profile", action="store_true")
    add("--save-result", action="store_true")
    add("--save-detailed", action="store_true")
    add("--append-result", action="store_true")
    add("--metadata", metavar="KEY=VALUE", nargs="*", default=None)
    add("--result-dir", type=str, default=None)
    add("--result-filename", type=str, default=None)
    add("--ignore-eos", action="store_true")
    add("--percentile-metrics", type=str, default="ttft,tpot,itl")
    add("--metric-percentiles", type=str, default="99")
    add("--goodput", nargs="+", default=None)
    add("--request-id-prefix", type=str, default="benchmark-serving")
    add("--tokenizer-mode", type=str, default="auto", choices=["auto", "slow", "mistral", "custom"])
    add("--served-model-name", type=str, default=None)
    add("--lora-modules", nargs="+", default=None)
    add("--ramp-up-strategy", type=str, default=None, choices=["linear", "exponential"])
    add("--ramp-up-start-rps", type=int, default=None)
    add("--ramp-up-end-rps", type=int, default=None)
    add("--ready-check-timeout-sec", type=int, default=600)
    g = p.add_argument_group("custom dataset options")
    g.add_argument("--custom-output-len", type=int, default=256)
    g.add_argument("--custom-skip-chat-template", action="store_true")
    g = p.add_argument_group("spec bench dataset options")
    g.add_argument("--spec-bench-output-len", type=int, default=256)
    g.add_argument("--spec-bench-category", type=str, default=None)
    g = p.add_argument_group("sonnet dataset options")
    g.add_argument("--sonnet-input-len", type=int, default=550)
    g.add_argument("--sonnet-output-len", type=int, default=150)
    g.add_argument("--sonnet-prefix-len", type=int, default=200)
    g = p.add_argument_group("sharegpt dataset options")
    g.add_argument("--sharegpt-output-len", type=int, default=None)
    g = p.add_argument_group("blazedit dataset options")
    g.add_argument("--blazedit-min-distance", type=float, default=0.0)
    g.add_argument("--blazedit-max-distance", type=float, default=1.0)
    g = p.add_argument_group("random dataset options")
    g.add_argument("--random-input-len", type=int, default=1024)
    g.add_argument("--random-output-len", type=int, default=128)
    g.add_argument("--random-range-ratio", type=float, default=0.0)
    g.add_argument("--random-prefix-len", type=int, default=0)
    g.add_argument("--random-batch-size", type=int, default=1)
    g = p.add_argument_group("random multimodal dataset options extended from random dataset")
    g.add_argument("--random-mm-base-items-per-request", type=int, default=1)
    g.add_argument("--random-mm-num-mm-items-range-ratio", type=float, default=0.0)
    g.add_argument("--random-mm-limit-mm-per-prompt", type=_json, default={"image": 255, "video": 0})
    g.add_argument(
        "--random-mm-bucket-config",
        type=_bucket_config,
        default={(256, 256, 1): 0.5, (720, 1280, 1): 0.5, (720, 1280, 16): 0.0},
    )
    g = p.add_argument_group("hf dataset options")
    g.add_argument("--hf-subset", type=str, default=None)
    g.add_argument("--hf-split", type=str, default=None)
    g.add_argument("--hf-name", type=str, default=None)
    g.add_argument("--hf-output-len", type=int, default=None)
    g = p.add_argument_group("prefix repetition dataset options")
    g.add_argument("--prefix-repetition-prefix-len", type=int, default=256)
    g.add_argument("--prefix-repetition-suffix-len", type=int, default=256)
    g.add_argument("--prefix-repetition-num-prefixes", type=int, default=10)
    g.add_argument("--prefix-repetition-output-len", type=int, default=128)
    g = p.add_argument_group("sampling parameters")
    g.add_argument("--top-p", type=float, default=None)
    g.add_argument("--top-k", type=int, default=None)
    g.add_argument("--min-p", type=float, default=None)
    g.add_argument("--temperature", type=float, default=None)
