"""The checkout is the atlas.vllm collection: it builds, the artifact holds what a collection user needs and nothing
of the checkout's own tooling, it installs and documents itself, and playbooks resolve atlas.vllm.* from the checkout.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml
from packaging.specifiers import SpecifierSet
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / ".venv" / "bin"
VENV_COLLECTIONS = REPO / ".venv" / "collections"
# What `make oldest-core` tests with: the oldest supported ansible-core and the collections of its era.
OLDEST_COLLECTIONS = REPO / ".venv-oldest" / "collections"
GALAXY = yaml.safe_load((REPO / "galaxy.yml").read_text())

# What the artifact holds at its top: the content, its documentation, and the files ansible-galaxy writes.
SHIPPED = {"roles", "plugins", "playbooks", "meta", "docs", "README.md", "CHANGELOG.md", "LICENSE",
           "MANIFEST.json", "FILES.json"} | ({"changelogs"} if (REPO / "changelogs").is_dir() else set())
# The sandbox and everything that tests or drives the checkout stay out.
NOT_SHIPPED = ("sandbox/", "tests/", "molecule/", "scripts/", "inventories/", "build/", "reports/", ".")
# Measured at 0.1.0: 340,223 bytes, 307 files (the whole checkout, before build_ignore covered it: 724,756 bytes and
# 578 files, then 18 MB once .venv-oldest/ existed). Under twice that leaves room for the roles and plugins to grow;
# a limit hit means something large came in.
SIZE_LIMIT = 600_000


def _content_files() -> list[Path]:
    """The files whose FQCNs count: what the artifact ships that runs (molecule/ and tests/ do not ship)."""
    files = [REPO / "deploy.yml"]
    for top in ("roles", "playbooks", "plugins"):
        files += [p for p in (REPO / top).rglob("*")
                  if p.is_file() and p.suffix in {".yml", ".yaml", ".j2", ".py"} and "__pycache__" not in p.parts]
    return files


def _installed_version(collection: str, collections: Path = VENV_COLLECTIONS) -> Version | None:
    namespace, name = collection.split(".")
    manifest = collections / "ansible_collections" / namespace / name / "MANIFEST.json"
    if not manifest.is_file():
        return None
    return Version(json.loads(manifest.read_text())["collection_info"]["version"])


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("artifact")
    subprocess.run([BIN / "ansible-galaxy", "collection", "build", "--output-path", out], cwd=REPO,
                   check=True, capture_output=True)
    return out / f"atlas-vllm-{GALAXY['version']}.tar.gz"


@pytest.fixture(scope="module")
def members(artifact: Path) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(artifact) as tar:
        return {member.name: member for member in tar.getmembers()}


@pytest.fixture(scope="module")
def manifest(artifact: Path) -> dict:
    with tarfile.open(artifact) as tar:
        return json.load(tar.extractfile("MANIFEST.json"))


def test_collection_builds_without_local_state(manifest: dict, members: dict) -> None:
    assert manifest["collection_info"]["namespace"] == "atlas"
    assert manifest["collection_info"]["name"] == "vllm"
    assert "roles/node_baseline/meta/argument_specs.yml" in members


def test_the_artifact_holds_only_what_the_collection_needs(members: dict) -> None:
    assert {name.split("/")[0] for name in members} == SHIPPED
    assert not [name for name in members if name.startswith(NOT_SHIPPED)]
    assert not [name for name in members if "__pycache__" in name or name.endswith((".pyc", ".tar.gz"))]
    # deploy.yml imports playbooks/ by paths relative to the checkout; installed, the stages run by name.
    assert "deploy.yml" not in members


def test_the_artifact_holds_every_role_spec_and_plugin(members: dict) -> None:
    roles = sorted(p for p in (REPO / "roles").iterdir() if p.is_dir())
    assert roles
    assert [r.name for r in roles if f"roles/{r.name}/meta/argument_specs.yml" not in members] == []
    plugins = [p.relative_to(REPO).as_posix() for p in (REPO / "plugins").rglob("*")
               if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"]
    assert "plugins/modules/npu_node_info.py" in plugins
    assert [p for p in plugins if p not in members] == []
    assert "meta/runtime.yml" in members


def test_the_artifact_stays_small(artifact: Path, members: dict) -> None:
    size = artifact.stat().st_size
    assert size < SIZE_LIMIT, f"{artifact.name} is {size} bytes ({sum(m.isfile() for m in members.values())} files)"


def test_every_collection_the_content_uses_is_declared() -> None:
    installed = {f"{ns.name}.{c.name}" for ns in (VENV_COLLECTIONS / "ansible_collections").iterdir()
                 for c in ns.iterdir()}
    fqcn = re.compile(r"\b([a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*)\.[a-z_][a-z0-9_]*\b")
    # A task's module key names its collection even when the collection is not installed here.
    task_key = re.compile(r"^\s*(?:-\s+)?([a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*)\.[a-z_][a-z0-9_]*:(?:\s|$)", re.M)
    used: dict[str, str] = {}
    for path in _content_files():
        text = path.read_text()
        found = {m for m in fqcn.findall(text) if m in installed or m in GALAXY["dependencies"]}
        if path.suffix in {".yml", ".yaml"}:
            found |= set(task_key.findall(text))
        for collection in found - {"ansible.builtin", "atlas.vllm"}:
            used.setdefault(collection, path.relative_to(REPO).as_posix())
    assert sorted(used) == sorted(GALAXY["dependencies"]), used


def test_manifest_dependencies_are_galaxy_yml_dependencies(manifest: dict) -> None:
    assert manifest["collection_info"]["dependencies"] == GALAXY["dependencies"]


@pytest.mark.parametrize("collection", sorted(GALAXY["dependencies"]))
def test_dependency_ranges_span_the_tested_versions(collection: str) -> None:
    spec = SpecifierSet(GALAXY["dependencies"][collection])
    bounds = {s.operator: Version(s.version) for s in spec}
    assert set(bounds) == {">=", "<"}, spec
    installed = _installed_version(collection)
    assert installed is not None, f"{collection} is not in .venv/collections"
    assert bounds[">="] <= installed, f"{collection}: lower bound {bounds['>=']} is above the tested {installed}"
    assert installed in spec
    # Up to, not into, the major version after the newest tested.
    assert bounds["<"] == Version(f"{installed.major + 1}.0.0"), f"{collection}: {spec} vs the tested {installed}"
    # The oldest tested (make oldest-core, when it has run here) is the lower bound itself.
    oldest = _installed_version(collection, OLDEST_COLLECTIONS)
    if oldest is not None:
        assert bounds[">="] == oldest, f"{collection}: lower bound {bounds['>=']}, oldest tested {oldest}"


def test_the_installed_artifact_documents_its_modules(artifact: Path, tmp_path: Path) -> None:
    installed = tmp_path / "collections"
    env = {key: value for key, value in os.environ.items() if key != "ANSIBLE_CONFIG"}
    # Installing looks for atlas.vllm in every configured path first, and .venv/collections links the checkout as
    # atlas.vllm: with only the target configured, the artifact is what gets installed.
    subprocess.run([BIN / "ansible-galaxy", "collection", "install", artifact, "-p", installed, "--no-deps"],
                   cwd=tmp_path, env={**env, "ANSIBLE_COLLECTIONS_PATH": str(installed)}, check=True,
                   capture_output=True)
    # The installed copy first; .venv/collections for the dependencies.
    env["ANSIBLE_COLLECTIONS_PATH"] = os.pathsep.join([str(installed), str(VENV_COLLECTIONS)])
    listed = subprocess.run([BIN / "ansible-galaxy", "collection", "list", "atlas.vllm", "--format", "json"],
                            cwd=tmp_path, env=env, check=True, capture_output=True, text=True)
    found = json.loads(listed.stdout)
    assert found[str(installed / "ansible_collections")]["atlas.vllm"]["version"] == GALAXY["version"], found
    doc = subprocess.run([BIN / "ansible-doc", "--json", "-t", "module", "atlas.vllm.npu_node_info"],
                         cwd=tmp_path, env=env, check=True, capture_output=True, text=True)
    module = json.loads(doc.stdout)["atlas.vllm.npu_node_info"]["doc"]
    # The documentation read is the installed copy's, doc fragments and all.
    assert Path(module["filename"]) == \
        installed / "ansible_collections" / "atlas" / "vllm" / "plugins" / "modules" / "npu_node_info.py"
    assert module["short_description"]


def test_ansible_cfg_resolves_the_collection_from_the_checkout() -> None:
    result = subprocess.run([BIN / "ansible-galaxy", "collection", "list", "atlas.vllm", "--format", "json"],
                            cwd=REPO, check=True, capture_output=True, text=True)
    found = json.loads(result.stdout)
    assert any("atlas.vllm" in collections for collections in found.values())
