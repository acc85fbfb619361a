"""The `vllm` entry point: root parser, subcommands and the checks vLLM runs before dispatch."""

from __future__ import annotations

import argparse
import sys

from vllm_sim import VLLM_VERSION, logs, tracebacks
from vllm_sim.argparse_ext import expand_config_file, normalize_args
from vllm_sim.bench_args import build_bench_parser
from vllm_sim.serve_args import build_serve_parser, deprecated_dests

SUBCOMMANDS = ("chat", "complete", "serve", "bench", "collect-env", "run-batch")


def build_parser() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser, argparse.ArgumentParser]:
    root = argparse.ArgumentParser(prog="vllm", description="vLLM CLI")
    root.add_argument("-v", "--version", action="version", version=VLLM_VERSION)
    subparsers = root.add_subparsers(required=False, dest="subparser")
    serve = None
    bench = None
    for name in SUBCOMMANDS:
        if name == "serve":
            serve = build_serve_parser(subparsers)
        elif name == "bench":
            bench = build_bench_parser(subparsers)
        else:
            subparsers.add_parser(name, help=f"vllm {name} (not provided by this image's simulator)")
    assert serve is not None and bench is not None
    return root, serve, bench


def _model_flag_error() -> int:
    frames: list[tracebacks.Frame] = [
        ("/usr/local/python3.11.13/bin/vllm", 8, "<module>", "sys.exit(main())"),
        (f"{tracebacks.VLLM}/entrypoints/cli/main.py", 50, "main", "args = parser.parse_args()"),
        (f"{tracebacks.VLLM}/utils/__init__.py", 1887, "parse_args", "raise ValueError("),
    ]
    final = (
        "ValueError: With `vllm serve`, you should provide the model as a positional argument or in a config "
        "file instead of via the `--model` option."
    )
    tracebacks.write(tracebacks.traceback_lines(frames, final))
    return 1


def _driver_missing() -> int:
    site = tracebacks.SITE
    frames: list[tracebacks.Frame] = [
        ("/usr/local/python3.11.13/bin/vllm", 5, "<module>", "from vllm.entrypoints.cli.main import main"),
        (
            f"{tracebacks.VLLM}/entrypoints/cli/__init__.py",
            3,
            "<module>",
            "from vllm.entrypoints.cli.benchmark.latency import BenchmarkLatencySubcommand",
        ),
        (
            f"{tracebacks.VLLM}/platforms/__init__.py",
            257,
            "__getattr__",
            "_current_platform = resolve_obj_by_qualname(platform_cls_qualname)()",
        ),
        (
            f"{tracebacks.VLLM}/utils/__init__.py",
            2568,
            "resolve_obj_by_qualname",
            "module = importlib.import_module(module_name)",
        ),
        (f"{tracebacks.ASCEND}/platform.py", 23, "<module>", "import torch_npu  # noqa: F401"),
        (f"{site}/torch_npu/__init__.py", 38, "<module>", "import torch_npu.npu"),
        (f"{site}/torch_npu/npu/__init__.py", 122, "<module>", "import torch_npu._C"),
    ]
    final = "ImportError: libascend_hal.so: cannot open shared object file: No such file or directory"
    tracebacks.write(tracebacks.traceback_lines(frames, final))
    return 1


def main(argv: list[str] | None = None) -> int:
    raw = list(sys.argv[1:] if argv is None else argv)
    root, serve_parser, _bench = build_parser()
    if raw and raw[0] == "serve":
        if "--model" in raw:
            return _model_flag_error()
        raw = expand_config_file(raw, 0)
    args_list = normalize_args(raw)
    if raw and raw[0] == "serve" and not any(a in ("-h", "--help") for a in raw):
        from vllm_sim import driver

        # vllm-ascend registers its platform before argument parsing; the NPU libraries load with it.
        logs.log("INFO", "__init__.py:207", "Platform plugin ascend is activated")
        try:
            state = driver.load_driver()
        except driver.DriverMissing:
            return _driver_missing()
        args = root.parse_args(args_list)
        for dest in deprecated_dests(args_list):
            logs.log("WARNING", "argparse_utils.py:81", f"argument '{dest}' is deprecated")
        from vllm_sim import serve

        return serve.run(args, serve_parser, state)
    args = root.parse_args(args_list)
    if args.subparser == "bench":
        if getattr(args, "bench_type", None) != "serve":
            _bench.print_help()
            return 2
        from vllm_sim.bench import main as bench_main

        return bench_main.run(args)
    if args.subparser is None:
        root.print_help()
        return 0
    sys.stderr.write(f"vllm {args.subparser}: not provided by this image\n")
    return 1
