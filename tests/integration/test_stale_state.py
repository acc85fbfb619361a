"""A run killed half-way leaves namespaces and processes without records: up and down must clean them."""

from __future__ import annotations

import subprocess

from .conftest import REPO, in_node, sim

RUN = REPO / "build/sandbox/run"


def launchers() -> list[str]:
    return subprocess.run(["pgrep", "-f", "unshare .*node_boot.sh"], capture_output=True, text=True).stdout.split()


def test_up_cleans_a_fleet_whose_records_were_lost() -> None:
    sim("up", "--nodes", "2", "--no-image", "--no-weights")
    old = set(launchers())
    assert len(old) == 2
    # What a SIGKILL between "launch" and "record" leaves: live hosts without pid files or fleet record.
    (RUN / "fleet.json").unlink()
    for pid_file in RUN.glob("hosts/*/launcher.pid"):
        pid_file.unlink()
    result = sim("up", "--nodes", "2", "--no-image", "--no-weights")
    assert "without a pid file; stopping it" in result.stderr
    new = set(launchers())
    assert len(new) == 2 and not new & old
    assert in_node("atlas-02", "hostname").stdout.strip() == "atlas-02"
    sim("down")
    assert launchers() == []


def test_down_removes_namespaces_left_without_any_record() -> None:
    subprocess.run(["ip", "netns", "add", "atlas-07"], check=True)
    result = sim("down")
    assert "1 namespace(s)" in result.stderr
    assert subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.strip() == ""
