"""The fleet's Grafana dashboard (roles/prometheus/files/atlas-fleet-dashboard.json): it imports into any Grafana, every
panel queries, and every query is PromQL that Prometheus parses (checked by promtool as recording rules).

molecule/shared/tasks/dashboard_queries.yml runs the same queries against a live Prometheus.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from promtool_support import run_promtool

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "roles" / "prometheus" / "files" / "atlas-fleet-dashboard.json"
# What Grafana puts in for its variables with "All" selected and a one-minute step; the live check does the same.
VARIABLES = {"$__rate_interval": "1m", "$__interval": "1m", "$node": ".*"}
# Every metric the fleet exports that the dashboard may read (vLLM 0.11, vllm-router 0.1.17, Huawei's NPU exporter),
# so a misspelt name fails here rather than as an empty panel.
KNOWN_METRICS = {
    "up", "ALERTS",
    "vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc",
    "vllm:time_to_first_token_seconds_bucket", "vllm:inter_token_latency_seconds_bucket",
    "vllm:e2e_request_latency_seconds_bucket", "vllm:prompt_tokens_total", "vllm:generation_tokens_total",
    "vllm:request_success_total",
    "vllm_router_processed_requests_total", "vllm_router_worker_health", "vllm_router_requests_total",
    "npu_chip_info_health_status", "npu_chip_info_network_status", "npu_chip_info_link_status",
    "npu_chip_info_hbm_used_memory", "npu_chip_info_hbm_total_memory", "npu_chip_info_utilization",
    "npu_chip_info_temperature", "npu_chip_info_power",
}


def load() -> dict:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def all_panels(dashboard: dict) -> list[dict]:
    """Top-level panels plus those a collapsed row holds."""
    panels = []
    for panel in dashboard["panels"]:
        panels.append(panel)
        panels.extend(panel.get("panels") or [])
    return panels


def query_panels(dashboard: dict) -> list[dict]:
    return [panel for panel in all_panels(dashboard) if panel["type"] != "row"]


def queries(dashboard: dict) -> list[tuple[str, str, str]]:
    """(panel title, refId, expr) of every target."""
    return [(panel["title"], target["refId"], target["expr"])
            for panel in query_panels(dashboard) for target in panel["targets"]]


def substitute(expr: str) -> str:
    for variable, value in VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def test_the_dashboard_imports_into_any_grafana():
    dashboard = load()
    assert 36 <= dashboard["schemaVersion"] <= 41
    assert dashboard["uid"] and dashboard["title"]
    # The data source is chosen on import: a variable of type datasource, used by every panel and query.
    variables = {variable["name"]: variable for variable in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for panel in query_panels(dashboard):
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == panel["datasource"], (panel["title"], target["refId"])
    assert variables["node"]["datasource"]["uid"] == "${datasource}"


def test_the_node_variable_filters_every_node_level_query():
    dashboard = load()
    node = {variable["name"]: variable for variable in dashboard["templating"]["list"]}["node"]
    assert node["multi"] is True and node["includeAll"] is True and node["allValue"] == ".*"
    # Each selector of the node-level jobs carries the filter; the routers' series are fleet-wide.
    for title, ref, expr in queries(dashboard):
        for selector in re.findall(r"\{[^}]*\}", expr):
            if re.search(r'job="(vllm|npu_exporter)"', selector):
                assert 'node=~"$node"' in selector, f"{title} [{ref}]: {selector} lacks node=~\"$node\""


def test_every_panel_has_queries_with_legends_and_unique_ids():
    dashboard = load()
    ids = [panel["id"] for panel in all_panels(dashboard)]
    assert len(ids) == len(set(ids)), f"duplicate panel ids: {sorted(i for i in ids if ids.count(i) > 1)}"
    panels = query_panels(dashboard)
    assert len(panels) >= 12
    for panel in panels:
        assert panel["title"], panel["id"]
        assert panel["targets"], f"{panel['title']}: no targets"
        refs = [target["refId"] for target in panel["targets"]]
        assert len(refs) == len(set(refs)), f"{panel['title']}: duplicate refIds {refs}"
        for target in panel["targets"]:
            assert target.get("expr", "").strip(), f"{panel['title']} [{target['refId']}]: no expr"
            assert target.get("legendFormat", "").strip(), f"{panel['title']} [{target['refId']}]: no legendFormat"
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]


def test_the_dashboard_covers_npus_instances_and_the_router():
    text = " ".join(expr for _, _, expr in queries(load()))
    for metric in ("npu_chip_info_health_status", "npu_chip_info_hbm_used_memory", "npu_chip_info_hbm_total_memory",
                   "npu_chip_info_utilization", "vllm:num_requests_running", "vllm:num_requests_waiting",
                   "vllm:time_to_first_token_seconds_bucket", "vllm:inter_token_latency_seconds_bucket",
                   "vllm:kv_cache_usage_perc", "vllm_router_processed_requests_total"):
        assert metric in text, f"no panel reads {metric}"


def test_every_metric_the_dashboard_reads_is_one_the_fleet_exports():
    for title, ref, expr in queries(load()):
        # A metric name is an identifier directly before a selector's brace.
        for name in re.findall(r"([A-Za-z_:][A-Za-z0-9_:]*)\{", expr):
            assert name in KNOWN_METRICS, f"{title} [{ref}]: unknown metric {name}"


def test_promtool_parses_every_query(tmp_path):
    rules = [{"record": f"dashboard:panel_{index}", "expr": substitute(expr)}
             for index, (_, _, expr) in enumerate(queries(load()))]
    rules_file = tmp_path / "dashboard.rules.yml"
    rules_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}), encoding="utf-8")
    result = run_promtool("check", "rules", str(rules_file))
    assert result.returncode == 0, result.stdout + result.stderr
    # No Grafana variable is left for Prometheus to choke on.
    assert not [rule["expr"] for rule in rules if "$" in rule["expr"]]
