"""The collection's documentation and changelog pass the checks of the tools that publish them: antsibull-changelog
for the changelog fragments and antsibull-docs for the plugin, module and role documentation (as a docsite build
would render it), and every changelog fragment is YAML with only sections the changelog knows.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / ".venv" / "bin"
CHANGELOGS = REPO / "changelogs"
FRAGMENTS = CHANGELOGS / "fragments"
CONFIG = yaml.safe_load((CHANGELOGS / "config.yaml").read_text())

# `--validate-collection-refs self`: references to atlas.vllm itself are checked. The default (`dependent`) also
# loads every collection galaxy.yml depends on, transitively, which needs all of them installed.
DOCS_LINT = ["antsibull-docs", "lint-collection-docs", "--plugin-docs", "--validate-collection-refs", "self", "."]
CHANGELOG_LINT = ["antsibull-changelog", "lint"]


def _run(argv: list[str]) -> subprocess.CompletedProcess:
    """One tool of the checkout's .venv, from the top of the checkout, with the checkout's Ansible settings.

    antsibull-docs calls ansible-doc and ansible-galaxy by name, so .venv/bin goes first on PATH; the collections
    are those ansible.cfg names, whichever ANSIBLE_COLLECTIONS_PATH the calling environment sets.
    """
    env = {key: value for key, value in os.environ.items()
           if key not in ("ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_COLLECTIONS_PATHS")}
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    return subprocess.run([str(BIN / argv[0]), *argv[1:]], cwd=REPO, env=env, capture_output=True, text=True,
                          check=False, timeout=600)


def _fragments() -> list[Path]:
    return sorted(path for path in FRAGMENTS.iterdir() if path.is_file() and not path.name.startswith("."))


def test_changelog_fragments_pass_antsibull_changelog_lint() -> None:
    done = _run(CHANGELOG_LINT)
    assert done.returncode == 0 and not done.stdout.strip(), f"{' '.join(CHANGELOG_LINT)}:\n{done.stdout}{done.stderr}"


def test_changelog_yaml_passes_antsibull_changelog_lint() -> None:
    argv = ["antsibull-changelog", "lint-changelog-yaml", "changelogs/changelog.yaml"]
    done = _run(argv)
    assert done.returncode == 0 and not done.stdout.strip(), f"{' '.join(argv)}:\n{done.stdout}{done.stderr}"


def test_plugin_and_role_docs_pass_antsibull_docs_lint() -> None:
    done = _run(DOCS_LINT)
    assert done.returncode == 0 and not done.stdout.strip(), f"{' '.join(DOCS_LINT)}:\n{done.stdout}{done.stderr}"


@pytest.mark.parametrize("fragment", _fragments(), ids=lambda path: path.name)
def test_every_fragment_is_yaml_with_known_sections(fragment: Path) -> None:
    # antsibull-changelog skips files of other extensions without a word (ignore_other_fragment_extensions).
    assert fragment.suffix in (".yml", ".yaml"), f"{fragment.name}: a fragment must end in .yml or .yaml"
    content = yaml.safe_load(fragment.read_text())
    assert isinstance(content, dict) and content, f"{fragment.name}: a fragment is a mapping of sections"
    known = {name for name, _title in CONFIG["sections"]}
    prelude = CONFIG["prelude_section_name"]
    known |= {prelude, CONFIG["trivial_section_name"]}
    assert sorted(set(content) - known) == [], f"{fragment.name}: unknown sections; known: {sorted(known)}"
    for section, entries in content.items():
        if section == prelude:
            assert isinstance(entries, str) and entries.strip(), f"{fragment.name}: {prelude} is one text"
        else:
            assert isinstance(entries, list) and entries, f"{fragment.name}: {section} is a list of entries"
            assert all(isinstance(entry, str) and entry.strip() for entry in entries), (
                f"{fragment.name}: every {section} entry is a text")

