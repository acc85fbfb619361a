# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Run ``vllm bench serve``, read its result file and hold it against service-level objectives.

``{{ settings | atlas.vllm.bench_serve_argv }}``               -> the argv of one run (list)
``{{ json_text | atlas.vllm.bench_result(instance, dataset) }}`` -> the figures the project keeps (dict)
``{{ result | atlas.vllm.bench_slo_check(slo) }}``              -> the result with ``slo_status``, ``breaches``
                                                                  and ``slo_checks`` added
``{{ results | atlas.vllm.bench_slo_table(node) }}``           -> text table of the breached objectives

The result file (vllm 0.11.0, ``vllm/benchmarks/serve.py``) holds ``num_prompts``, ``completed``,
``duration``, ``request_throughput``, ``output_throughput``, ``total_token_throughput`` and
``{mean,median,std,p99}_{ttft,tpot,itl}_ms``. It has no count of failed requests (newer releases add
``failed``), so the failures are the prompts that did not complete.

``slo`` maps ``ttft_p99_ms``, ``tpot_p99_ms`` (upper limits), ``min_output_throughput`` (lower limit, tok/s)
and ``max_failed`` (upper limit, requests); a null limit is not checked.
"""

from __future__ import annotations

import json
import math
from typing import Any

from ansible.errors import AnsibleFilterError

_REQUIRED = ("num_prompts", "completed", "duration", "request_throughput", "output_throughput")
_LATENCIES = ("ttft", "tpot", "itl")
_STATS = ("mean", "median", "p99")
_OPTIONAL = ("date", "backend", "model_id", "max_concurrency", "total_input_tokens", "total_output_tokens",
             "total_token_throughput", "max_output_tokens_per_s", "max_concurrent_requests")

# objective -> (result key, label for people, direction: the measured value must stay at or below "max",
# at or above "min")
_OBJECTIVES = {
    "ttft_p99_ms": ("p99_ttft_ms", "P99 TTFT (ms)", "max"),
    "tpot_p99_ms": ("p99_tpot_ms", "P99 TPOT (ms)", "max"),
    "min_output_throughput": ("output_throughput", "Output throughput (tok/s)", "min"),
    "max_failed": ("failed", "Failed requests", "max"),
}


_DATASETS = ("random", "random-mm")


def _flag_value(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def bench_serve_argv(settings: dict[str, Any]) -> list[str]:
    """The ``vllm bench serve`` argv for one instance.

    ``settings``: ``command`` (default ``[vllm, bench, serve]``), ``model`` (the model path, which is also the
    tokenizer), ``served_model_name``, ``port``,
    ``dataset`` (random or random-mm), ``num_prompts``, ``request_rate`` (a number or ``inf``),
    ``max_concurrency`` (null: unbounded), ``input_len``, ``output_len``, ``range_ratio``, ``seed``,
    ``ignore_eos``, ``mm_items_per_request``, ``mm_limit_per_prompt`` (dict), ``mm_bucket_config`` (a Python
    dict literal, as vLLM parses it), ``ready_check_timeout``, ``result_dir``, ``result_filename``,
    ``extra_args``.
    """
    dataset = settings.get("dataset", "random")
    if dataset not in _DATASETS:
        raise AnsibleFilterError(f"vllm_benchmark_dataset is {dataset!r}; choose one of {', '.join(_DATASETS)}")
    for key in ("model", "served_model_name", "port", "result_dir", "result_filename"):
        if settings.get(key) in (None, ""):
            raise AnsibleFilterError(f"bench_serve_argv needs {key}")
    command = settings.get("command") or ["vllm", "bench", "serve"]
    if not isinstance(command, list):
        raise AnsibleFilterError(f"vllm_benchmark_command must be a list of strings, got {command!r}")
    argv = [str(part) for part in command] + [
        "--model", str(settings["model"]), "--served-model-name", str(settings["served_model_name"]),
        "--host", str(settings.get("host", "127.0.0.1")), "--port", str(settings["port"])]
    if dataset == "random-mm":
        # Images travel only in chat requests: vLLM refuses random-mm on the completions backend.
        argv += ["--backend", "openai-chat", "--endpoint", "/v1/chat/completions"]
    argv += ["--dataset-name", dataset,
             "--num-prompts", str(settings.get("num_prompts", 20)),
             "--request-rate", str(settings.get("request_rate", "inf")),
             "--random-input-len", str(settings.get("input_len", 128)),
             "--random-output-len", str(settings.get("output_len", 64)),
             "--random-range-ratio", str(settings.get("range_ratio", 0.0)),
             "--seed", str(settings.get("seed", 0)),
             # The parser needs these percentiles; vLLM's defaults, pinned so a changed default cannot drop them.
             "--percentile-metrics", "ttft,tpot,itl", "--metric-percentiles", "99",
             "--ready-check-timeout-sec", str(settings.get("ready_check_timeout", 600)),
             # Per-request progress bars would flood the task output.
             "--disable-tqdm",
             # --save-detailed adds the per-request times the fleet report draws as distributions.
             "--save-result", "--save-detailed", "--result-dir", str(settings["result_dir"]),
             "--result-filename", str(settings["result_filename"])]
    # -e vllm_benchmark_max_concurrency=0 gives "0".
    if settings.get("max_concurrency") not in (None, "", 0, "0"):
        argv += ["--max-concurrency", str(settings["max_concurrency"])]
    if settings.get("ignore_eos", True):
        argv.append("--ignore-eos")
    if dataset == "random-mm":
        argv += ["--random-mm-base-items-per-request", str(settings.get("mm_items_per_request", 1)),
                 "--random-mm-limit-mm-per-prompt",
                 _flag_value(settings.get("mm_limit_per_prompt") or {"image": 1, "video": 0}),
                 "--random-mm-bucket-config", _flag_value(settings.get("mm_bucket_config") or "{(224, 224, 1): 1.0}")]
    extra = settings.get("extra_args") or []
    if not isinstance(extra, list):
        raise AnsibleFilterError(f"vllm_benchmark_extra_args must be a list of strings, got {extra!r}")
    return argv + [str(arg) for arg in extra]


def _number(value: Any, key: str, source: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AnsibleFilterError(f"{source}: {key} is {value!r}, not a number")
    if isinstance(value, float) and math.isnan(value):
        raise AnsibleFilterError(f"{source}: {key} is NaN")
    return value


def _load(raw: Any, source: str) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    if not isinstance(raw, str | bytes):
        raise AnsibleFilterError(f"{source}: expected the JSON text of a result file, got {type(raw).__name__}")
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise AnsibleFilterError(f"{source}: the result file is not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise AnsibleFilterError(f"{source}: the result file holds a {type(data).__name__}, not an object")
    return data


def bench_result(raw: Any, instance: str | None = None, dataset: str | None = None) -> dict[str, Any]:
    source = f"vllm bench serve result of {instance}" if instance else "vllm bench serve result"
    data = _load(raw, source)
    missing = [key for key in _REQUIRED + tuple(f"{s}_{m}_ms" for m in _LATENCIES for s in _STATS) if key not in data]
    if missing:
        raise AnsibleFilterError(f"{source}: missing {', '.join(missing)}; was it written with --save-result "
                                 "and the default --percentile-metrics ttft,tpot,itl and --metric-percentiles 99?")
    num_prompts = int(_number(data["num_prompts"], "num_prompts", source))
    completed = int(_number(data["completed"], "completed", source))
    failed = data.get("failed")
    failed = int(_number(failed, "failed", source)) if failed is not None else max(num_prompts - completed, 0)
    result: dict[str, Any] = {
        "instance": instance,
        "dataset": dataset,
        "num_prompts": num_prompts,
        "completed": completed,
        "failed": failed,
        # "inf" (a string) when every request was sent at once.
        "request_rate": data.get("request_rate"),
        "duration_s": round(float(_number(data["duration"], "duration", source)), 3),
        "request_throughput": round(float(_number(data["request_throughput"], "request_throughput", source)), 3),
        "output_throughput": round(float(_number(data["output_throughput"], "output_throughput", source)), 3),
    }
    for metric in _LATENCIES:
        for stat in _STATS:
            key = f"{stat}_{metric}_ms"
            result[key] = round(float(_number(data[key], key, source)), 3)
    for key in _OPTIONAL:
        if key in data:
            result[key] = data[key]
    result.update(_request_samples(data, source))
    return result


def _request_samples(data: dict[str, Any], source: str) -> dict[str, list[float]]:
    """Per-request TTFT and TPOT (ms) of the requests that succeeded, from ``--save-detailed``'s lists.

    A request's TPOT is the mean of its inter-token latencies: their sum is its latency after the first token, over
    its output tokens after the first, as vLLM defines TPOT. Failed requests (a non-empty ``errors`` entry) have no
    times. Without the lists (no ``--save-detailed``), nothing.
    """
    ttfts, itls = data.get("ttfts"), data.get("itls")
    if not isinstance(ttfts, list) or not isinstance(itls, list):
        return {}
    errors = data.get("errors") if isinstance(data.get("errors"), list) else [""] * len(ttfts)
    if not len(ttfts) == len(itls) == len(errors):
        raise AnsibleFilterError(f"{source}: ttfts ({len(ttfts)}), itls ({len(itls)}) and errors ({len(errors)}) "
                                 "should list the same requests")
    ok = [index for index, error in enumerate(errors) if not error]
    ttft_ms = [round(float(_number(ttfts[i], "ttfts", source)) * 1000, 3) for i in ok]
    tpot_ms = [round(sum(float(_number(gap, "itls", source)) for gap in itls[i]) / len(itls[i]) * 1000, 3)
               for i in ok if isinstance(itls[i], list) and itls[i]]
    return {"request_ttft_ms": ttft_ms, "request_tpot_ms": tpot_ms}


def _limit(slo: dict[str, Any], name: str) -> float | int | None:
    value = slo.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        # Extra vars (-e name=500) arrive as strings.
        try:
            value = float(value)
        except ValueError:
            raise AnsibleFilterError(f"vllm_benchmark_slo_{name} is {value!r}, not a number") from None
    return _number(value, f"vllm_benchmark_slo_{name}", "SLO")


def bench_slo_check(result: dict[str, Any], slo: dict[str, Any] | None) -> dict[str, Any]:
    if not isinstance(result, dict):
        raise AnsibleFilterError(f"bench_slo_check needs a result from bench_result, got {type(result).__name__}")
    slo = slo or {}
    unknown = sorted(set(slo) - set(_OBJECTIVES))
    if unknown:
        raise AnsibleFilterError(f"unknown SLO name(s) {', '.join(unknown)}; known: {', '.join(_OBJECTIVES)}")
    checks = []
    for name, (key, label, direction) in _OBJECTIVES.items():
        limit = _limit(slo, name)
        if limit is None:
            continue
        measured = result.get(key)
        if measured is None:
            raise AnsibleFilterError(f"result of {result.get('instance')} has no {key} to check {name} against")
        ok = measured <= limit if direction == "max" else measured >= limit
        checks.append({"metric": label, "key": key, "measured": measured, "limit": limit,
                       "rule": "at most" if direction == "max" else "at least", "ok": ok})
    breaches = [f"{c['metric']} {c['measured']} (limit: {c['rule']} {c['limit']})" for c in checks if not c["ok"]]
    # No objective set is a pass too: the fleet report counts anything but PASS as a failure.
    return {**result, "slo_checks": checks, "breaches": breaches, "slo_status": "FAIL" if breaches else "PASS"}


def bench_slo_table(results: list[dict[str, Any]], node: str) -> str:
    """One line per breached objective, aligned for a terminal: node, instance, metric, measured, limit."""
    rows = [[node, str(r.get("instance")), c["metric"], str(c["measured"]), f"{c['rule']} {c['limit']}"]
            for r in results or [] for c in r.get("slo_checks", []) if not c["ok"]]
    if not rows:
        return ""
    header = ["node", "instance", "metric", "measured", "limit"]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
                     for row in [header, *rows])


def bench_lines(results: list[dict[str, Any]], node: str) -> list[str]:
    """One line per benchmarked instance, for the play's output."""
    return [f"{node} {r['instance']} ({r['dataset']}): {r['request_throughput']} req/s, {r['output_throughput']} tok/s "
            f"out, TTFT p99 {r['p99_ttft_ms']} ms, TPOT p99 {r['p99_tpot_ms']} ms, {r['failed']} failed, "
            f"SLO {r['slo_status']}" for r in results]


class FilterModule:
    def filters(self) -> dict:
        return {"bench_serve_argv": bench_serve_argv, "bench_result": bench_result, "bench_lines": bench_lines,
                "bench_slo_check": bench_slo_check, "bench_slo_table": bench_slo_table}
