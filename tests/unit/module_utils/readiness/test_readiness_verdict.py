"""A node's verdict (plugins/module_utils/readiness/verdict.py) and its lines (render.py)."""

from __future__ import annotations

import copy

import pytest
from ansible_collections.atlas.vllm.plugins.module_utils.readiness.checks import ReadinessInputError
from ansible_collections.atlas.vllm.plugins.module_utils.readiness.render import (
    atlas_verdict_summary,
    atlas_verdict_table,
    readiness_check_line,
)
from ansible_collections.atlas.vllm.plugins.module_utils.readiness.verdict import atlas_failed_nodes, atlas_verdict


def item(status: str, name: str = "x", device=None) -> dict:
    return {"name": name, "status": status, "device": device, "detail": f"{name} detail", "action": f"{name} action"}


def test_verdict_is_the_worst_status():
    assert atlas_verdict([[item("PASS")], [item("WARNING")]])["status"] == "WARNING"
    assert atlas_verdict([[item("PASS")], [item("CRITICAL"), item("WARNING")]])["status"] == "CRITICAL"
    assert atlas_verdict([[], []]) == {"status": "PASS", "checks": []}
    with pytest.raises(ReadinessInputError, match="status 'FAIL'"):
        atlas_verdict([[item("FAIL")]])
    with pytest.raises(ReadinessInputError, match="list of check lists"):
        atlas_verdict("PASS")


def test_summary_table_and_failed_nodes():
    verdicts = {
        "atlas-01": atlas_verdict([[item("PASS"), item("PASS")]]),
        "atlas-02": atlas_verdict([[item("CRITICAL", "health", 3), item("WARNING", "npu_network", 5)]]),
        "atlas-03": None,
    }
    assert atlas_failed_nodes(copy.deepcopy(verdicts)) == ["atlas-02", "atlas-03"]
    assert atlas_verdict_summary(verdicts["atlas-02"], "atlas-02") == (
        "atlas-02: CRITICAL (1 critical, 1 warning, 0 passed) - health detail")
    lines = atlas_verdict_table(verdicts)
    assert lines[2].split() == ["atlas-01", "PASS", "-", "all", "2", "checks", "passed"]
    assert lines[3].startswith("atlas-02     CRITICAL  3       health           health detail -> health action")
    assert lines[4].startswith("atlas-02     WARNING   5       npu_network")
    assert lines[5].startswith("atlas-03     CRITICAL  -       unreachable")


def test_check_line():
    assert readiness_check_line(item("CRITICAL", "health"), "atlas-02") == (
        "atlas-02 CRITICAL health: health detail -> health action")
    assert readiness_check_line({**item("PASS"), "action": ""}) == "PASS x: x detail"
