"""execution-environment.yml gives ansible-builder a build context that installs atlas.vllm and its dependencies.

`ansible-builder create` only writes the context (no image is built, nothing is pulled), so this runs offline. The
definition and execution-environment/ are copied to a scratch directory, with the collection artifact built where
the definition expects it (build/ee/), so the checkout is left as it was.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / ".venv" / "bin"
VENV_COLLECTIONS = REPO / ".venv" / "collections" / "ansible_collections"
GALAXY = yaml.safe_load((REPO / "galaxy.yml").read_text())
EE = yaml.safe_load((REPO / "execution-environment.yml").read_text())
ARTIFACT = f"atlas-vllm-{GALAXY['version']}.tar.gz"


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("ee")
    shutil.copy(REPO / "execution-environment.yml", work)
    shutil.copytree(REPO / "execution-environment", work / "execution-environment")
    subprocess.run([BIN / "ansible-galaxy", "collection", "build", "--output-path", work / "build" / "ee"],
                   cwd=REPO, check=True, capture_output=True)
    result = subprocess.run([BIN / "ansible-builder", "create", "-f", "execution-environment.yml",
                             "-c", work / "context", "--output-filename", "Containerfile"],
                            cwd=work, check=True, capture_output=True, text=True)
    assert "No matches" not in result.stdout + result.stderr, "the artifact did not reach the build context"
    return work / "context"


def _requirements(context: Path) -> dict[str, dict]:
    collections = yaml.safe_load((context / "_build" / "requirements.yml").read_text())["collections"]
    return {entry["name"]: entry for entry in collections}


def test_the_definition_is_version_3_on_a_documented_base() -> None:
    assert EE["version"] == 3
    assert EE["images"]["base_image"]["name"]
    # ansible-core in the range the collection requires (meta/runtime.yml), not whatever the base carries.
    runtime = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())
    core = Requirement(EE["dependencies"]["ansible_core"]["package_pip"])
    assert core.name == "ansible-core"
    assert core.specifier == Requirement(f"ansible-core{runtime['requires_ansible']}").specifier


def test_the_containerfile_installs_the_collections_from_the_requirements_file(context: Path) -> None:
    containerfile = (context / "Containerfile").read_text()
    assert f'ARG EE_BASE_IMAGE="{EE["images"]["base_image"]["name"]}"' in containerfile
    galaxy_stage = containerfile.split("FROM base AS galaxy", 1)[1].split("FROM base AS builder", 1)[0]
    # The whole of _build (requirements.yml and collections/) lands in /build, where ansible-galaxy runs.
    assert "COPY _build /build" in galaxy_stage
    assert "WORKDIR /build" in galaxy_stage
    assert re.search(r"^RUN .*ansible-galaxy collection install .*-r requirements\.yml "
                     r"--collections-path \"/usr/share/ansible/collections\"$", galaxy_stage, re.M), galaxy_stage
    # The final image carries those collections.
    final_stage = containerfile.split("FROM base AS final", 1)[1]
    assert "COPY --from=galaxy /usr/share/ansible /usr/share/ansible" in final_stage
    assert "ENV ANSIBLE_CALLBACKS_ENABLED=atlas.vllm.run_outcome" in final_stage
    assert (REPO / "plugins" / "callback" / "run_outcome.py").is_file()


def test_the_requirements_list_atlas_vllm_and_every_dependency_with_its_range(context: Path) -> None:
    requirements = _requirements(context)
    atlas = requirements.pop(f"collections/{ARTIFACT}")
    assert atlas["type"] == "file"
    assert {name: entry["version"] for name, entry in requirements.items()} == GALAXY["dependencies"]


def test_the_build_context_holds_the_artifact_the_requirements_name(context: Path) -> None:
    artifact = context / "_build" / "collections" / ARTIFACT
    with tarfile.open(artifact) as tar:
        info = json.load(tar.extractfile("MANIFEST.json"))["collection_info"]
    assert (info["namespace"], info["name"], info["version"]) == ("atlas", "vllm", GALAXY["version"])
    assert info["dependencies"] == GALAXY["dependencies"]


def test_the_galaxy_stage_installs_offline_with_the_tested_dependencies(context: Path, tmp_path: Path) -> None:
    """ansible-galaxy as the image's galaxy stage runs it (in /build), with the dependencies already in place.

    --offline: the installed versions must satisfy the requirements' ranges, and the artifact path must resolve.
    """
    target = tmp_path / "collections"
    for collection in GALAXY["dependencies"]:
        link = target / "ansible_collections" / Path(*collection.split("."))
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(VENV_COLLECTIONS / Path(*collection.split(".")), target_is_directory=True)
    env = {key: value for key, value in os.environ.items() if key != "ANSIBLE_CONFIG"}
    env["ANSIBLE_COLLECTIONS_PATH"] = str(target)
    result = subprocess.run([BIN / "ansible-galaxy", "collection", "install", "-r", "requirements.yml", "--offline",
                             "--no-deps", "--collections-path", target],
                            cwd=context / "_build", env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = target / "ansible_collections" / "atlas" / "vllm" / "MANIFEST.json"
    assert json.loads(manifest.read_text())["collection_info"]["version"] == GALAXY["version"]


def _third_party_imports() -> dict[str, str]:
    """Top-level modules the plugins import that are neither the standard library nor Ansible's own."""
    found: dict[str, str] = {}
    for path in sorted((REPO / "plugins").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in {"ansible", "ansible_collections", "__future__"}:
                    found.setdefault(top, path.relative_to(REPO).as_posix())
    return found


def test_the_python_packages_the_plugins_import_are_in_the_image(context: Path) -> None:
    # What ansible-core requires is in the image with it; anything else must be a Python requirement of the EE.
    core = {Requirement(r).name.lower() for r in importlib.metadata.requires("ansible-core") or []}
    distributions = importlib.metadata.packages_distributions()
    python_file = context / "_build" / "requirements.txt"
    listed = {Requirement(line).name.lower() for line in
              (python_file.read_text().splitlines() if python_file.exists() else [])
              if line.strip() and not line.startswith("#")}
    missing = {module: path for module, path in _third_party_imports().items()
               if not {d.lower() for d in distributions.get(module, [module])} & (core | listed)}
    assert missing == {}, f"imported by the plugins, not in the execution environment: {missing}"


def test_the_documented_project_playbook_runs_the_stages_of_deploy_yml() -> None:
    doc = (REPO / "docs" / "execution-environment.md").read_text()
    blocks = [yaml.safe_load(re.sub(r"^   ", "", block, flags=re.M))
              for block in re.findall(r"```yaml\n(.*?)```", doc, re.S) if "import_playbook: atlas.vllm." in block]
    assert len(blocks) == 1
    documented = [play["ansible.builtin.import_playbook"] for play in blocks[0]]
    deploy = yaml.safe_load((REPO / "deploy.yml").read_text())
    stages = [Path(play["ansible.builtin.import_playbook"]).stem for play in deploy]
    assert documented == [f"atlas.vllm.{stage}" for stage in stages]
    assert all((REPO / "playbooks" / f"{stage}.yml").is_file() for stage in stages)
