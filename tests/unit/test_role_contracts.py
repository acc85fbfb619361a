"""Every role documents every public variable, and docs/variables.md is generated from those specs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ROLES = sorted(path.name for path in (REPO / "roles").iterdir() if path.is_dir())


@pytest.mark.parametrize("role", ROLES)
def test_every_default_is_prefixed_and_in_the_argument_spec(role: str) -> None:
    spec_file = REPO / "roles" / role / "meta" / "argument_specs.yml"
    assert spec_file.exists(), f"roles/{role} has no meta/argument_specs.yml"
    options = yaml.safe_load(spec_file.read_text())["argument_specs"]["main"].get("options", {})
    defaults_file = REPO / "roles" / role / "defaults" / "main.yml"
    defaults = (yaml.safe_load(defaults_file.read_text()) or {}) if defaults_file.exists() else {}
    assert [name for name in defaults if not name.startswith(f"{role}_")] == []
    assert sorted(set(defaults) - set(options)) == [], f"roles/{role}: defaults missing from argument_specs"


def test_the_variable_reference_is_up_to_date() -> None:
    result = subprocess.run([sys.executable, str(REPO / "scripts/variables_doc.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
