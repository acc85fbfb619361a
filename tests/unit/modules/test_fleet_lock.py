"""atlas.vllm.fleet_lock on a real lock file: take, wait, give up naming the holder, take over a stale lock."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

from ansible_collections.atlas.vllm.plugins.module_utils import fleet_lock as rules
from ansible_collections.atlas.vllm.plugins.modules import fleet_lock

NO_COMMANDS = {"commands": []}


def args(path: Path, **extra) -> dict:
    return {"path": str(path), "run_id": "run-b", "owner": "bob@ops-2", "started": "2026-12-04T03:00:00", **extra}


def hold(path: Path, run_id: str = "run-a", age_s: float = 30) -> dict:
    holder = {"run_id": run_id, "owner": "alice@ops-1", "started": "2026-12-04T02:00:03",
              "acquired": (datetime.now() - timedelta(seconds=age_s)).isoformat()}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(holder))
    return holder


def test_a_free_lock_is_taken_with_who_and_when(run_module, tmp_path):
    path = tmp_path / "var" / "lib" / "atlas-vllm" / "deploy.lock"
    outcome = run_module(fleet_lock, args(path), NO_COMMANDS)
    assert not outcome.failed and outcome.result["changed"] and outcome.result["acquired"]
    written = json.loads(path.read_text())
    assert {k: written[k] for k in ("run_id", "owner", "started")} == {
        "run_id": "run-b", "owner": "bob@ops-2", "started": "2026-12-04T03:00:00"}
    assert datetime.fromisoformat(written["acquired"]) <= datetime.now()
    # The same run taking it again (a stage playbook inside deploy.yml) changes nothing.
    again = run_module(fleet_lock, args(path), NO_COMMANDS)
    assert not again.failed and not again.result["changed"] and again.result["acquired"]


def test_another_runs_lock_is_waited_for_then_names_the_holder(run_module, tmp_path):
    path = tmp_path / "deploy.lock"
    holder = hold(path)
    started = time.monotonic()
    outcome = run_module(fleet_lock, args(path, wait=1), NO_COMMANDS)
    assert outcome.failed and time.monotonic() - started >= 1
    assert outcome.result["holder"] == holder
    assert outcome.result["msg"].startswith(
        f"the fleet lock {path} is held by alice@ops-1 (run run-a, started 2026-12-04T02:00:03, holding it for ")
    assert json.loads(path.read_text()) == holder


def test_a_lock_released_while_waiting_is_taken(run_module, tmp_path):
    path = tmp_path / "deploy.lock"
    hold(path)
    releaser = threading.Timer(1.0, path.unlink)
    releaser.start()
    outcome = run_module(fleet_lock, args(path, wait=20), NO_COMMANDS)
    releaser.join()
    assert not outcome.failed and outcome.result["acquired"] and outcome.result["waited_s"] >= 1
    assert json.loads(path.read_text())["run_id"] == "run-b"


def test_a_stale_lock_is_taken_over_and_reported(run_module, tmp_path):
    path = tmp_path / "deploy.lock"
    holder = hold(path, age_s=5 * 3600)
    outcome = run_module(fleet_lock, args(path, wait=0, max_age=4 * 3600), NO_COMMANDS)
    assert not outcome.failed and outcome.result["replaced"] == holder
    assert json.loads(path.read_text())["run_id"] == "run-b"


def test_break_lock_takes_over_a_fresh_lock(run_module, tmp_path):
    path = tmp_path / "deploy.lock"
    hold(path)
    outcome = run_module(fleet_lock, args(path, wait=0, break_lock=True), NO_COMMANDS)
    assert not outcome.failed and outcome.result["replaced"]["owner"] == "alice@ops-1"


def test_check_mode_neither_waits_nor_writes(run_module, tmp_path):
    path = tmp_path / "deploy.lock"
    holder = hold(path)
    outcome = run_module(fleet_lock, args(path, wait=600, _ansible_check_mode=True), NO_COMMANDS)
    assert not outcome.failed and not outcome.result["acquired"] and outcome.result["holder"] == holder
    assert json.loads(path.read_text()) == holder
    free = tmp_path / "free.lock"
    outcome = run_module(fleet_lock, args(free, _ansible_check_mode=True), NO_COMMANDS)
    assert outcome.result["changed"] and not free.exists()


def test_release_removes_only_this_runs_lock(run_module, tmp_path):
    path = tmp_path / "deploy.lock"
    hold(path, run_id="run-a")
    outcome = run_module(fleet_lock, args(path, state="absent"), NO_COMMANDS)
    assert not outcome.result["changed"] and path.exists()
    hold(path, run_id="run-b")
    outcome = run_module(fleet_lock, args(path, state="absent"), NO_COMMANDS)
    assert outcome.result["changed"] and not path.exists()


def test_two_takers_at_once_cannot_both_create_it(tmp_path):
    path = str(tmp_path / "deploy.lock")
    won: list[bool] = []
    barrier = threading.Barrier(8)

    def taker(n: int) -> None:
        barrier.wait()
        won.append(fleet_lock.create(path, {"run_id": f"run-{n}"}))

    threads = [threading.Thread(target=taker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert won.count(True) == 1


def test_decisions() -> None:
    now = datetime(2026, 12, 4, 6, 0, 0)
    fresh = {"run_id": "a", "acquired": "2026-12-04T05:59:00"}
    old = {"run_id": "a", "acquired": "2026-12-04T01:00:00"}
    assert rules.decide(None, "b", now, 14400, False) == rules.FREE
    assert rules.decide(fresh, "a", now, 14400, False) == rules.OURS
    assert rules.decide(fresh, "b", now, 14400, False) == rules.HELD
    assert rules.decide(old, "b", now, 14400, False) == rules.STALE
    assert rules.decide(fresh, "b", now, 14400, True) == rules.BROKEN
    # A file nobody can read still holds the fleet (its age is unknown): only break_lock takes it.
    unreadable = rules.parse_lock("{not json")
    assert rules.decide(unreadable, "b", now, 14400, False) == rules.HELD
    assert rules.describe(unreadable, now).startswith("unknown (unreadable lock file) (run ?")


def test_a_lock_whose_run_is_over_on_this_controller_is_taken_at_once(run_module, tmp_path):
    path = tmp_path / "deploy.lock"
    holder = dict(hold(path), controller="ops-1/boot-a", pid=4242)
    path.write_text(json.dumps(holder))
    started = time.monotonic()
    # pid 4242 is not among the live runs of ops-1: that run was stopped by an error before its release.
    outcome = run_module(fleet_lock, args(path, wait=600, controller="ops-1/boot-a", pid=5151, live_pids=[5151]),
                         NO_COMMANDS)
    assert not outcome.failed and outcome.result["replaced"] == holder
    assert time.monotonic() - started < 5
    written = json.loads(path.read_text())
    assert (written["run_id"], written["controller"], written["pid"]) == ("run-b", "ops-1/boot-a", 5151)


def test_a_live_run_or_another_controllers_run_is_waited_for(run_module, tmp_path):
    path = tmp_path / "deploy.lock"
    path.write_text(json.dumps(dict(hold(path), controller="ops-1/boot-a", pid=4242)))
    alive = run_module(fleet_lock, args(path, wait=0, controller="ops-1/boot-a", live_pids=[4242, 5151]), NO_COMMANDS)
    elsewhere = run_module(fleet_lock, args(path, wait=0, controller="ops-2/boot-b", live_pids=[5151]), NO_COMMANDS)
    assert alive.failed and elsewhere.failed
