"""scripts/bench.py: the rollout's span read from ansible-playbook's JSON output."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

SPEC = importlib.util.spec_from_file_location("bench", Path(__file__).resolve().parents[3] / "scripts/bench.py")
bench = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(bench)


def _play(name: str, start: str, end: str) -> dict:
    return {"play": {"name": name, "duration": {"start": start, "end": end}}, "tasks": []}


def test_the_rollout_spans_from_the_first_batch_to_the_last() -> None:
    plays = [_play("Validate the serving settings", "2026-12-03T20:00:00.000000Z", "2026-12-03T20:00:05.000000Z"),
             _play(bench.ROLLING_PLAY, "2026-12-03T20:01:00.000000Z", "2026-12-03T20:01:30.000000Z"),
             _play(bench.ROLLING_PLAY, "2026-12-03T20:01:31.000000Z", "2026-12-03T20:02:10.500000Z"),
             _play("Show the endpoints of the fleet", "2026-12-03T20:03:00.000000Z", "2026-12-03T20:03:01.000000Z")]
    output = "[WARNING]: a line before the JSON\n" + json.dumps({"plays": plays, "stats": {}})
    assert bench.rolling_span(output) == pytest.approx(70.5)


def test_a_deploy_that_rolled_nothing_is_an_error() -> None:
    with pytest.raises(SystemExit, match="rolled nothing"):
        bench.rolling_span(json.dumps({"plays": [], "stats": {}}))


def test_a_partial_run_keeps_the_other_section(tmp_path: Path) -> None:
    deploy, rollout = bench.SECTIONS
    path = tmp_path / "performance.md"
    path.write_text(bench.PERFORMANCE_HEAD + f"\n## {deploy}\n\nLast run: then.\n\n| P1 |\n"
                    f"\n## {rollout}\n\nLast run: then.\n\n| R1 |\n")
    assert bench.read_sections(path) == {deploy: "Last run: then.\n\n| P1 |\n", rollout: "Last run: then.\n\n| R1 |\n"}
    assert bench.read_sections(tmp_path / "missing.md") == {}


def test_pings_per_node_are_read_from_the_matrix_lines() -> None:
    output = """TASK [hccl_network : Show the ping matrix] ***
ok: [atlas-01] =>
    msg:
    - 'atlas-01 -> atlas-02: 8/8 device pairs OK'
    - 'atlas-01 -> atlas-03: 7/8 device pairs OK, failing devices [3]'
    - 'atlas-02 -> atlas-01: 8/8 device pairs OK'
"""
    assert bench.pings_per_node(output) == 16
    assert bench.pings_per_node("no matrix here") == 0


def test_the_scaling_table_has_a_row_per_fleet_size() -> None:
    point = {"nodes": 4, "deploy": 150.0, "noop": 40.0, "ping": 2.0, "tasks": 120, "changed": 0, "host_tasks": 480,
             "controller_cpu": 48.0, "machine_cpu": 80.0, "ring_pings": 8, "mesh_pings": 24, "mesh": 20.0}
    lines = bench.scaling_lines([point, {**point, "nodes": 8}])
    assert len(lines) == 4 and all(line.count("|") == lines[0].count("|") for line in lines)
    assert lines[2].split(" | ")[1:] == ["150.0 s", "40.0 s", "2.0 s", "20.0", "120 (0)", "48.0 s", "100 ms", "60 %",
                                         "8", "24", "20.0 s |"]


def test_a_fleet_that_did_not_boot_is_a_row_that_says_so() -> None:
    lines = bench.scaling_lines([{"nodes": 32, "failed": "did not boot"}])
    assert lines[2].startswith("| 32 | did not boot |") and lines[2].count("|") == lines[0].count("|")


NOOP_OUTPUT = """
PLAY [Preflight every Atlas node (read-only)] **********************************

TASK [atlas.vllm.npu_driver : Validating arguments against arg spec 'main' - Checks the NPUs] ***
ok: [atlas-01]
ok: [atlas-02]

TASK [atlas.vllm.npu_driver : Read the node] ***********************************
ok: [atlas-02]
ok: [atlas-01]

TASK [atlas.vllm.npu_driver : Name the devices] ********************************
skipping: [atlas-01] => (item=davinci0)
skipping: [atlas-01] => (item=davinci1)

TASK [Record the preflight] ****************************************************
ok: [atlas-01 -> localhost]

TASK [atlas.vllm.vllm : Include the checks] ************************************
included: /repo/roles/vllm/tasks/checks.yml for atlas-02, atlas-01

PLAY RECAP *********************************************************************
ROLES RECAP ********************************************************************
===============================================================================
atlas.vllm.npu_driver ------------------------------------------------- 12.50s
atlas.vllm.fleet_record ------------------------------------------------ 2.00s
ansible.builtin.assert ------------------------------------------------- 0.50s
atlas.vllm.vllm --------------------------------------------------------- 1.25s
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
total ------------------------------------------------------------------ 16.25s
"""


def test_the_breakdown_counts_each_task_once_per_host_and_sums_role_time() -> None:
    roles = bench.role_breakdown(NOOP_OUTPUT, "atlas-01")
    # A loop counts once; a delegated result counts for its host; an include names its hosts after "for".
    assert roles == {"npu_driver": [3, 12.5], "(plays)": [1, 2.5], "vllm": [1, 1.25]}


def test_the_breakdown_of_another_host_sees_only_its_tasks() -> None:
    assert bench.role_breakdown(NOOP_OUTPUT, "atlas-02")["npu_driver"][0] == 2


def test_the_breakdown_table_ends_with_the_totals() -> None:
    point = {"nodes": 2, "plays": 1, "roles": bench.role_breakdown(NOOP_OUTPUT, "atlas-01")}
    lines = bench.breakdown_lines(point)
    assert lines[4] == "| npu_driver | 3 | 12.5 s | 77 % |"
    assert lines[-1] == "| total | 5 | 16.2 s | 100 % |"
