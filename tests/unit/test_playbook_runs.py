"""The lookup atlas.vllm.playbook_runs finds this run's ansible-playbook process and the live ones, from /proc."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ansible_collections.atlas.vllm.plugins.lookup import playbook_runs

REPO = Path(__file__).resolve().parents[2]


def fake_proc(root: Path, processes: dict[int, tuple[int, list[str]]]) -> Path:
    """pid -> (parent pid, argv), laid out as /proc has them."""
    for pid, (parent, argv) in processes.items():
        (root / str(pid)).mkdir(parents=True)
        (root / str(pid) / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")
        # The command name may hold spaces and parentheses.
        (root / str(pid) / "stat").write_text(f"{pid} (python3 (x) y) S {parent} {pid} 0 0\n")
    return root


def test_the_run_is_the_outermost_ansible_playbook_above_the_worker(tmp_path):
    proc = fake_proc(tmp_path, {
        1: (0, ["/sbin/init"]),
        300: (1, ["bash"]),
        400: (300, ["/usr/bin/python3", "/opt/venv/bin/ansible-playbook", "deploy.yml"]),
        410: (400, ["/usr/bin/python3", "/opt/venv/bin/ansible-playbook", "deploy.yml"]),  # a forked worker
        500: (1, ["/opt/venv/bin/ansible-playbook", "report.yml"]),
        600: (1, ["python3", "-m", "http.server"]),
        # A deploy started by a task of run 400: the command module sits between the two runs.
        650: (410, ["/usr/bin/python3", "/root/.ansible/tmp/AnsiballZ_command.py"]),
        700: (650, ["/opt/venv/bin/ansible-playbook", "deploy.yml", "-i", "hosts"]),
        710: (700, ["/opt/venv/bin/ansible-playbook", "deploy.yml", "-i", "hosts"]),
    })
    assert playbook_runs.run_pid(410, str(proc)) == 400
    assert playbook_runs.run_pid(710, str(proc)) == 700
    assert playbook_runs.live_runs(str(proc)) == [400, 410, 500, 700, 710]
    assert playbook_runs.run_pid(600, str(proc)) == 0


def test_the_lookup_through_ansible_names_this_run(tmp_path):
    playbook = tmp_path / "p.yml"
    playbook.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:\n"
                        "    - ansible.builtin.debug:\n        msg: \"{{ lookup('atlas.vllm.playbook_runs') }}\"\n")
    result = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), str(playbook),
                             "-e", f"ansible_python_interpreter={sys.executable}"], cwd=REPO, capture_output=True,
                            text=True, check=False, timeout=120,
                            env={**os.environ, "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json"})
    assert result.returncode == 0, result.stdout + result.stderr
    found = json.loads(result.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]["msg"]
    assert found["pid"] in found["live"] and found["pid"] != os.getpid()
    assert found["controller"].startswith(os.uname().nodename + "/")
    # The run it named is over now.
    assert not Path(f"/proc/{found['pid']}").exists()
