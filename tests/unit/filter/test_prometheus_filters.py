import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.atlas.vllm.plugins.filter.prometheus import (
    duration_seconds,
    prometheus_npu_assignments,
    prometheus_npu_exporter_targets,
    prometheus_settings_errors,
    prometheus_vllm_targets,
)

GOOD = {
    "prometheus_listen_address": "0.0.0.0:9090",
    "prometheus_retention_time": "15d",
    "prometheus_scrape_interval": "15s",
    "prometheus_scrape_timeout": "10s",
    "prometheus_evaluation_interval": "15s",
    "prometheus_ready_timeout": 60,
    "prometheus_alert_npu_for": "0s",
    "prometheus_alert_kv_cache_usage": 0.9,
    "prometheus_alert_waiting_requests": 16,
    "prometheus_alert_ttft_p95_ms": 2000,
    "prometheus_alert_stray_hbm_mb": 8192,
}


@pytest.mark.parametrize(("text", "seconds"), [("15d", 1296000), ("1h30m", 5400), ("0s", 0), ("250ms", 0.25),
                                               ("1w2d", 777600), ("2y", 63072000)])
def test_prometheus_durations_are_read(text, seconds):
    assert duration_seconds(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["15", "15 d", "d", "30m1h", "1.5h", "", "15days", "-1d"])
def test_what_prometheus_rejects_is_not_a_duration(text):
    assert duration_seconds(text) is None


def test_the_defaults_pass():
    assert prometheus_settings_errors(GOOD, "gw-01") == []


def test_a_retention_prometheus_rejects_names_the_variable_and_the_syntax():
    (error,) = prometheus_settings_errors({**GOOD, "prometheus_retention_time": "15 days"}, "gw-01")
    assert error.startswith("gw-01: prometheus_retention_time is '15 days', not a Prometheus duration")
    assert "15d" in error


def test_a_zero_interval_is_refused_but_an_alert_may_fire_at_once():
    errors = prometheus_settings_errors({**GOOD, "prometheus_scrape_interval": "0s", "prometheus_scrape_timeout": "0s"})
    assert [e.split(" is ")[0] for e in errors] == ["?: prometheus_scrape_interval", "?: prometheus_scrape_timeout"]
    assert prometheus_settings_errors({**GOOD, "prometheus_alert_npu_for": "0s"}) == []


def test_a_timeout_longer_than_the_interval_is_refused():
    (error,) = prometheus_settings_errors({**GOOD, "prometheus_scrape_timeout": "1m"}, "gw-01")
    assert "prometheus_scrape_timeout (1m) is longer than prometheus_scrape_interval (15s)" in error


@pytest.mark.parametrize(("name", "value", "rule"), [("prometheus_alert_kv_cache_usage", 90, "a number from 0.01"),
                                                     ("prometheus_alert_kv_cache_usage", 0, "a number from 0.01"),
                                                     ("prometheus_alert_kv_cache_usage", "most", "a number from 0.01"),
                                                     ("prometheus_alert_waiting_requests", 0, "a whole number from 1"),
                                                     ("prometheus_alert_ttft_p95_ms", "2000ms", "a whole number from"),
                                                     ("prometheus_alert_stray_hbm_mb", True, "a whole number from"),
                                                     ("prometheus_ready_timeout", "7200", "a whole number from 1")])
def test_a_threshold_outside_its_range_names_the_variable_and_the_range(name, value, rule):
    (error,) = prometheus_settings_errors({**GOOD, name: value}, "gw-01")
    assert error.startswith(f"gw-01: {name} is {value!r}; it must be {rule}")


def test_thresholds_given_as_strings_that_convert_pass():
    # -e key=value gives every value as a string.
    strings = {"prometheus_alert_kv_cache_usage": "0.9", "prometheus_alert_waiting_requests": "16",
               "prometheus_alert_ttft_p95_ms": "2000", "prometheus_alert_stray_hbm_mb": "8192",
               "prometheus_ready_timeout": "60"}
    assert prometheus_settings_errors({**GOOD, **strings}, "gw-01") == []


@pytest.mark.parametrize("listen", ["9090", "0.0.0.0:99999", "0.0.0.0", "[::]:9090x"])
def test_a_listen_address_prometheus_rejects_is_refused(listen):
    (error,) = prometheus_settings_errors({**GOOD, "prometheus_listen_address": listen})
    assert "prometheus_listen_address" in error and "host:port" in error


def test_ipv6_and_host_names_listen():
    for listen in ("[::]:9090", "gw-01.example:9090", ":9090"):
        assert prometheus_settings_errors({**GOOD, "prometheus_listen_address": listen}) == []


def test_settings_must_be_a_mapping():
    with pytest.raises(AnsibleFilterError, match="expects a mapping"):
        prometheus_settings_errors(["15d"])


NODES = [
    {"inventory_hostname": "atlas-02", "ansible_host": "10.231.1.12", "npu_exporter_port": 9182,
     "vllm_endpoints": [{"name": "vllm-8000", "url": "http://10.231.1.12:8000", "devices": [4, 5, 6, 7]}]},
    {"inventory_hostname": "atlas-01", "ansible_host": "10.231.1.11",
     "vllm_endpoints": [{"name": "vllm-8001", "url": "http://10.231.1.11:8001", "devices": ["4", "5"]},
                        {"name": "vllm-8000", "url": "http://10.231.1.11:8000", "devices": [0, 1, 2, 3]}]},
    {"inventory_hostname": "atlas-03"},
]


def test_vllm_targets_come_from_the_plan_of_every_node():
    assert prometheus_vllm_targets(NODES) == [
        {"node": "atlas-01", "instance_name": "vllm-8000", "url": "http://10.231.1.11:8000", "devices": [0, 1, 2, 3]},
        {"node": "atlas-01", "instance_name": "vllm-8001", "url": "http://10.231.1.11:8001", "devices": [4, 5]},
        {"node": "atlas-02", "instance_name": "vllm-8000", "url": "http://10.231.1.12:8000", "devices": [4, 5, 6, 7]},
    ]


def test_exporter_targets_use_each_nodes_port_and_address():
    assert prometheus_npu_exporter_targets(NODES + [{"inventory_hostname": "v6", "ansible_host": "fd00::5"}], 8082) == [
        {"node": "atlas-01", "address": "10.231.1.11:8082"},
        {"node": "atlas-02", "address": "10.231.1.12:9182"},
        {"node": "atlas-03", "address": "atlas-03:8082"},
        {"node": "v6", "address": "[fd00::5]:8082"},
    ]


def test_assignments_gather_the_npus_of_each_node_once():
    targets = prometheus_vllm_targets(NODES) + [{"node": "atlas-02", "devices": [7, 6]}]
    assert prometheus_npu_assignments(targets) == [{"node": "atlas-01", "devices": [0, 1, 2, 3, 4, 5]},
                                                    {"node": "atlas-02", "devices": [4, 5, 6, 7]}]
    assert prometheus_npu_assignments([]) == []
