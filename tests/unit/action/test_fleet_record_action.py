"""The fleet_record action: one task writes a node's stage record on the controller, secrets scrubbed."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import yaml
from ansible_collections.atlas.vllm.plugins.module_utils.fleet_records import record_document

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
SECRET = "sk-atlas-record-7f3e"


def run(tmp_path: Path, *options: str) -> subprocess.CompletedProcess[str]:
    inventory = {"all": {"hosts": {"atlas-07": {"ansible_connection": "local",
                                                "ansible_python_interpreter": sys.executable,
                                                "vllm_api_key": SECRET}}}}
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inventory), encoding="utf-8")
    play = [{"hosts": "all", "gather_facts": False, "tasks": [
        {"name": "Record", "register": "recorded", "atlas.vllm.fleet_record": {
            "dir": str(tmp_path / "results"), "stage": "instances",
            "data": {"url": "http://10.231.0.11:8000", "note": f"served with key {SECRET}",
                     "env": {"VLLM_API_KEY": SECRET}}}},
        {"name": "Show", "ansible.builtin.debug": {"var": "recorded"}},
    ]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play), encoding="utf-8")
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_STDOUT_CALLBACK": "json"}
    return subprocess.run([str(BIN / "ansible-playbook"), "-i", str(tmp_path / "inventory.yml"),
                           str(tmp_path / "play.yml"), *options], capture_output=True, text=True, env=env,
                          cwd=REPO, check=False)


def test_a_record_is_private_scrubbed_and_no_change(tmp_path):
    done = run(tmp_path, "--check")
    assert done.returncode == 0, done.stdout + done.stderr
    stats = json.loads(done.stdout)["stats"]["atlas-07"]
    assert (stats["ok"], stats["changed"]) == (2, 0)
    path = tmp_path / "results" / "atlas-07" / "instances.json"
    record = json.loads(path.read_text(encoding="utf-8"))
    assert (record["host"], record["stage"]) == ("atlas-07", "instances")
    assert record["data"]["url"] == "http://10.231.0.11:8000"
    assert record["data"]["note"] == "served with key <redacted>"
    assert record["data"]["env"] == {"VLLM_API_KEY": "<redacted>"}
    assert SECRET not in path.read_text(encoding="utf-8")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert not [name for name in os.listdir(path.parent) if name.startswith(".record-")]


def test_record_document_scrubs_the_given_values():
    document = record_document("atlas-01", "tls", {"a": "x-secret-y"}, ["secret"], "2026-12-05T00:00:00+00:00")
    assert document == {"host": "atlas-01", "stage": "tls", "recorded": "2026-12-05T00:00:00+00:00",
                        "data": {"a": "x-<redacted>-y"}}
