"""The prometheus role's alert and NPU assignment rules, as Ansible renders them (promtool_support.render, for a
sample serving plan), checked by promtool and tested with the unit tests of tests/promtool.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from promtool_support import PROMTOOL_DIR, promtool, render, run_promtool

RULE_FILES = ("atlas-alerts.rules.yml", "atlas-npu-assignments.rules.yml")
TEST_FILES = sorted(PROMTOOL_DIR.glob("*.test.yml"))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    """The rule files for the sample plan, with the role's defaults."""
    promtool()
    return render(tmp_path_factory.mktemp("rules"))


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def alerts_of(rules_file: Path) -> dict[str, dict]:
    return {rule["alert"]: rule for group in load(rules_file)["groups"] for rule in group["rules"] if "alert" in rule}


def test_promtool_accepts_the_rendered_rules(rendered):
    result = run_promtool("check", "rules", *RULE_FILES, cwd=rendered)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("test_file", TEST_FILES, ids=[path.name for path in TEST_FILES])
def test_promtool_unit_tests_pass(rendered, test_file):
    # promtool finds rule_files relative to the test file, so the test sits beside the rendered rules.
    shutil.copy(test_file, rendered / test_file.name)
    result = run_promtool("test", "rules", test_file.name, cwd=rendered)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_case_that_fires_and_one_that_does_not(rendered):
    cases: dict[str, dict[str, list[str]]] = {}
    for test_file in TEST_FILES:
        for group in load(test_file)["tests"]:
            for case in group.get("alert_rule_test") or []:
                outcome = "fires" if case.get("exp_alerts") else "quiet"
                cases.setdefault(case["alertname"], {"fires": [], "quiet": []})[outcome].append(
                    f"{test_file.name}: {group['name']} at {case['eval_time']}")
    alerts = alerts_of(rendered / "atlas-alerts.rules.yml")
    assert len(alerts) == 10, sorted(alerts)
    missing = [f"{name}: no case where it {outcome}" for name in sorted(alerts) for outcome in ("fires", "quiet")
               if not cases.get(name, {}).get(outcome)]
    assert not missing, "\n".join(missing)
    unknown = sorted(set(cases) - set(alerts))
    assert not unknown, f"test cases for alerts the rules do not have: {unknown}"


def test_every_alert_says_who_is_affected_and_what_to_do(rendered):
    for name, rule in alerts_of(rendered / "atlas-alerts.rules.yml").items():
        assert rule["labels"]["severity"] in ("critical", "warning"), name
        annotations = rule["annotations"]
        assert {"summary", "description", "action"} <= set(annotations), name
        assert "{{ $labels.node }}" in annotations["summary"], name


def test_the_settings_reach_the_rules_and_odd_inventory_names_stay_valid(tmp_path):
    settings = {"prometheus_alert_npu_for": "30s", "prometheus_alert_waiting_requests": 48,
                "prometheus_alert_waiting_for": "15m", "prometheus_alert_kv_cache_usage": 0.97,
                "prometheus_alert_ttft_p95_ms": 1500, "prometheus_alert_stray_hbm_mb": 4096}
    # Quotes, a colon and a hash in a node name would break unquoted YAML.
    odd = 'rack-1: "atlas" #01'
    targets = [{"node": odd, "instance_name": "vllm-0", "url": "http://10.0.0.1:8000", "devices": [2, 3]}]
    rules = render(tmp_path, {**settings, "promtool_sample_targets": targets})
    result = run_promtool("check", "rules", *RULE_FILES, cwd=rules)
    assert result.returncode == 0, result.stdout + result.stderr

    alerts = alerts_of(rules / "atlas-alerts.rules.yml")
    assert alerts["AtlasNpuUnhealthy"]["for"] == "30s"
    assert alerts["AtlasVllmRequestsWaiting"]["for"] == "15m"
    assert alerts["AtlasVllmRequestsWaiting"]["expr"].endswith("> 48")
    assert alerts["AtlasVllmKvCacheFull"]["expr"].endswith("> 0.97")
    assert alerts["AtlasVllmTtftSlo"]["expr"].endswith("* 1000 > 1500")
    assert "> 4096\n" in alerts["AtlasNpuStrayHbm"]["expr"]
    assert "above 97 %" in alerts["AtlasVllmKvCacheFull"]["annotations"]["description"]

    recorded = [rule["labels"] for group in load(rules / "atlas-npu-assignments.rules.yml")["groups"]
                for rule in group["rules"]]
    assert recorded == [{"node": odd, "id": "2"}, {"node": odd, "id": "3"}]


def test_thresholds_given_as_strings_render_as_numbers(tmp_path):
    # -e key=value gives every value as a string; "0.97" * 100 would be the string repeated.
    settings = {"prometheus_alert_waiting_requests": "48", "prometheus_alert_kv_cache_usage": "0.97",
                "prometheus_alert_ttft_p95_ms": "1500", "prometheus_alert_stray_hbm_mb": "4096"}
    rules = render(tmp_path, {**settings, "promtool_sample_targets": []})
    result = run_promtool("check", "rules", *RULE_FILES, cwd=rules)
    assert result.returncode == 0, result.stdout + result.stderr
    alerts = alerts_of(rules / "atlas-alerts.rules.yml")
    assert alerts["AtlasVllmRequestsWaiting"]["expr"].endswith("> 48")
    assert alerts["AtlasVllmKvCacheFull"]["expr"].endswith("> 0.97")
    assert "above 97 %" in alerts["AtlasVllmKvCacheFull"]["annotations"]["description"]
    assert alerts["AtlasVllmTtftSlo"]["expr"].endswith("* 1000 > 1500")


def test_a_fleet_without_instances_gets_a_valid_empty_assignment_group(tmp_path):
    rules = render(tmp_path, {"promtool_sample_targets": []})
    result = run_promtool("check", "rules", *RULE_FILES, cwd=rules)
    assert result.returncode == 0, result.stdout + result.stderr
    assert load(rules / "atlas-npu-assignments.rules.yml")["groups"] == [
        {"name": "atlas-npu-assignments", "rules": []}]
