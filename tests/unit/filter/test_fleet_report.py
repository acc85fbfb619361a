"""The fleet report: built from recorded results, secrets removed, rendered as Markdown and JUnit."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from ansible_collections.atlas.vllm.plugins.filter.fleet_report import (
    fleet_report,
    fleet_report_junit,
    fleet_report_markdown,
    redact,
)

GENERATED = "2026-11-29T22:00:00Z"
LINK_DOWN = {"name": "npu_link", "status": "CRITICAL", "device": 3, "detail": "link status: DOWN",
             "action": "check the optical module of NPU 3 and its switch port (400GE1/1/2:4)"}


def records() -> list[dict]:
    return [
        {"host": "atlas-02", "stage": "verdict", "recorded": GENERATED,
         "data": {"status": "CRITICAL", "checks": [LINK_DOWN, {"name": "npu_health", "status": "PASS",
                                                                "device": 0, "detail": "OK", "action": ""}]}},
        {"host": "atlas-01", "stage": "verdict", "recorded": GENERATED, "data": {"status": "PASS", "checks": []}},
        {"host": "atlas-01", "stage": "instances", "recorded": GENERATED,
         "data": [{"name": "vllm-0", "url": "http://10.231.0.11:8000", "devices": [0, 1], "state": "ready",
                   "ready": True, "time_to_ready_s": 21.4, "api_key": "sk-secret"}]},
        {"host": "atlas-01", "stage": "benchmark", "recorded": GENERATED,
         "data": {"instance": "vllm-0", "request_throughput": 3.2, "output_throughput": 410.5, "p99_ttft_ms": 180.0,
                  "p99_tpot_ms": 31.0, "failed": 0, "slo_status": "PASS"}},
    ]


def test_the_report_counts_verdicts_and_ready_instances_and_orders_nodes() -> None:
    report = fleet_report(records(), GENERATED)
    assert [node["host"] for node in report["nodes"]] == ["atlas-01", "atlas-02"]
    assert report["summary"] == {"nodes": 2, "pass": 1, "warning": 0, "critical": 1, "instances": 1,
                                 "instances_ready": 1, "incomplete": 0}


def test_no_secret_survives_into_the_report() -> None:
    report = fleet_report(records(), GENERATED)
    assert "sk-secret" not in repr(report)
    assert report["nodes"][0]["instances"][0]["api_key"] == "<redacted>"
    assert "sk-secret" not in fleet_report_markdown(report)


def test_markdown_names_the_failing_node_device_and_action() -> None:
    text = fleet_report_markdown(fleet_report(records(), GENERATED))
    assert "**2 node(s)**: 1 PASS, 0 WARNING, 1 CRITICAL; **1/1** instance(s) ready." in text
    assert ("| atlas-02 | CRITICAL | 3 | npu_link | link status: DOWN | check the optical module of NPU 3 and its "
            "switch port (400GE1/1/2:4) |") in text
    assert "| atlas-01 | vllm-0 | http://10.231.0.11:8000 | 0,1 | ready | 21.4 | - |" in text
    assert "| atlas-01 | vllm-0 | 3.2 | 410.5 | 180.0 | 31.0 | 0 | PASS |" in text


def test_junit_fails_the_critical_node_and_the_drifted_one() -> None:
    xml = fleet_report_junit(fleet_report(records(), GENERATED), {"atlas-01": 0, "atlas-02": 2})
    suite = ET.fromstring(xml).find("testsuite")
    failed = {(case.get("classname"), case.get("name")) for case in suite if case.find("failure") is not None}
    assert failed == {("atlas-02", "preflight verdict"), ("atlas-02", "no drift (second deploy changed nothing)")}
    # Each node's case for the results of its last run passes: both recorded theirs.
    assert suite.get("tests") == "8" and suite.get("failures") == "2"


def test_results_recorded_before_since_are_left_out() -> None:
    old = {"host": "atlas-01", "stage": "benchmark", "recorded": "2026-11-28T10:00:00", "data": {"instance": "x"}}
    new = {"host": "atlas-01", "stage": "verdict", "recorded": "2026-11-29T22:00:00", "data": {"status": "PASS"}}
    report = fleet_report([old, new], GENERATED, since="2026-11-29T00:00:00")
    assert "benchmark" not in report["nodes"][0] and report["nodes"][0]["verdict"]["status"] == "PASS"


def test_the_fleet_endpoint_comes_first_with_the_instances_behind_it() -> None:
    records = [{"host": "atlas-gw-01", "stage": "endpoint", "recorded": "2026-12-03T10:00:00",
                "data": {"url": "http://10.0.0.201:30000", "workers": ["http://10.0.0.11:8000"]}},
               {"host": "atlas-01", "stage": "verdict", "recorded": "2026-12-03T10:00:00",
                "data": {"status": "PASS", "checks": []}}]
    report = fleet_report(records, "2026-12-03T10:01:00Z")
    assert report["endpoints"] == [{"gateway": "atlas-gw-01", "url": "http://10.0.0.201:30000",
                                    "workers": ["http://10.0.0.11:8000"],
                                    "recorded": {"endpoint": "2026-12-03T10:00:00"}}]
    assert [node["host"] for node in report["nodes"]] == ["atlas-01"]
    markdown = fleet_report_markdown(report).splitlines()
    assert markdown[4] == ("**Fleet endpoint**: http://10.0.0.201:30000 (atlas-gw-01), 1 instance(s) behind it: "
                           "http://10.0.0.11:8000")


def test_the_served_certificate_is_reported_under_its_endpoint() -> None:
    tls = {"verdict": "WARNING", "days_left": 12, "not_after": "2026-12-15T10:00:00+00:00", "source": "fleet CA",
           "ca_file": "/srv/ca/ca.crt"}
    records = [{"host": "atlas-gw-01", "stage": "tls", "recorded": "2026-12-03T10:00:00", "data": tls},
               {"host": "atlas-gw-01", "stage": "endpoint", "recorded": "2026-12-03T10:00:00",
                "data": {"url": "https://10.0.0.201:8443", "workers": []}}]
    report = fleet_report(records, "2026-12-03T10:01:00Z")
    assert report["endpoints"] == [{"gateway": "atlas-gw-01", "url": "https://10.0.0.201:8443", "workers": [],
                                    "tls": tls, "recorded": {"tls": "2026-12-03T10:00:00",
                                                             "endpoint": "2026-12-03T10:00:00"}}]
    markdown = fleet_report_markdown(report).splitlines()
    assert markdown[5] == ("**Certificate** (fleet CA): WARNING, expires 2026-12-15T10:00:00+00:00 (12 days); "
                           "clients trust /srv/ca/ca.crt")


def test_an_expired_endpoint_certificate_fails_its_junit_case() -> None:
    expired = {"verdict": "CRITICAL", "days_left": -2, "not_after": "2026-12-01T10:00:00+00:00", "source": "site"}
    records = [{"host": "atlas-gw-01", "stage": "tls", "recorded": "2026-12-03T10:00:00", "data": expired},
               {"host": "atlas-gw-02", "stage": "tls", "recorded": "2026-12-03T10:00:00",
                "data": {**expired, "verdict": "WARNING", "days_left": 20}}]
    suite = ET.fromstring(fleet_report_junit(fleet_report(records, "2026-12-03T10:01:00Z")))
    cases = {case.get("classname"): case for case in suite.iter("testcase")}
    assert cases["atlas-gw-01"].find("failure") is not None
    assert "site certificate expired 2026-12-01" in cases["atlas-gw-01"].find("failure").get("message", "") + (
        cases["atlas-gw-01"].find("failure").text or "")
    assert cases["atlas-gw-02"].find("failure") is None


def test_without_gateways_the_report_says_clients_use_the_instances() -> None:
    report = fleet_report([], "2026-12-03T10:01:00Z")
    assert "clients use the instance endpoints" in fleet_report_markdown(report)


def test_redaction_matches_secret_names_not_words_that_contain_them() -> None:
    record = {"vllm_api_key": "sk-1", "HF_TOKEN": "hf_abc", "X-Api-Key": "k", "password": "p", "usage": {
        "prompt_tokens": 81, "total_tokens": 97, "completion_tokens": 16}, "max_tokens": 16}
    assert redact(record) == {"vllm_api_key": "<redacted>", "HF_TOKEN": "<redacted>", "X-Api-Key": "<redacted>",
                              "password": "<redacted>", "usage": {"prompt_tokens": 81, "total_tokens": 97,
                                                                   "completion_tokens": 16}, "max_tokens": 16}


@pytest.mark.parametrize(("text", "expected"), [
    ("http://mirror:s3cret@10.231.0.1:8090/Qwen/x", "http://<redacted>@10.231.0.1:8090/Qwen/x"),
    ("https://user@mirror.example/models", "https://<redacted>@mirror.example/models"),
    ("VLLM_API_KEY=sk-abc123 HCCL_IF_BASE_PORT=60000", "VLLM_API_KEY=<redacted> HCCL_IF_BASE_PORT=60000"),
    ("--api-key sk-1 and api_key: 'sk-2'", "--api-key <redacted> and api_key: '<redacted>'"),
    ("Authorization: Bearer eyJhbGciOi.x-y", "Authorization: <redacted> <redacted>"),
    ("served 'qwen2.5-vl', max_model_len 16384", "served 'qwen2.5-vl', max_model_len 16384"),
])
def test_secrets_inside_values_are_scrubbed(text: str, expected: str) -> None:
    assert redact({"detail": text})["detail"] == expected


# A run that failed on atlas-02 at serve time, after yesterday's run recorded everything there.
YESTERDAY, STARTED, FAILED_AT = "2026-12-03T22:00:00", "2026-12-04T22:00:00", "2026-12-04T22:03:10"


def _failed_run(outcome: str = "failed") -> dict:
    return {"host": "atlas-02", "stage": "run", "recorded": FAILED_AT,
            "data": {"outcome": outcome, "playbook": "deploy.yml", "play": "Prepare the nodes and start serving",
                     "task": "Wait for the instances", "started": STARTED}}


def _history() -> list[dict]:
    return [
        {"host": "atlas-02", "stage": "verdict", "recorded": YESTERDAY, "data": {"status": "PASS", "checks": []}},
        {"host": "atlas-02", "stage": "instances", "recorded": YESTERDAY,
         "data": [{"name": "vllm-0", "state": "ready", "ready": True}]},
        {"host": "atlas-01", "stage": "verdict", "recorded": "2026-12-04T22:01:00",
         "data": {"status": "PASS", "checks": []}},
    ]


def test_a_failed_run_replaces_the_stale_pass_it_left_with_the_reason() -> None:
    fresh_verdict = {"host": "atlas-02", "stage": "verdict", "recorded": "2026-12-04T22:01:30",
                     "data": {"status": "PASS", "checks": []}}
    report = fleet_report([*_history(), fresh_verdict, _failed_run()], GENERATED, nodes=["atlas-01", "atlas-02"])
    node = {n["host"]: n for n in report["nodes"]}["atlas-02"]
    # Yesterday's ready instance is not this run's: gone. The verdict this run recorded before failing stays.
    assert "instances" not in node and node["verdict"]["status"] == "PASS"
    assert node["problem"].startswith("failed in play 'Prepare the nodes and start serving' at task 'Wait for the "
                                      "instances' of deploy.yml (2026-12-04T22:03:10)")
    assert report["summary"]["incomplete"] == 1 and report["summary"]["instances"] == 0
    text = fleet_report_markdown(report)
    assert "**1 host(s) without results from their last run**" in text
    assert "| atlas-02 | failed in play 'Prepare the nodes and start serving'" in text
    suite = ET.fromstring(fleet_report_junit(report, {})).find("testsuite")
    failing = {(c.get("classname"), c.get("name")): c.find("failure") for c in suite if c.find("failure") is not None}
    assert list(failing) == [("atlas-02", "results recorded by its last run")]
    assert "Wait for the instances" in failing[("atlas-02", "results recorded by its last run")].get("message")


def test_an_unreachable_host_is_named_so_and_a_later_complete_run_clears_it() -> None:
    report = fleet_report([*_history(), _failed_run("unreachable")], GENERATED, nodes=["atlas-01", "atlas-02"])
    node = {n["host"]: n for n in report["nodes"]}["atlas-02"]
    assert node["problem"].startswith("unreachable in play") and "verdict" not in node
    later = [*_history(), _failed_run("unreachable"),
             {"host": "atlas-02", "stage": "verdict", "recorded": "2026-12-05T22:01:00",
              "data": {"status": "PASS", "checks": []}}]
    node = {n["host"]: n for n in fleet_report(later, GENERATED, nodes=["atlas-01", "atlas-02"])["nodes"]}["atlas-02"]
    assert "problem" not in node and node["verdict"]["status"] == "PASS"


def test_every_inventory_host_appears_even_with_no_record_at_all() -> None:
    since = "2026-12-04T21:59:00"
    report = fleet_report(_history(), GENERATED, since=since, nodes=["atlas-01", "atlas-02", "atlas-03"],
                          gateways=["atlas-gw-01"])
    problems = {n["host"]: n.get("problem") for n in report["nodes"]}
    assert problems["atlas-01"] is None
    # atlas-02's records are from before this run; atlas-03 never recorded anything.
    assert problems["atlas-02"].startswith(f"no result recorded since {since}: the run never reached this host")
    assert problems["atlas-03"].startswith(f"no result recorded since {since}")
    assert report["endpoints"][0]["problem"].startswith("no result recorded since")
    suite = ET.fromstring(fleet_report_junit(report, {})).find("testsuite")
    named = {c.get("classname") for c in suite}
    assert named == {"atlas-01", "atlas-02", "atlas-03", "atlas-gw-01"}
    assert suite.get("failures") == "3"


def test_the_values_of_declared_secrets_are_scrubbed_wherever_they_appear() -> None:
    record = {"instances": [{"name": "vllm-0", "note": "started with sk-live-0042abcd as its key",
                             "args": ["--served-model-name", "qwen", "--api-key", "sk-live-0042abcd"]}],
              "router": {"clients": "client key ck-site-9f8e7d was accepted"}, "short": "on"}
    secrets = ["sk-live-0042abcd", [{"name": "ci", "key": "ck-site-9f8e7d"}], "on", ""]
    scrubbed = redact(record, secrets)
    text = repr(scrubbed)
    assert "sk-live-0042abcd" not in text and "ck-site-9f8e7d" not in text
    assert scrubbed["instances"][0]["note"] == "started with <redacted> as its key"
    assert scrubbed["router"]["clients"] == "client key <redacted> was accepted"
    # Values shorter than six characters are matched by name only: "on" stays where it is a word.
    assert scrubbed["short"] == "on"


def test_the_instances_table_names_the_build_each_instance_runs() -> None:
    digest, image_id = "sha256:" + "4f" * 32, "sha256:" + "9b" * 32
    pulled = {"name": "vllm-0", "url": "u0", "devices": [0], "state": "ready", "image_id": image_id,
              "image_digests": [digest]}
    loaded = dict(pulled, name="vllm-1", url="u1", image_digests=[])
    recs = [{"host": "atlas-01", "stage": "instances", "recorded": GENERATED, "data": [pulled, loaded]}]
    text = fleet_report_markdown(fleet_report(recs, GENERATED))
    assert f"| atlas-01 | vllm-0 | u0 | 0 | ready |  | {digest} |" in text
    assert f"| atlas-01 | vllm-1 | u1 | 0 | ready |  | {image_id} (no registry digest) |" in text
