"""Prometheus text exposition parsing, on the shapes vLLM 0.11.0 serves on /metrics."""

from __future__ import annotations

import math

import pytest
from ansible_collections.atlas.vllm.plugins.module_utils.vllm_metrics import gauge_sum, parse_prometheus_text

# Shapes of vLLM 0.11.0's /metrics (prometheus_client, text format 0.0.4).
VLLM_METRICS = """\
# HELP python_gc_objects_collected_total Objects collected during gc
# TYPE python_gc_objects_collected_total counter
python_gc_objects_collected_total{generation="0"} 12345.0
# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="Qwen2.5-VL-7B-Instruct"} 2.0
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="Qwen2.5-VL-7B-Instruct"} 1.0
# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="Qwen2.5-VL-7B-Instruct"} 0.0421
# HELP vllm:prompt_tokens_total Number of prefill tokens processed.
# TYPE vllm:prompt_tokens_total counter
vllm:prompt_tokens_total{engine="0",model_name="Qwen2.5-VL-7B-Instruct"} 7311.0
# HELP vllm:time_to_first_token_seconds Histogram of time to first token in seconds.
# TYPE vllm:time_to_first_token_seconds histogram
vllm:time_to_first_token_seconds_bucket{engine="0",le="0.001",model_name="Qwen2.5-VL-7B-Instruct"} 0.0
vllm:time_to_first_token_seconds_bucket{engine="0",le="+Inf",model_name="Qwen2.5-VL-7B-Instruct"} 17.0
vllm:time_to_first_token_seconds_count{engine="0",model_name="Qwen2.5-VL-7B-Instruct"} 17.0
vllm:time_to_first_token_seconds_sum{engine="0",model_name="Qwen2.5-VL-7B-Instruct"} 3.52
"""

LABELS = {"engine": "0", "model_name": "Qwen2.5-VL-7B-Instruct"}


def test_vllm_exposition():
    samples = parse_prometheus_text(VLLM_METRICS)
    assert len(samples) == 9
    assert ("vllm:num_requests_running", LABELS, 2.0) in samples
    assert ("vllm:num_requests_waiting", LABELS, 1.0) in samples
    assert samples[0] == ("python_gc_objects_collected_total", {"generation": "0"}, 12345.0)
    bucket = [s for s in samples if s[1].get("le") == "+Inf"]
    assert bucket == [("vllm:time_to_first_token_seconds_bucket", {**LABELS, "le": "+Inf"}, 17.0)]
    assert gauge_sum(samples, "vllm:num_requests_running") == 2.0
    assert gauge_sum(samples, "vllm:num_requests_waiting") == 1.0


def test_idle_gauges_are_zero_not_absent():
    text = (
        "# HELP vllm:num_requests_running Number of requests in model execution batches.\n"
        "# TYPE vllm:num_requests_running gauge\n"
        'vllm:num_requests_running{engine="0",model_name="Qwen2.5-VL-7B-Instruct"} 0.0\n'
    )
    samples = parse_prometheus_text(text)
    assert gauge_sum(samples, "vllm:num_requests_running") == 0.0
    assert gauge_sum(samples, "vllm:num_requests_waiting") is None


def test_gauge_sum_adds_every_engine_and_model():
    text = (
        'vllm:num_requests_running{engine="0",model_name="m"} 2.0\n'
        'vllm:num_requests_running{engine="1",model_name="m"} 3.0\n'
        'vllm:num_requests_running_other{engine="1"} 100\n'
    )
    assert gauge_sum(parse_prometheus_text(text), "vllm:num_requests_running") == 5.0


def test_label_values_with_escapes_commas_and_braces():
    text = r'm{a="say \"hi\", then go",b="c:\\tmp\\x",c="two\nlines",d="}{=",} 1' + "\n"
    ((name, labels, value),) = parse_prometheus_text(text)
    assert name == "m" and value == 1.0
    assert labels == {"a": 'say "hi", then go', "b": "c:\\tmp\\x", "c": "two\nlines", "d": "}{="}


def test_special_values_timestamps_and_whitespace():
    text = (
        "a +Inf\n"
        "b -Inf\n"
        "c NaN\n"
        "d 1.5e3 1712345678901\n"
        'e{x="1"} -2 -5\n'
        "   \n"
        "f\t7\n"
        "g{} 4\n"
        "h 1 \n"
        "# EOF\n"
        "#just a comment\n"
    )
    samples = {name: value for name, _labels, value in parse_prometheus_text(text)}
    assert samples["a"] == math.inf and samples["b"] == -math.inf and math.isnan(samples["c"])
    assert samples["d"] == 1500.0 and samples["e"] == -2.0 and samples["f"] == 7.0
    assert samples["g"] == 4.0 and samples["h"] == 1.0


def test_empty_text_has_no_samples():
    assert parse_prometheus_text("") == []
    assert gauge_sum([], "vllm:num_requests_running") is None


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("<html>", "expected a metric name"),
        ("m", "expected a value"),
        ('m{a="1"}', "expected a value"),
        ('m{a="1"}2', "expected a value"),
        ("m{a=1} 2", "not quoted"),
        ('m{a="1} 2', "unterminated"),
        ('m{a="1" b="2"} 2', "expected ',' or '}'"),
        ('m{="1"} 2', "expected a label name"),
        ('m{a:"1"} 2', "expected '='"),
        ("m one", "not a number"),
        ("m 1 12.5", "timestamp"),
        ("m 1 2 3", "unexpected text"),
        ("m-x 1", "expected a value"),
    ],
)
def test_malformed_lines_name_the_line(line, words):
    with pytest.raises(ValueError, match=words) as error:
        parse_prometheus_text("# TYPE m gauge\n" + line + "\n")
    assert "line 2" in str(error.value)
