"""Batch size, batches, the check-mode plan and the rollback report of a rolling change."""

from __future__ import annotations

import pytest
from ansible_collections.atlas.vllm.plugins.module_utils.rollout import (
    batch_plan_lines,
    plan_batches,
    resolve_batch_size,
    rollback_message,
)

NODES = ["atlas-01", "atlas-02", "atlas-03", "atlas-04"]


# --- resolve_batch_size -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "count", "expected"),
    [
        (1, 4, 1),
        (4, 4, 4),
        ("2", 4, 2),
        ("25%", 4, 1),
        ("50%", 4, 2),
        ("100%", 4, 4),
        ("1%", 4, 1),  # floor(0.04) is 0: at least one node
        ("33%", 10, 3),  # floor(3.3)
        ("99%", 10, 9),  # floor(9.9)
        ("20%", 3, 1),  # kubespray's default serial on a small fleet
        ("100%", 1, 1),
    ],
)
def test_batch_size_counts_and_percentages(value, count, expected):
    assert resolve_batch_size(value, count) == expected


@pytest.mark.parametrize(
    "value",
    [0, -1, 5, "0", "5", "-1", True, False, "two", "25 %", "%", "33.5%", "0%", "101%", "", "2.0", 2.0, None, [2]],
)
def test_invalid_batch_sizes_state_the_rule(value):
    with pytest.raises(ValueError) as error:
        resolve_batch_size(value, 4)
    message = str(error.value)
    assert "must be a whole number of nodes from 1 to 4, or a percentage from 1% to 100%" in message
    assert repr(value) in message


@pytest.mark.parametrize("count", [0, -2, True, "4", 2.0])
def test_node_count_below_one_or_not_an_int_is_an_error(count):
    with pytest.raises(ValueError, match="node count"):
        resolve_batch_size(1, count)


# --- plan_batches -------------------------------------------------------------------------------------------


def test_batches_follow_inventory_order_not_the_order_of_changing():
    assert plan_batches(NODES, ["atlas-04", "atlas-01", "atlas-03"], 2) == [["atlas-01", "atlas-03"], ["atlas-04"]]


def test_unchanged_nodes_never_appear():
    batches = plan_batches(NODES, ["atlas-02"], 3)
    assert batches == [["atlas-02"]]
    assert all(node not in sum(batches, []) for node in ("atlas-01", "atlas-03", "atlas-04"))


def test_batch_size_one_and_all():
    assert plan_batches(NODES, NODES, 1) == [[node] for node in NODES]
    assert plan_batches(NODES, NODES, 4) == [NODES]
    assert plan_batches(NODES, NODES, 3) == [NODES[:3], NODES[3:]]


def test_nothing_to_change_gives_no_batches():
    assert plan_batches(NODES, [], 2) == []


def test_duplicates_are_taken_once():
    assert plan_batches(["a", "b", "a"], ["a", "a", "b"], 5) == [["a", "b"]]


def test_changing_a_node_outside_the_list_is_an_error():
    with pytest.raises(ValueError, match="atlas-09"):
        plan_batches(NODES, ["atlas-01", "atlas-09"], 2)


@pytest.mark.parametrize("size", [0, -1, True, "2"])
def test_plan_batches_rejects_bad_size(size):
    with pytest.raises(ValueError, match="batch size"):
        plan_batches(NODES, NODES, size)


# --- batch_plan_lines ---------------------------------------------------------------------------------------


def test_plan_lines_name_nodes_and_instances():
    lines = batch_plan_lines(
        [["atlas-01", "atlas-02"], ["atlas-03"]],
        {"atlas-01": ["vllm-0", "vllm-1"], "atlas-02": ["vllm-0"], "atlas-03": []},
    )
    assert lines == [
        "batch 1/2: atlas-01 (vllm-0, vllm-1), atlas-02 (vllm-0)",
        "batch 2/2: atlas-03 (no instances)",
    ]


def test_plan_lines_without_batches():
    assert batch_plan_lines([], {}) == ["no node needs a change"]


# --- rollback_message ---------------------------------------------------------------------------------------

CRASHED = {
    "name": "vllm-1",
    "url": "http://127.0.0.1:8001",
    "state": "failed",
    "ready": False,
    "detail": "container vllm-1 has exited with code 1",
    "container": {
        "name": "vllm-1",
        "status": "exited",
        "exit_code": 1,
        "logs_tail": [f"line {n}" for n in range(1, 21)]
        + ["RuntimeError: NPU out of memory. Tried to allocate 2.00 GiB"],
    },
}
TIMED_OUT = {
    "name": "vllm-0",
    "url": "http://127.0.0.1:8000",
    "state": "loading",
    "ready": False,
    "detail": "GET /health: connection refused (the server binds its port but listens only once loaded)",
    "container": None,
}


def test_crash_names_node_instance_exit_code_and_last_log_lines():
    message = rollback_message("atlas-02", [CRASHED], ["vllm-0", "vllm-1"], True, log_lines=5)
    assert message.startswith("atlas-02: the change failed on vllm-1")
    assert "vllm-1 (http://127.0.0.1:8001)" in message
    assert "exited with code 1" in message
    assert "last 5 log lines" in message
    assert "RuntimeError: NPU out of memory" in message
    assert "line 17" in message and "line 16" not in message
    assert "vllm-0, vllm-1 rolled back to their previous settings" in message
    assert "operator" not in message


def test_failure_without_container_uses_state_and_detail():
    message = rollback_message("atlas-01", [TIMED_OUT], ["vllm-0"], True)
    assert "vllm-0 (http://127.0.0.1:8000): loading: GET /health: connection refused" in message
    assert "log lines" not in message and "exit code" not in message
    assert "vllm-0 rolled back to their previous settings" in message


def test_flat_exit_code_and_logs_are_read_too():
    failure = {"name": "vllm-2", "url": "http://127.0.0.1:8002", "state": "failed", "detail": "crashed",
               "exit_code": 137, "logs": "a\nb\nKilled"}
    message = rollback_message("atlas-03", [failure], ["vllm-2"], True)
    assert "(exit code 137)" in message
    assert "last 3 log lines" in message and "Killed" in message


def test_several_failures_are_all_named():
    message = rollback_message("atlas-02", [TIMED_OUT, CRASHED], ["vllm-0", "vllm-1"], True)
    assert "the change failed on vllm-0, vllm-1" in message
    assert "http://127.0.0.1:8000" in message and "http://127.0.0.1:8001" in message


def test_failed_rollback_asks_for_an_operator():
    message = rollback_message("atlas-02", [CRASHED], ["vllm-0", "vllm-1"], False)
    assert "the rollback of vllm-0, vllm-1 to the previous settings failed as well" in message
    assert "atlas-02 needs an operator" in message
    assert "healthy again" not in message


def test_nothing_rolled_back():
    message = rollback_message("atlas-02", [TIMED_OUT], [], True)
    assert "nothing was rolled back" in message
