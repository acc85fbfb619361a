"""promtool and the prometheus role's files as Ansible renders them, for the tests that check them.

tests/promtool/render.yml renders the role's rule files and scrape configuration with the role's defaults and
variables (Ansible's own templating) into one directory, where the configuration names the rendered rule files; the
tests then run promtool (Debian 12's, the one the gateways run) on them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROMTOOL = REPO / ".venv" / "bin" / "promtool"
PROMTOOL_DIR = REPO / "tests" / "promtool"


def promtool() -> str:
    if not os.access(PROMTOOL, os.X_OK):
        pytest.fail(f"{PROMTOOL} is missing: run `make setup` (it extracts promtool from Debian's prometheus package)")
    return str(PROMTOOL)


def run_promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([promtool(), *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=300)


def render(dest: Path, extra_vars: dict | None = None, host: str = "localhost") -> Path:
    """Render the rule files and prometheus.yml into dest for the gateway ``host``; extra_vars as -e."""
    dest.mkdir(parents=True, exist_ok=True)
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", f"{host},", "-c", "local",
               str(PROMTOOL_DIR / "render.yml"), "-e", json.dumps({
                   "promtool_render_dir": str(dest), "__prometheus_config_dir": str(dest),
                   "ansible_python_interpreter": sys.executable, **(extra_vars or {})})]
    # A failure would otherwise be recorded as a host outcome in the checkout's reports directory.
    env = {**os.environ, "ATLAS_RESULTS_DIR": str(dest / "results"), "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")}
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False, timeout=300, env=env)
    assert result.returncode == 0, f"rendering the role's files failed:\n{result.stdout}\n{result.stderr}"
    return dest
