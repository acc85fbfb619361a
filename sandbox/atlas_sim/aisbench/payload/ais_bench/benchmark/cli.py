"""``ais_bench`` command line (accuracy modes).

Exit codes: 0 done; 1 bad config, missing dataset or predictions; 2 usage; 3 a task got no answer at all
(the model service was unreachable or refused every request); the summary is still written in that case.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ais_bench.benchmark import __version__
from ais_bench.benchmark.config import ConfigError, load_datasets, load_models
from ais_bench.benchmark.runner import console, dump_configs, evaluate, infer
from ais_bench.benchmark.summarizer import write_summary

MODES = ("all", "infer", "eval", "viz", "perf")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ais_bench",
        description="Evaluate a served model on a dataset: inference, scoring and summary (AISBench layout).",
    )
    parser.add_argument("--models", nargs="+", metavar="MODEL", help="model config names (configs/models/**/NAME.py)")
    parser.add_argument("--datasets", nargs="+", metavar="DATASET", help="dataset config names or .py paths")
    modes_help = "all = infer + eval + summary; infer; eval (reuses predictions); viz (summary only)"
    parser.add_argument("-m", "--mode", choices=MODES, default="all", help=modes_help)
    parser.add_argument("-w", "--work-dir", default="outputs/default", help="output root (default outputs/default)")
    parser.add_argument("-r", "--reuse", nargs="?", const="latest", metavar="TIMESTAMP",
                        help="reuse an earlier run directory (default: the latest)")  # fmt: skip
    parser.add_argument("--debug", action="store_true", help="echo task logs on the console")
    parser.add_argument("--dump-eval-details", action="store_true", help="per-sample details in results/*.json")
    parser.add_argument("--merge-ds", action="store_true", help="accepted for compatibility (one table is written)")
    parser.add_argument("--summarizer", default="default", help="only 'default' (accuracy table) is provided")
    parser.add_argument("-v", "--version", action="version", version=f"ais_bench {__version__}")
    return parser


def _run_dir(work_dir: Path, reuse: str | None, mode: str) -> tuple[Path, str]:
    if reuse is None and mode in ("eval", "viz"):
        reuse = "latest"
    if reuse is None:
        stamp = time.strftime("%Y%m%d_%H%M%S")
        return work_dir / stamp, stamp
    if reuse == "latest":
        runs = sorted(p.name for p in work_dir.glob("[0-9]*_[0-9]*") if p.is_dir()) if work_dir.is_dir() else []
        if not runs:
            raise ConfigError(f"nothing to reuse under {work_dir}")
        reuse = runs[-1]
    if not (work_dir / reuse).is_dir():
        raise ConfigError(f"no run directory {work_dir / reuse}")
    return work_dir / reuse, reuse


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.models or not args.datasets:
        parser.error("--models and --datasets are required")
    if args.mode == "perf" or args.summarizer != "default":
        parser.error("performance mode and summarizers other than 'default' are not part of this kit")
    try:
        models = load_models(args.models)
        datasets = load_datasets(args.datasets)
        out, stamp = _run_dir(Path(args.work_dir), args.reuse, args.mode)
    except ConfigError as exc:
        console(str(exc), "ERROR")
        return 1
    out.mkdir(parents=True, exist_ok=True)
    console(f"Current exp folder: {out}")
    dump_configs(out, stamp, models, datasets)

    unanswered = False
    try:
        for model in models:
            for ds in datasets:
                if args.mode in ("all", "infer"):
                    failed, total = infer(out, model, ds, args.debug)
                    unanswered |= total > 0 and failed == total
                if args.mode in ("all", "eval"):
                    evaluate(out, model, ds, args.dump_eval_details, args.debug)
    except (FileNotFoundError, ConfigError) as exc:
        console(str(exc), "ERROR")
        return 1
    if args.mode != "infer":
        table = write_summary(out, stamp, models, datasets)
        console(f"write summary to {(out / 'summary' / f'summary_{stamp}.txt').resolve()}")
        print(table, end="", flush=True)
    return 3 if unanswered else 0


if __name__ == "__main__":
    sys.exit(main())
