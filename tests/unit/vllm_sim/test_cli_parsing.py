"""Argument handling of `vllm serve` / `vllm bench serve`: vLLM's rewrites and argparse's exact error texts."""

from __future__ import annotations

import sys

import pytest
from vllm_sim_support import IMAGE_DIR, Sim

sys.path.insert(0, str(IMAGE_DIR))

from vllm_sim.argparse_ext import human_readable_int, normalize_args  # noqa: E402
from vllm_sim.cli import build_parser  # noqa: E402
from vllm_sim.serve_args import non_default_args  # noqa: E402


def parse(*argv: str):
    root, serve, _ = build_parser()
    return root.parse_args(normalize_args(list(argv))), serve


@pytest.mark.parametrize(
    "spelling",
    [["--max_model_len", "4096"], ["--max-model-len", "4096"], ["--max-model-len=4096"], ["--max_model_len=4k"]],
)
def test_both_spellings_of_max_model_len(spelling: list[str]) -> None:
    args, _ = parse("serve", "/m", *spelling)
    assert args.max_model_len in (4096, 4000)


def test_human_readable_int() -> None:
    assert human_readable_int("1k") == 1000
    assert human_readable_int("1K") == 1024
    assert human_readable_int("25.6k") == 25600
    assert human_readable_int("16384") == 16384


def test_dotted_keys_and_json_flags() -> None:
    args, _ = parse(
        "serve",
        "/m",
        "--limit-mm-per-prompt.image",
        "2",
        "--limit-mm-per-prompt.video=0",
        "--additional-config",
        '{"ascend_scheduler_config":{"enabled":true}}',
        "-tp",
        "2",
        "--no-enable-prefix-caching",
        "--async-scheduling",
        "--api-key",
        "k1",
        "--quantization",
        "ascend",
    )
    assert args.limit_mm_per_prompt == {"image": 2, "video": 0}
    assert args.additional_config == {"ascend_scheduler_config": {"enabled": True}}
    assert args.tensor_parallel_size == 2
    assert args.enable_prefix_caching is False
    assert args.async_scheduling is True
    assert args.api_key == ["k1"]
    assert args.quantization == "ascend"


def test_abbreviation_and_underscores() -> None:
    args, _ = parse("serve", "/m", "--tensor_parallel", "4", "--gpu_memory_utilization=0.8")
    assert args.tensor_parallel_size == 4
    assert args.gpu_memory_utilization == 0.8


def test_non_default_args_matches_reference_sample() -> None:
    args, serve = parse(
        "serve",
        "/models/Qwen2.5-VL-7B-Instruct",
        "--host",
        "0.0.0.0",
        "--port",
        "8000",
        "--served-model-name",
        "qwen2.5-vl",
        "-tp",
        "2",
        "--max-model-len",
        "16384",
        "--trust-remote-code",
        "--no-enable-prefix-caching",
        "--limit-mm-per-prompt",
        '{"image":4,"video":0}',
        "--additional-config",
        '{"ascend_scheduler_config":{"enabled":true}}',
        "--gpu-memory-utilization",
        "0.9",
    )
    args.model = args.model_tag
    expected = (
        "{'model_tag': '/models/Qwen2.5-VL-7B-Instruct', 'host': '0.0.0.0', 'model': "
        "'/models/Qwen2.5-VL-7B-Instruct', 'trust_remote_code': True, 'max_model_len': 16384, 'served_model_name': "
        "['qwen2.5-vl'], 'tensor_parallel_size': 2, 'enable_prefix_caching': False, 'limit_mm_per_prompt': "
        "{'image': 4, 'video': 0}, 'additional_config': {'ascend_scheduler_config': {'enabled': True}}}"
    )
    assert str(non_default_args(serve, args)) == expected


def test_unknown_flag_is_rejected_by_the_root_parser(sim: Sim) -> None:
    result = sim.run("serve", str(sim.model), "--foo-bar", "1")
    assert result.returncode == 2
    assert result.stderr == (
        "usage: vllm [-h] [-v] {chat,complete,serve,bench,collect-env,run-batch} ...\n"
        "vllm: error: unrecognized arguments: --foo-bar 1\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--dtype", "foo"],
            "argument --dtype: invalid choice: 'foo' (choose from 'auto', 'bfloat16', 'float', "
            "'float16', 'float32', 'half')",
        ),
        (["-tp", "abc"], "argument --tensor-parallel-size/-tp: invalid int value: 'abc'"),
        (["--max-model-len"], "argument --max-model-len: expected one argument"),
        (
            ["--enable-prefix-caching=1"],
            "argument --enable-prefix-caching/--no-enable-prefix-caching: ignored explicit argument '1'",
        ),
        (["--max-model-len", "1x"], "argument --max-model-len: invalid human_readable_int value: '1x'"),
    ],
)
def test_bad_values_are_reported_by_the_serve_parser(sim: Sim, args: list[str], message: str) -> None:
    result = sim.run("serve", str(sim.model), *args)
    assert result.returncode == 2
    assert result.stderr == f"usage: vllm serve [model_tag] [options]\nvllm serve: error: {message}\n"


def test_model_option_is_refused(sim: Sim) -> None:
    result = sim.run("serve", "--model", str(sim.model))
    assert result.returncode == 1
    assert result.stderr.rstrip().endswith(
        "ValueError: With `vllm serve`, you should provide the model as a positional argument or in a config file "
        "instead of via the `--model` option."
    )


def test_version(sim: Sim) -> None:
    assert sim.run("--version").stdout == "0.11.0\n"


def test_bench_requires_model(sim: Sim) -> None:
    result = sim.run("bench", "serve")
    assert result.returncode == 2
    assert result.stderr.endswith(
        "vllm bench <bench_type> [options] serve: error: the following arguments are required: --model\n"
    )
