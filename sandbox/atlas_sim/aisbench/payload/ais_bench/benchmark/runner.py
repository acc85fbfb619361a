"""Inference and evaluation tasks, one per (model, dataset), writing AISBench's output layout.

``<work_dir>/<YYYYMMDD_HHMMSS>/``: ``configs/``, ``logs/{infer,eval}/<model>/<dataset>.out``,
``predictions/<model>/<dataset>.json``, ``results/<model>/<dataset>.json``, ``summary/summary_<ts>.{txt,csv,md}``.
"""

from __future__ import annotations

import json
import os
import pprint
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ais_bench.benchmark.config import describe


def console(message: str, level: str = "INFO") -> None:
    print(f"[ais_bench] [{level}] {message}", flush=True)


class TaskLog:
    """Per-task log file; with ``--debug`` every line is echoed to the console as well."""

    def __init__(self, path: Path, debug: bool) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = path.open("a", encoding="utf-8")
        self._debug = debug
        self._lock = threading.Lock()

    def __call__(self, message: str) -> None:
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}"
        with self._lock:
            self._fh.write(line + "\n")
            self._fh.flush()
            if self._debug:
                print(line, flush=True)

    def close(self) -> None:
        self._fh.close()


def dump_configs(out: Path, stamp: str, models: list[dict[str, Any]], datasets: list[dict[str, Any]]) -> Path:
    path = out / "configs" / f"{stamp}_{os.getpid()}.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = f"models = {pprint.pformat(describe(models), sort_dicts=False)}\n\n"
    text += f"datasets = {pprint.pformat(describe(datasets), sort_dicts=False)}\n"
    path.write_text(text, encoding="utf-8")
    return path


def _dataset(cfg: dict[str, Any]) -> Any:
    args = {k: v for k, v in cfg.items() if k not in ("type", "eval_cfg") and not k.startswith("_")}
    return cfg["type"](**args)


def infer(out: Path, model_cfg: dict[str, Any], ds_cfg: dict[str, Any], debug: bool) -> tuple[int, int]:
    """Run one inference task; returns (failed requests, samples)."""
    abbr, ds_abbr = model_cfg["abbr"], ds_cfg["abbr"]
    log = TaskLog(out / "logs" / "infer" / abbr / f"{ds_abbr}.out", debug)
    try:
        dataset = _dataset(ds_cfg)
        rows = dataset.load()
        client = model_cfg["type"](**{k: v for k, v in model_cfg.items() if k != "type" and not k.startswith("_")})
        console(f"Start inference task [{abbr}/{ds_abbr}]: {len(rows)} samples, batch_size {client.batch_size}")
        log(f"model endpoint {client.base_url}, {len(rows)} samples")
        try:
            log(f"served model: {client.resolve_model()}")
            answers = client.generate([dataset.content(r) for r in rows], log)
        except (OSError, ValueError, KeyError, IndexError) as exc:
            log(f"cannot reach the model service: {exc!r}")
            answers = [None] * len(rows)
        predictions = {}
        for i, (row, answer) in enumerate(zip(rows, answers)):  # noqa: B905 - one answer per row
            predictions[str(i)] = {
                "origin_prompt": dataset.prompt.format(question=row["question"]),
                "image": row["image_path"],
                "prediction": answer if answer is not None else "",
                "gold": row["answers"],
            }
            log(f"[{i}] {row['question']!r} -> {answer!r}")
        failed = sum(1 for a in answers if a is None)
        path = out / "predictions" / abbr / f"{ds_abbr}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(predictions, indent=4, ensure_ascii=False), encoding="utf-8")
        log(f"predictions written to {path}; failed requests: {failed}")
        level = "ERROR" if failed == len(rows) and rows else ("WARNING" if failed else "INFO")
        console(f"Inference task [{abbr}/{ds_abbr}] finished, failed requests: {failed}/{len(rows)}", level)
        return failed, len(rows)
    finally:
        log.close()


def evaluate(out: Path, model_cfg: dict[str, Any], ds_cfg: dict[str, Any], details: bool, debug: bool) -> float:
    abbr, ds_abbr = model_cfg["abbr"], ds_cfg["abbr"]
    log = TaskLog(out / "logs" / "eval" / abbr / f"{ds_abbr}.out", debug)
    try:
        pred_path = out / "predictions" / abbr / f"{ds_abbr}.json"
        if not pred_path.is_file():
            raise FileNotFoundError(f"no predictions at {pred_path}; run with --mode all or infer first")
        stored = json.loads(pred_path.read_text(encoding="utf-8"))
        rows = _dataset(ds_cfg).load()
        post: Callable[[str], str] = (model_cfg.get("pred_postprocessor") or {}).get("type") or (lambda s: s)
        preds = [post(stored[str(i)]["prediction"]) for i in range(len(rows))]
        evaluator = ds_cfg["eval_cfg"]["evaluator"]["type"]()
        result = evaluator.score(preds, rows)
        record = {"accuracy": result["accuracy"]}
        if details:
            record["details"] = result["details"]
        path = out / "results" / abbr / f"{ds_abbr}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, indent=4, ensure_ascii=False), encoding="utf-8")
        log(f"accuracy {result['accuracy']:.2f} over {len(rows)} samples; results written to {path}")
        console(f"Evaluation task [{abbr}/{ds_abbr}]: accuracy {result['accuracy']:.2f}")
        return result["accuracy"]
    finally:
        log.close()
