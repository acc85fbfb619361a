"""The node-side `atlas-twin` command: faults inside a running node, derived files, show."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures_twin"))
import twin_helpers as th


@pytest.fixture
def twin(tmp_path: Path) -> th.Twin:
    return th.Twin(tmp_path, th.state.build_node_state("atlas-02", 2, "910b3-64g", None))


def test_fault_updates_state_and_tools(twin: th.Twin) -> None:
    done = twin.run("atlas-twin", "fault", "npu-unhealthy", "--device", "1", "--value", "warning")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [{"kind": "npu-unhealthy", "device": 1, "value": "Warning"}]
    assert twin.load()["faults"] == [{"kind": "npu-unhealthy", "device": 1, "value": "Warning"}]
    assert "| 1     910B3               | Warning       |" in twin.out("npu-smi", "info")


def test_fault_rewrites_derived_files(twin: th.Twin) -> None:
    twin.out("atlas-twin", "fault", "no-ip", "--device", "0")
    twin.out("atlas-twin", "fault", "driver-version", "--value", "23.0.6")
    conf = (twin.fs_root / "etc" / "hccn.conf").read_text(encoding="utf-8")
    assert "address_0=" not in conf and "address_1=10.232.2.2" in conf
    version = (twin.fs_root / "usr/local/Ascend/driver/version.info").read_text(encoding="utf-8")
    assert version.startswith("Version=23.0.6\n")


def test_fault_rewrites_in_place(twin: th.Twin) -> None:
    conf = twin.fs_root / "etc" / "hccn.conf"
    conf.write_text("old\n", encoding="utf-8")
    inode = conf.stat().st_ino
    twin.out("atlas-twin", "fault", "link-down", "--device", "3")
    assert conf.stat().st_ino == inode and conf.read_text(encoding="utf-8").startswith("address_0=")


def test_clear(twin: th.Twin) -> None:
    twin.out("atlas-twin", "fault", "hbm-busy", "--device", "2", "--value", "1000")
    twin.out("atlas-twin", "fault", "slow-load", "--value", "45")
    assert len(twin.load()["faults"]) == 2
    assert twin.out("atlas-twin", "fault", "clear") == "[]\n"
    assert twin.load()["faults"] == []


def test_show(twin: th.Twin) -> None:
    twin.out("atlas-twin", "fault", "hbm-busy", "--device", "2", "--value", "1000")
    report = json.loads(twin.out("atlas-twin", "show"))
    assert report["node"]["hostname"] == "atlas-02"
    assert report["devices"][2]["hbm_used_mb"] == 3412 + 1000
    assert report["processes"] == []


@pytest.mark.parametrize(
    ("args", "rc", "message"),
    [
        (["fault", "bogus"], 2, "invalid choice"),
        (["fault", "hbm-busy", "--device", "2"], 1, "needs a value in MB"),
        (["fault", "link-down"], 1, "needs a device"),
        (["fault", "link-down", "--device", "8"], 1, "does not exist"),
        (["fault", "clear", "--device", "1"], 1, "takes no"),
        ([], 2, "usage"),
    ],
)
def test_rejects_bad_requests(twin: th.Twin, args: list[str], rc: int, message: str) -> None:
    done = twin.run("atlas-twin", *args)
    assert done.returncode == rc and message in done.stderr
    assert twin.load()["faults"] == []


def test_no_state(twin: th.Twin) -> None:
    (twin.state_dir / "node.json").unlink()
    done = twin.run("atlas-twin", "show")
    assert done.returncode == 1 and "no node state" in done.stderr
