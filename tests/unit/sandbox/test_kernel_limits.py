"""The inotify budget `up` asks for, and how it counts what the machine already holds."""

import json
import os

import pytest
from atlas_sim import kernel_limits


def test_a_small_fleet_fits_debians_default():
    # 4 nodes and a gateway on a machine that holds 40 instances: 100 needed, under 128.
    needed = kernel_limits.instances_needed(5, 40)
    assert needed == 128
    assert kernel_limits.plan_raise(128, needed) is None


def test_the_32_node_fleet_that_failed_to_boot_gets_enough():
    # 33 hosts at 12 each plus 40 held already: 436, rounded up to 512.
    needed = kernel_limits.instances_needed(33, 40)
    assert needed == 512
    assert kernel_limits.plan_raise(128, needed) == 512


def test_a_higher_limit_is_never_lowered():
    assert kernel_limits.plan_raise(8192, kernel_limits.instances_needed(33, 40)) is None


def test_negative_counts_are_refused():
    with pytest.raises(ValueError, match="must not be negative"):
        kernel_limits.instances_needed(-1, 0)


def _process(proc, pid, targets):
    fd_dir = proc / str(pid) / "fd"
    fd_dir.mkdir(parents=True)
    for number, target in enumerate(targets):
        os.symlink(target, fd_dir / str(number))


def test_counts_only_inotify_descriptors(tmp_path):
    _process(tmp_path, 1, ["anon_inode:inotify", "anon_inode:inotify", "/dev/null"])
    _process(tmp_path, 57, ["socket:[1234]", "anon_inode:inotify"])
    (tmp_path / "self").mkdir()  # not a pid: skipped
    assert kernel_limits.instances_in_use(tmp_path) == 3


def _limit_and_record(tmp_path, monkeypatch, current: str, record: dict | None):
    """A limit file holding `current` in place of the kernel's, and the record `up` left (None: none yet)."""
    limit = tmp_path / "max_user_instances"
    limit.write_text(current)
    monkeypatch.setattr(kernel_limits, "INSTANCES", limit)
    record_file = tmp_path / "kernel-limits.json"
    if record is not None:
        record_file.write_text(json.dumps(record))
    return limit, record_file


def test_restore_leaves_a_limit_someone_else_changed(tmp_path, monkeypatch):
    limit, record = _limit_and_record(tmp_path, monkeypatch, "1024\n", {"found": 128, "set": 512})
    said = []
    kernel_limits.restore(record, said.append)
    assert limit.read_text() == "1024\n"
    assert "someone changed it since" in said[0]


def test_restore_puts_back_the_value_found(tmp_path, monkeypatch):
    limit, record = _limit_and_record(tmp_path, monkeypatch, "512\n", {"found": 128, "set": 512})
    kernel_limits.restore(record, lambda line: None)
    assert limit.read_text() == "128\n"


def test_raise_records_what_it_found(tmp_path, monkeypatch):
    limit, record = _limit_and_record(tmp_path, monkeypatch, "128\n", None)
    monkeypatch.setattr(kernel_limits, "instances_in_use", lambda: 40)
    said = []
    kernel_limits.raise_for(33, record, said.append)
    assert limit.read_text() == "512\n"
    assert json.loads(record.read_text()) == {"found": 128, "set": 512}
    assert "from 128 to 512 for 33 host(s)" in said[0]
