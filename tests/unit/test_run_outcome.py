"""The run_outcome callback records, as a run goes, each host that failed for good or was unreachable."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from ansible_collections.atlas.vllm.plugins.callback.run_outcome import default_results_dir

REPO = Path(__file__).resolve().parents[2]
PLAYBOOK = """\
- name: Serve the fleet
  hosts: all
  gather_facts: false
  tasks:
    - name: Reach every host
      ansible.builtin.ping:
    - name: Fail on b only
      ansible.builtin.fail:
        msg: b fails
      when: inventory_hostname == 'b'
    - name: A failure the block catches on c, one its rescue raises again on d
      block:
        - name: Try something that fails on c and d
          ansible.builtin.fail:
            msg: caught
          when: inventory_hostname in ['c', 'd']
      rescue:
        - name: Give up on d
          ansible.builtin.fail:
            msg: d gives up
          when: inventory_hostname == 'd'
    - name: A failure that is ignored on a
      ansible.builtin.command: "false"
      changed_when: false
      ignore_errors: true  # noqa: ignore-errors
      when: inventory_hostname == 'a'
    - name: A refusal that is no failure of the host, on a
      ansible.builtin.fail:
        msg: another run holds the lock
      vars:
        atlas_run_outcome_skip: true
      when: inventory_hostname == 'a'
"""
INVENTORY = """\
[local]
a
b
c
d
[local:vars]
ansible_connection=local
[gone]
e ansible_host=127.0.0.1 ansible_port=1 ansible_connection=ssh
"""


def run(tmp_path: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    (tmp_path / "playbooks").mkdir(exist_ok=True)
    (tmp_path / "playbooks" / "serve.yml").write_text(PLAYBOOK)
    (tmp_path / "hosts").write_text(INVENTORY)
    argv = [str(Path(sys.executable).parent / "ansible-playbook"), str(tmp_path / "playbooks" / "serve.yml"),
            "-i", str(tmp_path / "hosts"), "-e", f"ansible_python_interpreter={sys.executable}"]
    # From the checkout, so that its ansible.cfg (which enables the callback) applies.
    return subprocess.run(argv, cwd=REPO, env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          check=False, timeout=120)


def test_failed_and_unreachable_hosts_are_recorded_with_play_and_task(tmp_path: Path) -> None:
    result = run(tmp_path)
    assert result.returncode == 4, result.stdout  # 4: a host was unreachable
    results = tmp_path / "reports" / "results"
    recorded = sorted(path.parent.name for path in results.glob("*/run.json"))
    # a ignored its failure and then was refused (atlas_run_outcome_skip), c's was rescued: none is recorded.
    assert recorded == ["b", "d", "e"]
    b = json.loads((results / "b" / "run.json").read_text())
    assert b["stage"] == "run" and b["host"] == "b"
    assert b["data"] == {"outcome": "failed", "playbook": "serve.yml", "play": "Serve the fleet",
                         "task": "Fail on b only", "started": b["data"]["started"]}
    assert b["data"]["started"] <= b["recorded"]
    assert json.loads((results / "d" / "run.json").read_text())["data"]["task"] == "Give up on d"
    e = json.loads((results / "e" / "run.json").read_text())["data"]
    assert (e["outcome"], e["task"]) == ("unreachable", "Reach every host")
    assert stat.S_IMODE((results / "b").stat().st_mode) == 0o700
    assert stat.S_IMODE((results / "b" / "run.json").stat().st_mode) == 0o600


def test_the_results_directory_can_be_set(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    run(tmp_path, {"ATLAS_RESULTS_DIR": str(elsewhere)})
    assert sorted(p.parent.name for p in elsewhere.glob("*/run.json")) == ["b", "d", "e"]
    assert not (tmp_path / "reports").exists()


def test_the_default_directory_follows_atlas_reports_dir() -> None:
    assert default_results_dir("/srv/atlas/playbooks") == "/srv/atlas/reports/results"
    assert default_results_dir("/srv/atlas") == "/srv/atlas/reports/results"
    assert default_results_dir("/srv/atlas/playbooks", "/var/lib/atlas-reports") == "/var/lib/atlas-reports/results"
    # A templated value is the role's business; the callback keeps to its default.
    assert default_results_dir("/srv/atlas", "{{ playbook_dir }}/r") == "/srv/atlas/reports/results"
