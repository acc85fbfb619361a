"""Every role has a README.md (Galaxy shows it) whose variable table is generated from its argument specs."""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ROLES = sorted(path.name for path in (REPO / "roles").iterdir() if path.is_dir())
HEADINGS = ["Purpose", "Requirements", "Variables", "Example", "What it changes and what it only reads"]

_SPEC = importlib.util.spec_from_file_location("variables_doc", REPO / "scripts" / "variables_doc.py")
variables_doc = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(variables_doc)

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def _readme(role: str) -> str:
    path = REPO / "roles" / role / "README.md"
    assert path.is_file(), f"roles/{role} has no README.md"
    return path.read_text()


def _headings(text: str) -> list[str]:
    # Lines inside code blocks are not headings.
    return re.findall(r"^## (.+)$", _FENCE.sub("", text), re.MULTILINE)


def _section(text: str, heading: str) -> str:
    start = text.index(f"\n## {heading}\n")
    following = text.find("\n## ", start + 1)
    return text[start:] if following == -1 else text[start:following]


def _block(text: str) -> str:
    return text[text.index(variables_doc.BEGIN) + len(variables_doc.BEGIN):text.index(variables_doc.END)]


def _options(role: str) -> dict[str, set[str]]:
    specs = yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    return {entry: set((spec or {}).get("options") or {}) for entry, spec in specs.items()}


@pytest.mark.parametrize("role", ROLES)
def test_the_role_has_a_readme_with_the_sections_in_order(role: str) -> None:
    text = _readme(role)
    assert text.startswith(f"# {role}\n"), f"roles/{role}/README.md does not start with '# {role}'"
    assert _headings(text) == HEADINGS, f"roles/{role}/README.md: level-2 headings are {_headings(text)}"


@pytest.mark.parametrize("role", ROLES)
def test_the_generated_block_is_under_variables_and_current(role: str) -> None:
    text = _readme(role)
    section = _section(text, "Variables")
    assert variables_doc.BEGIN in section and variables_doc.END in section, (
        f"roles/{role}/README.md: the generated block is not under '## Variables'")
    path = REPO / "roles" / role / "README.md"
    assert variables_doc.splice(path, text, variables_doc.render_role_variables(role)) == text, (
        f"roles/{role}/README.md is out of date: run .venv/bin/python scripts/variables_doc.py")
    assert "docs/variables.md" in section


@pytest.mark.parametrize("role", ROLES)
def test_every_option_of_every_entry_point_is_in_the_table(role: str) -> None:
    # Read from the table itself, not from the generator, so a generator that drops options fails here.
    rows = re.findall(r"^\| `([^`]+)`[^|]*\|", _block(_readme(role)), re.MULTILINE)
    missing = {entry: sorted(names - set(rows)) for entry, names in _options(role).items() if names - set(rows)}
    assert missing == {}, f"roles/{role}/README.md lacks options of its argument specs: {missing}"
    every = set().union(*_options(role).values())
    assert sorted(set(rows) - every) == [], f"roles/{role}/README.md lists options its argument specs lack"


@pytest.mark.parametrize("role", ROLES)
def test_the_example_is_a_list_of_plays_using_the_role(role: str) -> None:
    blocks = [body for lang, body in _FENCE.findall(_section(_readme(role), "Example")) if lang == "yaml"]
    assert blocks, f"roles/{role}/README.md has no ```yaml block under '## Example'"
    for body in blocks:
        plays = yaml.safe_load(body)
        assert isinstance(plays, list) and plays, f"roles/{role}: the example is not a list of plays"
        for play in plays:
            assert isinstance(play, dict) and "hosts" in play, f"roles/{role}: {play!r} is not a play"
            names = [entry if isinstance(entry, str) else entry.get("role", entry.get("name"))
                     for entry in play.get("roles") or []]
            assert names and set(names) == {f"atlas.vllm.{role}"}, (
                f"roles/{role}: the example play uses roles {names}, not atlas.vllm.{role}")


def test_a_readme_without_markers_is_refused_naming_it() -> None:
    path = REPO / "roles" / "atlas" / "README.md"
    with pytest.raises(variables_doc.MarkerError, match=r"(?s)roles/atlas/README\.md has no generated variables block.*BEGIN GENERATED"):
        variables_doc.splice(path, "# atlas\n\n## Variables\n", "table")


def test_only_the_text_between_the_markers_is_rewritten() -> None:
    path = REPO / "roles" / "atlas" / "README.md"
    text = f"# atlas\n\nprose\n{variables_doc.BEGIN}\nold table\n{variables_doc.END}\n\nmore prose\n"
    assert variables_doc.splice(path, text, "new table") == (
        f"# atlas\n\nprose\n{variables_doc.BEGIN}\nnew table\n{variables_doc.END}\n\nmore prose\n")


def test_the_table_marks_required_options_and_shows_every_entry_point() -> None:
    aisbench = variables_doc.render_role_variables("aisbench")
    assert "| `aisbench_package` **(required)** |" in aisbench
    router = variables_doc.render_role_variables("vllm_router")
    assert "Entry point `members` (`tasks_from: members.yml`)" in router
    assert "| `__vllm_router_present` |" in router


def _copy_of_two_roles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for role in ("atlas", "jemalloc"):
        shutil.copytree(REPO / "roles" / role, tmp_path / "roles" / role)
    (tmp_path / "docs").mkdir()
    monkeypatch.setattr(variables_doc, "REPO", tmp_path)
    monkeypatch.setattr(variables_doc, "ROLES", tmp_path / "roles")
    monkeypatch.setattr(variables_doc, "TARGET", tmp_path / "docs" / "variables.md")
    return tmp_path


def test_check_names_every_file_out_of_date(tmp_path, monkeypatch, capsys) -> None:
    root = _copy_of_two_roles(tmp_path, monkeypatch)
    monkeypatch.setattr(sys, "argv", ["variables_doc.py"])
    assert variables_doc.main() == 0
    assert variables_doc.main() == 0
    capsys.readouterr()
    readme = root / "roles" / "jemalloc" / "README.md"
    readme.write_text(readme.read_text().replace("| `jemalloc_state` |", "| `jemalloc_gone` |"))
    (root / "docs" / "variables.md").write_text("stale\n")
    monkeypatch.setattr(sys, "argv", ["variables_doc.py", "--check"])
    assert variables_doc.main() == 1
    err = capsys.readouterr().err
    assert "docs/variables.md is out of date" in err
    assert "roles/jemalloc/README.md is out of date" in err
    assert "roles/atlas/README.md" not in err


def test_the_generator_writes_nothing_while_a_readme_lacks_markers(tmp_path, monkeypatch, capsys) -> None:
    root = _copy_of_two_roles(tmp_path, monkeypatch)
    readme = root / "roles" / "jemalloc" / "README.md"
    readme.write_text("# jemalloc\n\n## Variables\n\nprose only\n")
    (root / "docs" / "variables.md").write_text("stale\n")
    monkeypatch.setattr(sys, "argv", ["variables_doc.py"])
    assert variables_doc.main() == 1
    err = capsys.readouterr().err
    assert "roles/jemalloc/README.md has no generated variables block" in err
    assert variables_doc.BEGIN in err and variables_doc.END in err
    assert readme.read_text() == "# jemalloc\n\n## Variables\n\nprose only\n"
    assert (root / "docs" / "variables.md").read_text() == "stale\n"
