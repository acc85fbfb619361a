"""The vllm_health action plugin end to end: ansible-playbook on localhost against servers started by the test.

Each test writes a small playbook whose tasks register the result and save it as JSON (failures through
block/rescue), so the assertions read what a playbook author would get. Times are wall-clock: the controller's
`date` taken by the task after the wait is compared with when the fake server started listening or crashed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible_collections.atlas.vllm.plugins.action import vllm_health as plugin

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "unit" / "fixtures" / "vllm_health"
BIN = Path(sys.executable).parent
sys.path.insert(0, str(FIXTURES))

from vllm_health_fakes import PNG_2X2, FakeDocker, FakeVllm  # noqa: E402

SECRET = "sk-atlas-never-in-logs-9c41"


class Play:
    def __init__(self, done: subprocess.CompletedProcess[str], results: dict[str, Any]) -> None:
        self.returncode = done.returncode
        self.stdout, self.stderr = done.stdout, done.stderr
        self.output = done.stdout + done.stderr
        self.results = results

    def progress_lines(self) -> list[str]:
        return [line for line in self.output.splitlines() if ": waiting for vLLM: " in line]


def run_play(tmp_path: Path, task: dict[str, Any], hosts: dict[str, dict[str, Any]] | None = None,
             options: tuple[str, ...] = (), extra_vars: dict[str, Any] | None = None,
             env: dict[str, str] | None = None) -> Play:
    """Run ``task`` (a vllm_health task) on each host; ``results[host]`` holds what it registered or failed with."""
    hosts = hosts or {"localhost": {}}
    out_dir = tmp_path / "results"
    out_dir.mkdir(exist_ok=True)
    inventory = {"all": {"hosts": {
        name: {"ansible_connection": "local", "ansible_python_interpreter": sys.executable, **host_vars}
        for name, host_vars in hosts.items()}}}
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inventory), encoding="utf-8")
    save = {"ansible.builtin.copy": {
        "content": "{{ {'result': health, 'seen_at': lookup('ansible.builtin.pipe', 'date +%s.%N') | float}"
                   " | to_json }}",
        "dest": f"{out_dir}/{{{{ inventory_hostname }}}}.json", "mode": "0600"},
        "delegate_to": "localhost", "check_mode": False}
    play = [{
        "name": "vllm_health", "hosts": "all", "gather_facts": False,
        "tasks": [{"block": [dict(task, register="health"), {"name": "Save", **save}],
                   "rescue": [{"name": "Keep the failure", "ansible.builtin.set_fact": {
                       "health": "{{ ansible_failed_result }}"}}, {"name": "Save failure", **save}]}],
    }]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play, sort_keys=False), encoding="utf-8")
    argv = [str(BIN / "ansible-playbook"), "-i", str(tmp_path / "inventory.yml"), str(tmp_path / "play.yml"),
            *options]
    if extra_vars:
        (tmp_path / "vars.yml").write_text(yaml.safe_dump(extra_vars), encoding="utf-8")
        argv += ["-e", f"@{tmp_path / 'vars.yml'}"]
    full_env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                    ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"), ANSIBLE_HOME=str(tmp_path / "ansible-home"),
                    PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **(env or {}))
    # tests/unit/conftest.py exposes this checkout as atlas.vllm; the other collections stay where make setup put them.
    full_env["ANSIBLE_COLLECTIONS_PATH"] = os.pathsep.join(
        part for part in (os.environ.get("ANSIBLE_COLLECTIONS_PATH"), str(REPO / ".venv" / "collections")) if part
    )
    done = subprocess.run(argv, cwd=REPO, env=full_env, capture_output=True, text=True, timeout=120, check=False)
    results = {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in out_dir.glob("*.json")}
    return Play(done, results)


def health_task(instances: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
    return {"name": "Wait for vLLM", "atlas.vllm.vllm_health": {"instances": instances, **options}}


def instance(server: FakeVllm, name: str = "vllm-0", **extra: Any) -> dict[str, Any]:
    return {"name": name, "url": server.url, "served_model_name": "qwen2.5-vl", **extra}


# --- pure helpers -------------------------------------------------------------------------------------------


def test_progress_line_names_host_counts_and_waiting_instances():
    results = [{"name": "vllm-0", "url": "http://127.0.0.1:8000", "ready": True, "state": "ready"},
               {"name": "vllm-1", "url": "http://127.0.0.1:8001", "ready": False, "state": "loading"}]
    assert plugin.progress_line("atlas-02", results, 42.4, 600) == (
        "atlas-02: waiting for vLLM: 1/2 ready; vllm-1 :8001 loading (42s of 600s)"
    )


def test_baselines_are_kept_from_the_first_look():
    baselines: dict[str, Any] = {}
    plugin.record_baselines([{"name": "a", "container": {"baseline": {"restart_count": 0, "started_at": "t0"}}}],
                            baselines)
    plugin.record_baselines([{"name": "a", "container": {"baseline": {"restart_count": 1, "started_at": "t1"}}}],
                            baselines)
    assert baselines == {"a": {"restart_count": 0, "started_at": "t0"}}
    given = {"name": "b", "container": "b", "container_baseline": {"restart_count": 5, "started_at": "x"}}
    updated = plugin.with_baselines([{"name": "a", "container": "a"}, given], baselines)
    assert updated[0]["container_baseline"] == {"restart_count": 0, "started_at": "t0"}
    assert updated[1] == given


def test_time_to_ready_counts_from_the_first_look():
    ready_at: dict[str, float] = {}
    first = [{"name": "a", "ready": True, "ready_after_s": 0.2}, {"name": "b", "ready": False}]
    plugin.record_ready_times(first, 0.0, ready_at)
    second = [{"name": "a", "ready": True, "ready_after_s": 0.0}, {"name": "b", "ready": True, "ready_after_s": 1.5}]
    plugin.record_ready_times(second, 10.0, ready_at)
    assert [r["time_to_ready_s"] for r in second] == [0.2, 11.5]


def test_split_args():
    own, rest = plugin.split_args({"timeout": 5, "instances": [], "api_key": "k", "check_mode_skip": False})
    assert own == {"timeout": 5, "check_mode_skip": False}
    assert rest == {"instances": [], "api_key": "k"}


# --- playbooks ----------------------------------------------------------------------------------------------


def test_waits_with_progress_then_ready_within_two_seconds_of_listening(tmp_path, servers):
    slow, fast = servers(load_seconds=6.0), servers(load_seconds=0.0)
    play = run_play(tmp_path, health_task([instance(fast, "vllm-0"), instance(slow, "vllm-1")],
                                          progress_interval=1, timeout=60))
    assert play.returncode == 0, play.output
    saved = play.results["localhost"]
    result = saved["result"]
    assert result["changed"] is False and result["ready"] is True
    assert [r["state"] for r in result["instances"]] == ["ready", "ready"]
    assert result["msg"].startswith("2/2 ready after ")
    lines = play.progress_lines()
    assert lines, play.output
    assert re.fullmatch(rf"localhost: waiting for vLLM: 1/2 ready; vllm-1 :{slow.port} loading \(\d+s of 60s\)",
                        lines[0]), lines
    assert saved["seen_at"] - slow.listening_at <= 2.0
    fast_ready, slow_ready = (r["time_to_ready_s"] for r in result["instances"])
    assert fast_ready < 1.0 < slow_ready
    assert "ok: [localhost]" in play.output


def test_progress_goes_to_stderr_when_stdout_is_json(tmp_path, servers):
    server = servers(load_seconds=6.0)  # longer than ansible-playbook's start on a busy machine
    play = run_play(tmp_path, health_task([instance(server)], progress_interval=1, timeout=30),
                    env={"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"})
    assert play.returncode == 0, play.output
    assert json.loads(play.stdout)["stats"]["localhost"]["failures"] == 0
    assert "localhost: waiting for vLLM: 0/1 ready" in play.stderr


def test_deadline_names_host_instance_url_and_last_state(tmp_path, servers):
    server = servers(load_seconds=None)
    started = time.monotonic()
    play = run_play(tmp_path, health_task([instance(server)], timeout=2, progress_interval=1))
    assert time.monotonic() - started < 15
    failure = play.results["localhost"]["result"]
    assert failure["failed"] is True
    assert failure["msg"].startswith(
        f"localhost: 1/1 not ready after 2s: vllm-0 {server.url} still loading: GET /health: connection refused"
    )
    assert failure["instances"][0]["state"] == "loading"


def test_crash_hidden_by_restart_policy_fails_within_seconds(tmp_path, servers):
    server = servers(load_seconds=None)
    docker = FakeDocker(tmp_path / "docker")
    docker.set_state("vllm-0")
    docker.set_logs("vllm-0", (FIXTURES / "docker_logs_crash.out").read_text(),
                    (FIXTURES / "docker_logs_crash.err").read_text())
    flag = tmp_path / "crashed"

    def crash_when_watched() -> None:
        # Crash only after the first look has recorded the baseline, as a real load would take that long.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(docker.calls()) < 3:
            time.sleep(0.05)
        # The restart policy brings it back at once: State.ExitCode is 0 again, the die event keeps the 1.
        docker.set_died("vllm-0", 1)
        docker.set_state("vllm-0", restart_count=1, exit_code=0, started_at="2026-11-29T22:00:14.2Z")
        flag.write_text(str(time.time()))

    threading.Thread(target=crash_when_watched, daemon=True).start()
    play = run_play(tmp_path, health_task([instance(server, container="vllm-0")], timeout=60,
                                          docker_executable=str(docker.path)))
    saved = play.results["localhost"]
    failure = saved["result"]
    assert failure["failed"] is True, play.output
    assert saved["seen_at"] - float(flag.read_text()) <= 5.0
    msg = failure["msg"]
    assert msg.startswith(f"localhost: vllm-0 ({server.url}): container vllm-0 restarted (0 → 1 restarts; "
                          "last exit code 1)")
    assert "RuntimeError: ACL stream synchronize failed, error code:507053" in msg
    assert failure["instances"][0]["container"]["baseline"]["restart_count"] == 0


def test_hosts_wait_concurrently(tmp_path, servers):
    # Every server loads for the same 6 s. Hosts waiting one after the other would find the later servers ready
    # at their first look and never print a progress line; concurrent hosts all wait, so all of them print.
    fleet = {f"atlas-0{i}": servers(load_seconds=6.0) for i in (1, 2, 3)}
    hosts = {name: {"vllm_url": server.url} for name, server in fleet.items()}
    play = run_play(tmp_path, health_task([{"name": "vllm-0", "url": "{{ vllm_url }}"}], progress_interval=1),
                    hosts=hosts)
    assert play.returncode == 0, play.output
    assert sorted(play.results) == sorted(fleet)
    assert all(saved["result"]["ready"] for saved in play.results.values())
    assert {line.split(":")[0] for line in play.progress_lines()} == set(fleet)


def test_api_key_and_probe_never_leak_even_at_vvv(tmp_path, servers):
    server = servers(api_key=SECRET)
    image = tmp_path / "probe.png"
    image.write_bytes(PNG_2X2)
    task = health_task([instance(server)], api_key="{{ secret }}", timeout=30,
                       probe={"image_path": str(image), "prompt": "What is it?"})
    play = run_play(tmp_path, task, options=("-vvv",), extra_vars={"secret": SECRET})
    assert play.returncode == 0, play.output
    result = play.results["localhost"]["result"]
    probe = result["instances"][0]["probe"]
    assert probe["answer"] == "A 2x2 PNG. You asked: What is it?"
    assert probe["usage"]["total_tokens"] == 89 and probe["latency_s"] >= 0
    assert "probe answered by 1" in result["msg"]
    assert {r["headers"].get("Authorization") for r in server.requests} == {f"Bearer {SECRET}"}
    assert SECRET not in play.output
    assert SECRET not in json.dumps(result)


def test_check_mode_skips_with_a_message(tmp_path, servers):
    play = run_play(tmp_path, health_task([{"name": "vllm-0", "url": "http://127.0.0.1:9"}]), options=("--check",))
    assert play.returncode == 0, play.output
    result = play.results["localhost"]["result"]
    assert result["skipped"] is True
    assert result["msg"].startswith("check mode: health wait and probe skipped")
    assert result["instances"] == []


def test_check_mode_can_look_anyway(tmp_path, servers):
    server = servers()
    play = run_play(tmp_path, health_task([instance(server)], check_mode_skip=False, timeout=10),
                    options=("--check",))
    assert play.returncode == 0, play.output
    result = play.results["localhost"]["result"]
    assert result["ready"] is True and result["changed"] is False


def test_bad_action_option_is_refused(tmp_path):
    play = run_play(tmp_path, health_task([{"name": "a", "url": "http://127.0.0.1:9"}], timeout="soon"))
    result = play.results["localhost"]["result"]
    assert result["failed"] is True
    assert "timeout" in result["msg"]


def oldest_supported_python() -> str | None:
    """A working Python 3.9 for the target side, if this machine has one (the module must run on 3.9 nodes)."""
    candidates = [str(path) for path in sorted(Path(os.path.expanduser("~/.pyenv/versions")).glob("3.9*/bin/python3.9"))]
    candidates.append(shutil.which("python3.9") or "")
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "-c", "import sys; assert sys.version_info[:2] == (3, 9)"],
                               capture_output=True, check=False)
        if probe.returncode == 0:
            return candidate
    return None


def test_module_runs_on_python_3_9_targets(tmp_path, servers):
    python = oldest_supported_python()
    if python is None:
        pytest.skip("no Python 3.9 interpreter on this machine")
    server = servers(load_seconds=1.0)
    docker = FakeDocker(tmp_path / "docker")
    docker.set_state("vllm-0")
    image = tmp_path / "probe.png"
    image.write_bytes(PNG_2X2)
    task = health_task([instance(server, container="vllm-0")], timeout=30, docker_executable=str(docker.path),
                       probe={"image_path": str(image)})
    play = run_play(tmp_path, task, hosts={"py39": {"ansible_python_interpreter": python}})
    assert play.returncode == 0, play.output
    result = play.results["py39"]["result"]
    assert result["ready"] is True
    assert result["instances"][0]["probe"]["answer"].startswith("A 2x2 PNG.")
    assert result["instances"][0]["container"]["status"] == "running"
