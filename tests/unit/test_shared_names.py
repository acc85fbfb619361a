"""The names the roles share are written once, in roles/atlas/defaults/main.yml; roles and playbooks use them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SHARED = yaml.safe_load((REPO / "roles" / "atlas" / "defaults" / "main.yml").read_text())
# The literal each shared name stands for; a role or playbook that writes one of these has its own copy.
SPELLINGS = {
    "atlas_managed_label": SHARED["atlas_managed_label"],
    "atlas_state_dir": SHARED["atlas_state_dir"],
    "atlas_reports_dir": "'/reports'",
    "atlas_image_repository": SHARED["atlas_image_repository"],
    "atlas_image_tag": SHARED["atlas_image_tag"],
}


def sources() -> list[Path]:
    roles = [path for path in (REPO / "roles").rglob("*")
             if path.is_file() and path.relative_to(REPO / "roles").parts[0] != "atlas"]
    playbooks = [path for path in (REPO / "playbooks").rglob("*") if path.is_file()]
    return sorted(path for path in [*roles, *playbooks, REPO / "deploy.yml"] if path.suffix in (".yml", ".j2"))


def strings(node: object) -> Iterator[str]:
    """Every key and value of a YAML document (comments are not data and may mention a name's value)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)
    elif isinstance(node, str):
        yield node


def texts(path: Path) -> Iterator[str]:
    if path.suffix == ".j2":
        yield path.read_text()
    else:
        yield from strings(yaml.safe_load(path.read_text()))


def test_the_shared_names_are_in_the_atlas_role() -> None:
    spec = yaml.safe_load((REPO / "roles" / "atlas" / "meta" / "argument_specs.yml").read_text())
    assert set(SPELLINGS) <= set(spec["argument_specs"]["main"]["options"])


def test_the_scan_covers_the_roles_and_playbooks() -> None:
    files = {path.relative_to(REPO).as_posix() for path in sources()}
    assert "roles/vllm/defaults/main.yml" in files and "playbooks/tasks/teardown_image.yml" in files
    assert not any(name.startswith("roles/atlas/") for name in files)


@pytest.mark.parametrize("name", sorted(SPELLINGS))
def test_no_role_or_playbook_spells_out_a_shared_name(name: str) -> None:
    value = SPELLINGS[name]
    found = [path.relative_to(REPO).as_posix() for path in sources() if any(value in text for text in texts(path))]
    assert found == [], f"{', '.join(found)} write {value!r}: use {name} (roles/atlas/defaults/main.yml) instead"


def test_the_scan_finds_a_spelled_out_name(tmp_path: Path) -> None:
    copy = tmp_path / "defaults.yml"
    copy.write_text("---\nvllm_label: io.atlas-vllm.managed\n# io.atlas-vllm.managed in a comment is fine\n")
    assert [text for text in texts(copy) if SPELLINGS["atlas_managed_label"] in text] == ["io.atlas-vllm.managed"]
