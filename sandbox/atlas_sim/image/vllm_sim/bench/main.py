"""`vllm bench serve` orchestration: ready check, paced dispatch, summary and --save-result."""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
import warnings
from datetime import datetime
from typing import Any

from vllm_sim.bench import dataset, report
from vllm_sim.bench.client import RequestOutput, build_payload, send


def _fail(message: str) -> int:
    sys.stderr.write("Traceback (most recent call last):\n")
    sys.stderr.write('  File "/vllm-workspace/vllm/vllm/benchmarks/serve.py", line 1208, in main\n')
    sys.stderr.write(f"ValueError: {message}\n")
    return 1


def _api_url(args: argparse.Namespace) -> str:
    if args.base_url:
        return f"{args.base_url}{args.endpoint}"
    return f"http://{args.host}:{args.port}{args.endpoint}"


def _headers(args: argparse.Namespace) -> dict[str, str]:
    headers: dict[str, str] = {}
    for item in args.header or []:
        key, sep, value = item.partition("=")
        if sep:
            headers[key.strip()] = value.strip()
    return headers


def _wait_for_endpoint(
    url: str, payload: dict[str, Any], headers: dict[str, str], req: dataset.SampleRequest, chat: bool, timeout: int
) -> RequestOutput:
    deadline = time.monotonic() + timeout
    while True:
        out = send(url, payload, headers, req.prompt_len, chat)
        if out.success or time.monotonic() >= deadline:
            return out
        time.sleep(min(5.0, max(deadline - time.monotonic(), 0.0)))


def _arrivals(n: int, rate: float, burstiness: float, rng: random.Random) -> list[float]:
    """Send offsets: all at t=0 for inf, else gamma-distributed gaps (Poisson when burstiness is 1)."""
    if rate == float("inf"):
        return [0.0] * n
    theta = 1.0 / (rate * burstiness)
    t, out = 0.0, []
    for _ in range(n):
        out.append(t)
        t += rng.gammavariate(burstiness, theta)
    return out


def _run_all(
    url: str,
    requests: list[dataset.SampleRequest],
    args: argparse.Namespace,
    model: str,
    headers: dict[str, str],
    chat: bool,
) -> tuple[list[RequestOutput], float]:
    outputs: list[RequestOutput] = [RequestOutput() for _ in requests]
    limit = threading.BoundedSemaphore(args.max_concurrency) if args.max_concurrency else None
    offsets = _arrivals(len(requests), args.request_rate, args.burstiness, random.Random(args.seed))

    def one(i: int) -> None:
        if limit:
            limit.acquire()
        try:
            payload = build_payload(args.backend, model, requests[i], args)
            outputs[i] = send(url, payload, headers, requests[i].prompt_len, chat)
        finally:
            if limit:
                limit.release()

    start = time.perf_counter()
    threads = []
    for i, offset in enumerate(offsets):
        delay = start + offset - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        thread = threading.Thread(target=one, args=(i,), daemon=True)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    return outputs, time.perf_counter() - start


def _save(args: argparse.Namespace, model: str, result: dict[str, Any]) -> None:
    now = datetime.now().strftime("%Y%m%d-%H%M%S")
    out: dict[str, Any] = {
        "date": now,
        "endpoint_type": args.backend,
        "backend": args.backend,
        "label": args.label,
        "model_id": model,
        "tokenizer_id": args.tokenizer or model,
        "num_prompts": args.num_prompts,
    }
    for item in args.metadata or []:
        key, sep, value = item.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    out["request_rate"] = args.request_rate if args.request_rate < float("inf") else "inf"
    out["burstiness"] = args.burstiness
    out["max_concurrency"] = args.max_concurrency
    out.update(result)
    if not args.save_detailed:
        for key in report.DETAIL_KEYS:
            out.pop(key, None)
    concurrency = f"-concurrency{args.max_concurrency}" if args.max_concurrency is not None else ""
    label = args.label or args.backend
    name = args.result_filename or f"{label}-{args.request_rate}qps{concurrency}-{model.split('/')[-1]}-{now}.json"
    if args.result_dir:
        os.makedirs(args.result_dir, exist_ok=True)
        name = os.path.join(args.result_dir, name)
    mode = "a+" if args.append_result else "w"
    with open(name, mode, encoding="utf-8") as handle:
        if args.append_result and handle.tell() != 0:
            handle.write("\n")
        json.dump(out, handle)


def run(args: argparse.Namespace) -> int:
    print(args)
    if args.endpoint_type:
        args.backend = args.endpoint_type
    model = args.model
    served = args.served_model_name or model
    chat = args.backend == "openai-chat"
    url = _api_url(args)
    if chat and not url.endswith(("chat/completions", "profile")):
        return _fail("OpenAI Chat Completions API URL must end with 'chat/completions'.")
    if args.backend == "openai" and not url.endswith(("completions", "profile")):
        return _fail("OpenAI Completions API URL must end with 'completions' or 'profile'.")
    if args.backend not in ("openai", "openai-chat", "vllm"):
        return _fail(f"Backend {args.backend} is not supported by this image's benchmark client.")
    if args.dataset_name == "random":
        requests = dataset.random_requests(args)
    elif args.dataset_name == "random-mm":
        if not chat:
            return _fail("Multi-modal content (images) is only supported on 'openai-chat' backend.")
        requests = dataset.random_mm_requests(args)
    else:
        return _fail(
            f"Dataset {args.dataset_name} needs files this offline image does not ship; use random or random-mm."
        )
    headers = _headers(args)
    selected = [m.strip() for m in args.percentile_metrics.split(",") if m.strip()]
    percentiles = [float(p) for p in args.metric_percentiles.split(",")]

    print("Starting initial single prompt test run...")
    if args.ready_check_timeout_sec > 0:
        test = _wait_for_endpoint(
            url,
            build_payload(args.backend, served, requests[0], args),
            headers,
            requests[0],
            chat,
            args.ready_check_timeout_sec,
        )
        if not test.success:
            return _fail(
                "Initial test run failed - Please make sure benchmark arguments are correctly specified. "
                f"Error: {test.error}"
            )
        print("Initial test run completed. Starting main benchmark run...")
    else:
        print("Skipping endpoint ready check.")
    distribution = "Poisson process" if args.burstiness == 1.0 else "Gamma distribution"
    print(f"Traffic request rate: {args.request_rate}")
    print(f"Burstiness factor: {args.burstiness} ({distribution})")
    print(f"Maximum request concurrency: {args.max_concurrency}")
    outputs, duration = _run_all(url, requests, args, served, headers, chat)
    result = report.calculate(outputs, duration, selected, percentiles)
    if result["completed"] == 0:
        warnings.warn(
            "All requests failed. This is likely due to a misconfiguration on the benchmark arguments.", stacklevel=2
        )
    for line in report.render(result, args.max_concurrency, args.request_rate, selected, percentiles):
        print(line)
    sys.stdout.flush()
    if args.save_result or args.append_result:
        _save(args, model, result)
    return 0
