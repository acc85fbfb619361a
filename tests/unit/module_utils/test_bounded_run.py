"""Node tools run with a deadline (module_utils/bounded_run.py): real processes, killed with what they started."""

from __future__ import annotations

import os
import time

from ansible_collections.atlas.vllm.plugins.module_utils.bounded_run import run_bounded, timeout_message


def test_a_command_that_answers_gives_its_code_and_output() -> None:
    outcome = run_bounded(["sh", "-c", "echo out; echo err >&2; exit 3"], 10, {"LC_ALL": "C"})
    assert (outcome.rc, outcome.stdout, outcome.stderr, outcome.timed_out) == (3, "out\n", "err\n", False)
    assert outcome.output == "out\nerr"


def test_the_environment_is_updated_not_replaced() -> None:
    outcome = run_bounded(["sh", "-c", 'echo "$LC_ALL $PATH"'], 10, {"LC_ALL": "C"})
    assert outcome.stdout == f"C {os.environ['PATH']}\n"


def test_a_hung_command_and_its_children_are_stopped_at_the_deadline(tmp_path) -> None:
    marker = tmp_path / "child.pid"
    started = time.monotonic()
    outcome = run_bounded(["sh", "-c", f"sleep 60 & echo $! > {marker}; echo partial; wait"], 1)
    assert outcome.timed_out and outcome.rc == -9
    assert time.monotonic() - started < 10
    assert outcome.stdout == "partial\n"
    child = int(marker.read_text())
    # The background child went with its parent: it is gone, or at most a zombie awaiting its reaper.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{child}/stat", encoding="utf-8") as handle:
                if handle.read().split(") ", 1)[1].startswith("Z"):
                    break
        except FileNotFoundError:
            break
        time.sleep(0.05)
    else:
        raise AssertionError(f"child {child} of the hung command still runs")


def test_a_missing_binary_is_rc_127_with_the_os_error(tmp_path) -> None:
    outcome = run_bounded([str(tmp_path / "npu-smi"), "info"], 10)
    assert outcome.rc == 127 and not outcome.timed_out and "No such file or directory" in outcome.stderr


def test_the_timeout_message_names_the_command_and_the_seconds() -> None:
    assert timeout_message(["npu-smi", "info"], 30) == "'npu-smi info' did not answer in 30 s and was stopped"
