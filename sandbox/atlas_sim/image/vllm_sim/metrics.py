"""/metrics in Prometheus text format 0.0.4 with the V1 engine's `vllm:` metric names (prometheus_client layout)."""

from __future__ import annotations

import time

from vllm_sim.engine import Engine, Histogram

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_CREATED = time.time()


def _labels(model: str, **extra: str) -> str:
    items = {"engine": "0", **extra, "model_name": model}
    return "{" + ",".join(f'{k}="{v}"' for k, v in items.items()) + "}"


def _num(value: float) -> str:
    return repr(float(value))


def _gauge(out: list[str], name: str, help_text: str, labels: str, value: float) -> None:
    out += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name}{labels} {_num(value)}"]


def _counter(out: list[str], name: str, help_text: str, rows: list[tuple[str, float]]) -> None:
    out += [f"# HELP {name}_total {help_text}", f"# TYPE {name}_total counter"]
    out += [f"{name}_total{labels} {_num(value)}" for labels, value in rows]
    out += [f"{name}_created{labels} {_num(_CREATED)}" for labels, _ in rows]


def _histogram(out: list[str], name: str, help_text: str, model: str, hist: Histogram) -> None:
    out += [f"# HELP {name} {help_text}", f"# TYPE {name} histogram"]
    counts = hist.counts or [0] * len(hist.buckets)
    for edge, count in zip(hist.buckets, counts, strict=True):
        out.append(f"{name}_bucket{_labels(model, le=str(float(edge)))} {_num(count)}")
    out.append(f"{name}_bucket{_labels(model, le='+Inf')} {_num(hist.n)}")
    out.append(f"{name}_count{_labels(model)} {_num(hist.n)}")
    out.append(f"{name}_sum{_labels(model)} {_num(hist.total)}")
    out.append(f"{name}_created{_labels(model)} {_num(_CREATED)}")


def render(engine: Engine, model: str) -> str:
    with engine.lock:
        s = engine.stats
        running, waiting = s.running, s.waiting
        prompt, gen, success = s.prompt_tokens, s.generation_tokens, dict(s.success)
    lab = _labels(model)
    out: list[str] = []
    _gauge(out, "vllm:num_requests_running", "Number of requests in model execution batches.", lab, running)
    _gauge(out, "vllm:num_requests_waiting", "Number of requests waiting to be processed.", lab, waiting)
    _gauge(out, "vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", lab, engine.kv_usage())
    _counter(out, "vllm:num_preemptions", "Cumulative number of preemption from the engine.", [(lab, 0)])
    _counter(out, "vllm:prompt_tokens", "Number of prefill tokens processed.", [(lab, prompt)])
    _counter(out, "vllm:generation_tokens", "Number of generation tokens processed.", [(lab, gen)])
    _counter(
        out,
        "vllm:request_success",
        "Count of successfully processed requests.",
        [(_labels(model, finished_reason=reason), count) for reason, count in success.items()],
    )
    _histogram(out, "vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", model, s.ttft)
    _histogram(out, "vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", model, s.itl)
    _histogram(out, "vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", model, s.e2e)
    return "\n".join(out) + "\n"
