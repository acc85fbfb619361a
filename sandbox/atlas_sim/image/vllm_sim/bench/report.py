"""Metrics, the printed result block and the saved JSON of `vllm bench serve` 0.11.0 (calculate_metrics)."""

from __future__ import annotations

import math
import statistics
from typing import Any

from vllm_sim.bench.client import RequestOutput

HEADERS = {
    "ttft": ("Time to First Token", "TTFT"),
    "tpot": ("Time per Output Token (excl. 1st token)", "TPOT"),
    "itl": ("Inter-token Latency", "ITL"),
    "e2el": ("End-to-end Latency", "E2EL"),
}


def percentile(values: list[float], p: float) -> float:
    """numpy.percentile with linear interpolation."""
    if not values:
        return 0.0
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def _stats(values: list[float]) -> tuple[float, float, float]:
    if not values:
        return 0.0, 0.0, 0.0
    return statistics.fmean(values), statistics.median(values), statistics.pstdev(values)


def _peaks(outputs: list[RequestOutput]) -> tuple[float, int]:
    ok = [o for o in outputs if o.success]
    if not ok:
        return 0.0, 0
    t0 = min(o.start_time for o in ok)
    t1 = max(o.start_time + o.latency for o in ok)
    seconds = int(math.ceil(t1 - t0)) + 1
    tokens = [0] * seconds
    concurrent = [0] * seconds
    for o in ok:
        t = o.start_time + o.ttft
        times = [t]
        for gap in o.itl:
            t += gap
            times.append(t)
        for when in times:
            bucket = int(when - t0)
            if 0 <= bucket < seconds:
                tokens[bucket] += 1
        for second in range(int(o.start_time - t0), int(o.start_time + o.latency - t0) + 1):
            concurrent[second] += 1
    return float(max(tokens)), int(max(concurrent))


def calculate(
    outputs: list[RequestOutput], duration: float, selected: list[str], percentiles: list[float]
) -> dict[str, Any]:
    ok = [o for o in outputs if o.success]
    ttfts = [o.ttft for o in ok]
    tpots = [(o.latency - o.ttft) / (o.output_tokens - 1) for o in ok if o.output_tokens > 1]
    itls = [gap for o in ok for gap in o.itl]
    e2els = [o.latency for o in ok]
    total_in = sum(o.prompt_len for o in ok)
    total_out = sum(o.output_tokens for o in ok)
    peak_tokens, peak_conc = _peaks(outputs)
    result: dict[str, Any] = {
        "duration": duration,
        "completed": len(ok),
        "total_input_tokens": total_in,
        "total_output_tokens": total_out,
        "request_throughput": len(ok) / duration if duration else 0.0,
        "request_goodput": None,
        "output_throughput": total_out / duration if duration else 0.0,
        "total_token_throughput": (total_in + total_out) / duration if duration else 0.0,
        "input_lens": [o.prompt_len for o in outputs],
        "output_lens": [o.output_tokens for o in outputs],
        "ttfts": [o.ttft for o in outputs],
        "itls": [o.itl for o in outputs],
        "generated_texts": [o.generated_text for o in outputs],
        "errors": [o.error for o in outputs],
        "max_output_tokens_per_s": peak_tokens,
        "max_concurrent_requests": peak_conc,
    }
    series = {"ttft": ttfts, "tpot": tpots, "itl": itls, "e2el": e2els}
    for metric in selected:
        values = series[metric]
        mean, median, std = _stats(values)
        result[f"mean_{metric}_ms"] = mean * 1000
        result[f"median_{metric}_ms"] = median * 1000
        result[f"std_{metric}_ms"] = std * 1000
        for p in percentiles:
            word = str(int(p)) if int(p) == p else str(p)
            result[f"p{word}_{metric}_ms"] = percentile(values, p) * 1000
    return result


def render(
    result: dict[str, Any],
    max_concurrency: int | None,
    request_rate: float,
    selected: list[str],
    percentiles: list[float],
) -> list[str]:
    lines = ["{s:{c}^{n}}".format(s=" Serving Benchmark Result ", n=50, c="=")]
    row = "{:<40} {:<10}".format
    rowf = "{:<40} {:<10.2f}".format
    lines.append(row("Successful requests:", result["completed"]))
    if max_concurrency is not None:
        lines.append(row("Maximum request concurrency:", max_concurrency))
    if request_rate != float("inf"):
        lines.append(rowf("Request rate configured (RPS):", request_rate))
    lines.append(rowf("Benchmark duration (s):", result["duration"]))
    lines.append(row("Total input tokens:", result["total_input_tokens"]))
    lines.append(row("Total generated tokens:", result["total_output_tokens"]))
    lines.append(rowf("Request throughput (req/s):", result["request_throughput"]))
    lines.append(rowf("Output token throughput (tok/s):", result["output_throughput"]))
    lines.append(rowf("Peak output token throughput (tok/s):", result["max_output_tokens_per_s"]))
    lines.append(rowf("Peak concurrent requests:", result["max_concurrent_requests"]))
    lines.append(rowf("Total Token throughput (tok/s):", result["total_token_throughput"]))
    for metric in selected:
        header, short = HEADERS[metric]
        lines.append("{s:{c}^{n}}".format(s=header, n=50, c="-"))
        lines.append(rowf(f"Mean {short} (ms):", result[f"mean_{metric}_ms"]))
        lines.append(rowf(f"Median {short} (ms):", result[f"median_{metric}_ms"]))
        for p in percentiles:
            word = str(int(p)) if int(p) == p else str(p)
            lines.append(rowf(f"P{word} {short} (ms):", result[f"p{word}_{metric}_ms"]))
    lines.append("=" * 50)
    return lines


DETAIL_KEYS = ("input_lens", "output_lens", "ttfts", "itls", "generated_texts", "errors")
