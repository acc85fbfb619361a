"""`vllm bench serve` against a running simulated server: the printed block and the saved JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path

from vllm_sim_support import Server

RESULT_ROWS = [
    "Successful requests:",
    "Maximum request concurrency:",
    "Benchmark duration (s):",
    "Total input tokens:",
    "Total generated tokens:",
    "Request throughput (req/s):",
    "Output token throughput (tok/s):",
    "Peak output token throughput (tok/s):",
    "Peak concurrent requests:",
    "Total Token throughput (tok/s):",
    "---------------Time to First Token----------------",
    "Mean TTFT (ms):",
    "Median TTFT (ms):",
    "P99 TTFT (ms):",
    "-----Time per Output Token (excl. 1st token)------",
    "Mean TPOT (ms):",
    "Median TPOT (ms):",
    "P99 TPOT (ms):",
    "---------------Inter-token Latency----------------",
    "Mean ITL (ms):",
    "Median ITL (ms):",
    "P99 ITL (ms):",
]


def bench(server: Server, tmp_path: Path, *extra: str):
    return server.sim.run(
        "bench",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(server.port),
        "--model",
        str(server.sim.model),
        "--served-model-name",
        "qwen2.5-vl",
        "--num-prompts",
        "6",
        "--max-concurrency",
        "3",
        "--random-input-len",
        "40",
        "--random-output-len",
        "8",
        "--ignore-eos",
        "--save-result",
        "--result-dir",
        str(tmp_path),
        "--ready-check-timeout-sec",
        "10",
        *extra,
        timeout=60,
    )


def block(stdout: str) -> list[str]:
    lines = stdout.splitlines()
    start = lines.index("============ Serving Benchmark Result ============")
    return lines[start:]


def test_bench_random_completions(running: Server, tmp_path: Path) -> None:
    result = bench(running, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Starting initial single prompt test run..." in result.stdout
    assert "Initial test run completed. Starting main benchmark run..." in result.stdout
    lines = block(result.stdout)
    assert [ln if ln.startswith("-") else ln[:40].rstrip() for ln in lines[1:-1]] == RESULT_ROWS
    assert lines[-1] == "=" * 50
    assert lines[1] == "{:<40} {:<10}".format("Successful requests:", 6)
    assert lines[4] == "{:<40} {:<10}".format("Total input tokens:", 240)
    assert lines[5] == "{:<40} {:<10}".format("Total generated tokens:", 48)
    tpot = float(lines[lines.index("-----Time per Output Token (excl. 1st token)------") + 1][40:])
    assert 3.0 <= tpot <= 30.0  # the server's VLLM_SIM_TPOT_MS=4, measured over the wire

    (saved,) = tmp_path.glob("*.json")
    assert re.fullmatch(r"openai-infqps-concurrency3-Qwen2\.5-VL-7B-Instruct-\d{8}-\d{6}\.json", saved.name)
    data = json.loads(saved.read_text(encoding="utf-8"))
    for key in (
        "date",
        "endpoint_type",
        "backend",
        "label",
        "model_id",
        "tokenizer_id",
        "num_prompts",
        "request_rate",
        "burstiness",
        "max_concurrency",
        "duration",
        "completed",
        "total_input_tokens",
        "total_output_tokens",
        "request_throughput",
        "request_goodput",
        "output_throughput",
        "total_token_throughput",
        "max_output_tokens_per_s",
        "max_concurrent_requests",
        "mean_ttft_ms",
        "median_ttft_ms",
        "std_ttft_ms",
        "p99_ttft_ms",
        "mean_tpot_ms",
        "median_tpot_ms",
        "std_tpot_ms",
        "p99_tpot_ms",
        "mean_itl_ms",
        "median_itl_ms",
        "std_itl_ms",
        "p99_itl_ms",
    ):
        assert key in data, key
    assert data["request_rate"] == "inf"
    assert data["completed"] == 6
    assert "ttfts" not in data and "generated_texts" not in data


def test_bench_random_mm_chat(running: Server, tmp_path: Path) -> None:
    result = bench(
        running,
        tmp_path,
        "--backend",
        "openai-chat",
        "--endpoint",
        "/v1/chat/completions",
        "--dataset-name",
        "random-mm",
        "--random-mm-base-items-per-request",
        "1",
        "--random-mm-limit-mm-per-prompt",
        '{"image": 2, "video": 0}',
        "--random-mm-bucket-config",
        "{(32, 48, 1): 1.0}",
        "--request-rate",
        "50",
        "--percentile-metrics",
        "ttft,e2el",
        "--metric-percentiles",
        "50,99",
        "--result-filename",
        "mm.json",
    )
    assert result.returncode == 0, result.stderr
    lines = block(result.stdout)
    assert "{:<40} {:<10.2f}".format("Request rate configured (RPS):", 50.0) in lines
    assert "----------------End-to-end Latency----------------" in lines
    assert any(ln.startswith("P50 E2EL (ms):") for ln in lines)
    data = json.loads((tmp_path / "mm.json").read_text(encoding="utf-8"))
    assert data["completed"] == 6
    assert data["request_rate"] == 50.0
    assert "p50_e2el_ms" in data and "p99_ttft_ms" in data


def test_random_mm_needs_chat_backend(running: Server, tmp_path: Path) -> None:
    result = bench(running, tmp_path, "--dataset-name", "random-mm")
    assert result.returncode == 1
    assert "Multi-modal content (images) is only supported on 'openai-chat' backend." in result.stderr
