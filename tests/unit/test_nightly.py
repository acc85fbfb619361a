"""make nightly decides drift from the per-host counters the atlas.vllm.host_stats callback records."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

SPEC = importlib.util.spec_from_file_location("nightly", Path(__file__).resolve().parents[2] / "scripts/nightly.py")
nightly = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(nightly)

PLAYBOOK = """\
- name: One change on b, one failure on c
  hosts: all
  gather_facts: false
  tasks:
    - name: Change on b only
      ansible.builtin.command: "true"
      changed_when: inventory_hostname == 'b'
    - name: Fail on c only
      ansible.builtin.fail:
        msg: c fails
      when: inventory_hostname == 'c'
"""


def test_a_run_returns_every_hosts_counters_from_the_callback(tmp_path: Path) -> None:
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAYBOOK)
    runner = nightly.Runner("a,b,c,")
    code, counters = runner.playbook("test", str(playbook), "-c", "local", "-e",
                                     f"ansible_python_interpreter={sys.executable}")
    assert code == 2  # a host failed
    assert set(counters) == {"a", "b", "c"}
    assert counters["b"]["changed"] == 1 and counters["b"]["failed"] == 0
    assert counters["c"]["failed"] == 1 and counters["c"]["changed"] == 0
    assert counters["a"] == {"ok": 1, "changed": 0, "unreachable": 0, "failed": 0, "skipped": 1, "rescued": 0,
                             "ignored": 0}


def test_a_run_that_never_reached_its_recap_has_no_counters(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("- hosts: all\n  tasks: [\n")
    code, counters = nightly.Runner("a,").playbook("test", str(broken))
    assert code != 0
    assert counters == {}


def test_drift_counts_the_changes_of_the_nodes_only() -> None:
    counters = {"atlas-01": {"changed": 0}, "atlas-02": {"changed": 2}, "localhost": {"changed": 1}}
    assert nightly.drift(counters) == {"atlas-01": 0, "atlas-02": 2}
