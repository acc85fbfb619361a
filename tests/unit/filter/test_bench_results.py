"""vllm bench serve result files: the figures kept, failed requests, and the SLO gate with its table."""

from __future__ import annotations

import json

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.atlas.vllm.plugins.filter.bench_results import (
    bench_result,
    bench_serve_argv,
    bench_slo_check,
    bench_slo_table,
)

# The key set of vllm 0.11.0's --save-result file (vllm/benchmarks/serve.py), figures of the
# vllm-ascend performance_benchmark.md sample (200 prompts, 212.77 s).
SAVED = {
    "date": "20261129-221500", "endpoint_type": "openai-chat", "backend": "openai-chat", "label": None,
    "model_id": "/root/.cache/modelscope/hub/models/Qwen/Qwen2___5-VL-7B-Instruct",
    "tokenizer_id": "/root/.cache/modelscope/hub/models/Qwen/Qwen2___5-VL-7B-Instruct", "num_prompts": 200,
    "request_rate": "inf", "burstiness": 1.0, "max_concurrency": 8, "duration": 212.7712,
    "completed": 200, "total_input_tokens": 42659, "total_output_tokens": 43545, "request_throughput": 0.94,
    "request_goodput": None, "output_throughput": 204.66, "total_token_throughput": 405.16,
    "max_output_tokens_per_s": 216.0, "max_concurrent_requests": 8,
    "mean_ttft_ms": 104.14, "median_ttft_ms": 102.22, "std_ttft_ms": 11.3, "p99_ttft_ms": 153.82,
    "mean_tpot_ms": 38.78, "median_tpot_ms": 38.70, "std_tpot_ms": 2.1, "p99_tpot_ms": 48.03,
    "mean_itl_ms": 38.46, "median_itl_ms": 36.96, "std_itl_ms": 5.5, "p99_itl_ms": 75.03,
}


def test_the_figures_the_project_keeps_come_from_the_file() -> None:
    result = bench_result(json.dumps(SAVED), "vllm-0", "random-mm")
    assert result["instance"] == "vllm-0"
    assert result["dataset"] == "random-mm"
    assert result["request_throughput"] == 0.94
    assert result["output_throughput"] == 204.66
    assert (result["mean_ttft_ms"], result["median_ttft_ms"], result["p99_ttft_ms"]) == (104.14, 102.22, 153.82)
    assert (result["mean_tpot_ms"], result["median_tpot_ms"], result["p99_tpot_ms"]) == (38.78, 38.7, 48.03)
    assert (result["mean_itl_ms"], result["median_itl_ms"], result["p99_itl_ms"]) == (38.46, 36.96, 75.03)
    assert result["failed"] == 0
    assert result["duration_s"] == 212.771
    assert result["request_rate"] == "inf"
    assert result["max_concurrency"] == 8
    assert "std_ttft_ms" not in result


def test_without_save_detailed_there_are_no_per_request_times() -> None:
    result = bench_result(json.dumps(SAVED), "vllm-0")
    assert "request_ttft_ms" not in result and "request_tpot_ms" not in result


def test_per_request_times_of_the_requests_that_succeeded_are_kept_in_ms() -> None:
    # --save-detailed's lists: one entry per request, a failed request has an error text and no times.
    detailed = {**SAVED, "num_prompts": 3, "completed": 2,
                "input_lens": [211, 211, 211], "output_lens": [4, 0, 3], "generated_texts": ["a b c d", "", "a b c"],
                "ttfts": [0.1012, 0.0, 0.0955], "itls": [[0.03, 0.031, 0.029], [], [0.04, 0.02]],
                "errors": ["", "Bad Request", ""]}
    result = bench_result(json.dumps(detailed), "vllm-0")
    assert result["request_ttft_ms"] == [101.2, 95.5]
    assert result["request_tpot_ms"] == [30.0, 30.0]
    assert result["failed"] == 1
    assert "generated_texts" not in result and "itls" not in result


def test_per_request_lists_of_different_lengths_are_refused() -> None:
    with pytest.raises(AnsibleFilterError, match=r"ttfts \(2\), itls \(1\) and errors \(2\)"):
        bench_result({**SAVED, "ttfts": [0.1, 0.1], "itls": [[0.03]], "errors": ["", ""]}, "vllm-0")


def test_failed_requests_are_the_prompts_that_did_not_complete() -> None:
    assert bench_result({**SAVED, "completed": 197})["failed"] == 3


def test_a_failed_count_in_the_file_wins() -> None:
    assert bench_result({**SAVED, "completed": 197, "failed": 2})["failed"] == 2


def test_a_file_without_percentiles_names_what_is_missing() -> None:
    data = {key: value for key, value in SAVED.items() if key != "p99_tpot_ms"}
    with pytest.raises(AnsibleFilterError, match=r"vllm-1: missing p99_tpot_ms"):
        bench_result(json.dumps(data), "vllm-1")


@pytest.mark.parametrize("text", ["", "not json", "[1, 2]"])
def test_unreadable_files_are_refused(text: str) -> None:
    with pytest.raises(AnsibleFilterError, match="vllm-0"):
        bench_result(text, "vllm-0")


def test_a_non_numeric_figure_is_refused() -> None:
    with pytest.raises(AnsibleFilterError, match="output_throughput is 'n/a'"):
        bench_result({**SAVED, "output_throughput": "n/a"}, "vllm-0")


def test_within_every_objective_passes() -> None:
    checked = bench_slo_check(bench_result(SAVED, "vllm-0"), {
        "ttft_p99_ms": 500, "tpot_p99_ms": 50, "min_output_throughput": 100, "max_failed": 0})
    assert checked["slo_status"] == "PASS"
    assert checked["breaches"] == []
    assert [c["ok"] for c in checked["slo_checks"]] == [True, True, True, True]


def test_null_objectives_are_not_checked_and_the_result_passes() -> None:
    checked = bench_slo_check(bench_result(SAVED, "vllm-0"), {
        "ttft_p99_ms": None, "tpot_p99_ms": None, "min_output_throughput": None, "max_failed": None})
    assert checked["slo_checks"] == []
    assert checked["slo_status"] == "PASS"


def test_limits_are_inclusive() -> None:
    checked = bench_slo_check(bench_result(SAVED, "vllm-0"), {"ttft_p99_ms": 153.82, "min_output_throughput": 204.66})
    assert checked["slo_status"] == "PASS"


def test_each_breach_names_the_metric_the_value_and_the_limit() -> None:
    checked = bench_slo_check(bench_result({**SAVED, "completed": 195}, "vllm-0"), {
        "ttft_p99_ms": 0.001, "tpot_p99_ms": 50, "min_output_throughput": 1000, "max_failed": 0})
    assert checked["slo_status"] == "FAIL"
    assert checked["breaches"] == [
        "P99 TTFT (ms) 153.82 (limit: at most 0.001)",
        "Output throughput (tok/s) 204.66 (limit: at least 1000)",
        "Failed requests 5 (limit: at most 0)",
    ]


def test_limits_given_as_extra_vars_strings_are_numbers() -> None:
    checked = bench_slo_check(bench_result(SAVED, "vllm-0"), {"ttft_p99_ms": "100"})
    assert checked["breaches"] == ["P99 TTFT (ms) 153.82 (limit: at most 100.0)"]


def test_a_bad_limit_or_an_unknown_objective_is_refused() -> None:
    with pytest.raises(AnsibleFilterError, match="vllm_benchmark_slo_ttft_p99_ms is 'fast'"):
        bench_slo_check(bench_result(SAVED, "vllm-0"), {"ttft_p99_ms": "fast"})
    with pytest.raises(AnsibleFilterError, match="unknown SLO name"):
        bench_slo_check(bench_result(SAVED, "vllm-0"), {"e2el_p99_ms": 1})


def test_the_table_names_node_instance_metric_measured_and_limit() -> None:
    slo = {"ttft_p99_ms": 0.001, "tpot_p99_ms": 100}
    results = [bench_slo_check(bench_result(SAVED, "vllm-0"), slo),
               bench_slo_check(bench_result({**SAVED, "p99_ttft_ms": 0.0005}, "vllm-1"), slo),
               bench_slo_check(bench_result({**SAVED, "p99_ttft_ms": 7.5}, "vllm-2"), slo)]
    assert bench_slo_table(results, "atlas-01").splitlines() == [
        "node      instance  metric         measured  limit",
        "atlas-01  vllm-0    P99 TTFT (ms)  153.82    at most 0.001",
        "atlas-01  vllm-2    P99 TTFT (ms)  7.5       at most 0.001",
    ]


def test_no_breach_gives_no_table() -> None:
    assert bench_slo_table([bench_slo_check(bench_result(SAVED, "vllm-0"), {})], "atlas-01") == ""


MODEL = "/root/.cache/modelscope/hub/models/Qwen/Qwen2___5-VL-7B-Instruct"
SETTINGS = {"model": MODEL, "served_model_name": "Qwen2.5-VL-7B-Instruct", "port": 8001, "dataset": "random",
            "num_prompts": 20, "request_rate": "inf", "max_concurrency": 4, "input_len": 128, "output_len": 64,
            "range_ratio": 0.0, "seed": 0, "ignore_eos": True, "ready_check_timeout": 600,
            "result_dir": "/tmp/atlas-vllm-bench", "result_filename": "vllm-1.json", "extra_args": []}


def _pairs(argv: list[str]) -> dict[str, str]:
    return {flag: value for flag, value in zip(argv, argv[1:], strict=False) if flag.startswith("--")}


def test_random_targets_the_completions_api_of_the_instance_and_saves_the_result() -> None:
    argv = bench_serve_argv(SETTINGS)
    assert argv[:3] == ["vllm", "bench", "serve"]
    pairs = _pairs(argv)
    assert pairs["--model"] == MODEL
    assert pairs["--served-model-name"] == "Qwen2.5-VL-7B-Instruct"
    assert (pairs["--host"], pairs["--port"]) == ("127.0.0.1", "8001")
    assert pairs["--dataset-name"] == "random"
    assert (pairs["--num-prompts"], pairs["--request-rate"], pairs["--max-concurrency"]) == ("20", "inf", "4")
    assert (pairs["--random-input-len"], pairs["--random-output-len"]) == ("128", "64")
    assert (pairs["--result-dir"], pairs["--result-filename"]) == ("/tmp/atlas-vllm-bench", "vllm-1.json")
    assert "--save-result" in argv and "--save-detailed" in argv and "--ignore-eos" in argv
    assert "--backend" not in argv and "--random-mm-bucket-config" not in argv


def test_random_mm_uses_the_chat_backend_and_passes_the_image_settings() -> None:
    argv = bench_serve_argv({**SETTINGS, "dataset": "random-mm", "mm_items_per_request": 2,
                             "mm_limit_per_prompt": {"image": 3, "video": 0},
                             "mm_bucket_config": "{(224, 224, 1): 1.0}"})
    pairs = _pairs(argv)
    assert (pairs["--backend"], pairs["--endpoint"]) == ("openai-chat", "/v1/chat/completions")
    assert pairs["--random-mm-base-items-per-request"] == "2"
    assert pairs["--random-mm-limit-mm-per-prompt"] == '{"image": 3, "video": 0}'
    assert pairs["--random-mm-bucket-config"] == "{(224, 224, 1): 1.0}"


def test_the_client_command_can_be_given() -> None:
    argv = bench_serve_argv({**SETTINGS, "command": ["python3", "/usr/local/bin/vllm", "bench", "serve"]})
    assert argv[:5] == ["python3", "/usr/local/bin/vllm", "bench", "serve", "--model"]


def test_unbounded_concurrency_and_eos_and_extra_args() -> None:
    argv = bench_serve_argv({**SETTINGS, "max_concurrency": None, "ignore_eos": False,
                             "extra_args": ["--temperature", 0]})
    assert "--max-concurrency" not in argv and "--ignore-eos" not in argv
    assert argv[-2:] == ["--temperature", "0"]


def test_settings_given_as_strings_reach_the_argv() -> None:
    # -e key=value gives every value as a string.
    pairs = _pairs(bench_serve_argv({**SETTINGS, "max_concurrency": "8", "num_prompts": "40"}))
    assert (pairs["--max-concurrency"], pairs["--num-prompts"]) == ("8", "40")
    # "0" is 0: unbounded, as null is.
    assert "--max-concurrency" not in bench_serve_argv({**SETTINGS, "max_concurrency": "0"})


@pytest.mark.parametrize("change, message", [
    ({"dataset": "sharegpt"}, "vllm_benchmark_dataset is 'sharegpt'"),
    ({"served_model_name": ""}, "needs served_model_name"),
    ({"extra_args": "--foo"}, "must be a list"),
    ({"command": "vllm bench serve"}, "vllm_benchmark_command must be a list"),
])
def test_bad_settings_are_refused(change: dict, message: str) -> None:
    with pytest.raises(AnsibleFilterError, match=message):
        bench_serve_argv({**SETTINGS, **change})


def test_bench_lines_give_one_line_per_instance() -> None:
    from ansible_collections.atlas.vllm.plugins.filter.bench_results import bench_lines

    results = [{"instance": "vllm-0", "dataset": "random", "request_throughput": 3.2, "output_throughput": 410.5,
                "p99_ttft_ms": 812.0, "p99_tpot_ms": 31.4, "failed": 0, "slo_status": "PASS"}]
    assert bench_lines(results, "atlas-01") == [
        "atlas-01 vllm-0 (random): 3.2 req/s, 410.5 tok/s out, TTFT p99 812.0 ms, TPOT p99 31.4 ms, 0 failed, SLO PASS"
    ]
    assert bench_lines([], "atlas-01") == []
