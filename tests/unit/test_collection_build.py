"""The checkout is the atlas.vllm collection: it builds, and playbooks resolve atlas.vllm.* from it."""

from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / ".venv" / "bin"


def test_collection_builds_without_local_state(tmp_path: Path) -> None:
    subprocess.run([BIN / "ansible-galaxy", "collection", "build", "--output-path", tmp_path], cwd=REPO,
                   check=True, capture_output=True)
    archive = tmp_path / "atlas-vllm-0.1.0.tar.gz"
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("MANIFEST.json"))
    assert manifest["collection_info"]["namespace"] == "atlas"
    assert manifest["collection_info"]["name"] == "vllm"
    assert "roles/node_baseline/meta/argument_specs.yml" in names
    assert not [n for n in names if n.startswith((".venv", "build/", ".cache"))]


def test_ansible_cfg_resolves_the_collection_from_the_checkout() -> None:
    result = subprocess.run([BIN / "ansible-galaxy", "collection", "list", "atlas.vllm", "--format", "json"],
                            cwd=REPO, check=True, capture_output=True, text=True)
    found = json.loads(result.stdout)
    assert any("atlas.vllm" in collections for collections in found.values())
