"""The atlas.vllm.ascend_version_* filters, called directly and through Ansible's templar."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.atlas.vllm.plugins.filter.ascend_version import (
    FilterModule,
    ascend_version_compare,
    ascend_version_ge,
    ascend_version_lt,
    ascend_version_sort,
)


def test_filters_are_registered():
    assert set(FilterModule().filters()) == {
        "ascend_version_compare",
        "ascend_version_ge",
        "ascend_version_lt",
        "ascend_version_sort",
        "cann_driver_verdict",
        "image_oldest_driver",
    }


@pytest.mark.parametrize(
    ("version", "other", "expected"),
    [("25.0.rc1", "24.1.0", 1), ("24.1.rc2", "24.1.0", -1), ("25.2.0", "25.2.0", 0), ("25.3.rc1.b061", "25.3.rc1", 1)],
)
def test_compare(version, other, expected):
    assert ascend_version_compare(version, other) == expected


def test_ge_and_lt():
    assert ascend_version_ge("25.0.rc1", "24.1.0")
    assert ascend_version_ge("24.1.0", "24.1.0")
    assert not ascend_version_ge("24.1.rc2", "24.1.0")
    assert ascend_version_lt("24.1.rc2", "24.1.0")
    assert not ascend_version_lt("24.1.0", "24.1.0")


def test_sort():
    assert ascend_version_sort(["25.2.0", "24.1.rc2", "24.1.0.3"]) == ["24.1.rc2", "24.1.0.3", "25.2.0"]
    assert ascend_version_sort(["24.1.rc2", "25.2.0"], reverse=True) == ["25.2.0", "24.1.rc2"]


@pytest.mark.parametrize("bad", [None, "", "   "])
def test_missing_version_is_an_error(bad):
    with pytest.raises(AnsibleFilterError, match="non-empty version"):
        ascend_version_ge(bad, "24.1.0")


def test_sort_rejects_a_string():
    with pytest.raises(AnsibleFilterError, match="expects a list"):
        ascend_version_sort("24.1.0")


def test_through_ansible(tmp_path):
    """The filters resolve by their FQCN in a real Ansible run (collection found via ANSIBLE_COLLECTIONS_PATH)."""
    ansible = Path(sys.executable).with_name("ansible")
    if not ansible.exists():
        pytest.skip("ansible CLI not installed next to this Python")
    expression = (
        "{{ ['25.0.rc1' | atlas.vllm.ascend_version_ge('24.1.0'),"
        " '25.0.rc1' | atlas.vllm.ascend_version_compare('25.0.rc1.1'),"
        " ['25.2.0', '24.1.rc2'] | atlas.vllm.ascend_version_sort] }}"
    )
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_CALLBACK_RESULT_FORMAT="json")
    completed = subprocess.run(
        [
            str(ansible),
            "localhost",
            "-i",
            "localhost,",
            "-c",
            "local",
            "-m",
            "ansible.builtin.debug",
            "-a",
            f"msg={expression}",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,  # keep any ansible.cfg in the checkout out of this run
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    # Ad-hoc output is "localhost | SUCCESS => {json}".
    result = json.loads(completed.stdout.split("=>", 1)[1])
    assert result["msg"] == [True, -1, ["24.1.rc2", "25.2.0"]]
