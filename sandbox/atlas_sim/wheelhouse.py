"""The router wheelhouse an operator prepares on the controller before the gateways are installed.

The lab has no uplink, so a playbook run inside it cannot reach the package index. Like a site that fills the
wheelhouse of an air-gapped controller beforehand, `atlas-sim up --gateways N` downloads it once, outside the
lab, where the vllm_router role looks for it (`build/wheelhouse/<package>-<version>-cp<XY>-<arch>/` with its
`.complete` marker); the role then only copies and installs it. Package and version are read from the role's
defaults, so the sandbox prepares exactly what the role installs.
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

from . import paths
from .proc import run_with_heartbeat

ROLE_DEFAULTS = paths.REPO_ROOT / "roles" / "vllm_router" / "defaults" / "main.yml"
# The gateways boot the shared bookworm rootfs: CPython 3.11 on the machine's architecture.
GATEWAY_PYTHON = "3.11"
MANYLINUX = ("manylinux_2_28", "manylinux_2_17", "manylinux2014", "manylinux_2_5", "manylinux1")


def wheelhouse_dir() -> Path:
    package, version = _package_version()
    tag = "cp" + GATEWAY_PYTHON.replace(".", "")
    return paths.REPO_ROOT / "build" / "wheelhouse" / f"{package}-{version}-{tag}-{platform.machine()}"


def ensure(progress: Callable[[str], None]) -> Path:
    target = wheelhouse_dir()
    marker = target / ".complete"
    if marker.is_file():
        return target
    package, version = _package_version()
    progress(f"downloading the {package} {version} wheelhouse for the gateways (about 30 MB, once)")
    argv = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--progress-bar", "off",
            "--only-binary=:all:", "--dest", str(target), "--python-version", GATEWAY_PYTHON, "--implementation", "cp",
            *[f"--platform={tag}_{platform.machine()}" for tag in MANYLINUX], f"{package}=={version}"]
    run_with_heartbeat(argv, progress, "pip download")
    marker.write_text(f"{package}=={version} for {target.name}\n")
    progress(f"wheelhouse ready at {target}")
    return target


def _package_version() -> tuple[str, str]:
    defaults = yaml.safe_load(ROLE_DEFAULTS.read_text())
    return defaults["vllm_router_package"], str(defaults["vllm_router_version"])
