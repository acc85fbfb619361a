"""Where atlas-sim keeps its cache and its runtime state.

The cache (rootfs, package mirrors, image) survives `down`; the runtime directory is
removed by it. Both live under the checkout's ignored `build/` directory so that overlay
upper dirs sit on the real filesystem (overlayfs cannot stack its upper dir on another
overlay), unless ATLAS_SIM_HOME points elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def home() -> Path:
    return Path(os.environ.get("ATLAS_SIM_HOME", REPO_ROOT / "build" / "sandbox")).resolve()


def cache_dir() -> Path:
    return home() / "cache"


def run_dir() -> Path:
    return home() / "run"


def host_dir(name: str) -> Path:
    return run_dir() / "hosts" / name


def fleet_file() -> Path:
    return run_dir() / "fleet.json"


def ssh_key() -> Path:
    return run_dir() / "id_ed25519"


def gateway_clients_file() -> Path:
    # The fleet endpoint's client keys ({name: key}), made at `up`; group_vars read them from here.
    return run_dir() / "gateway-clients.json"


def fleet_ca_dir() -> Path:
    # Kept across `down`, as a site keeps its fleet CA: clients keep trusting one ca.crt.
    return home() / "fleet-ca"


def kernel_limits_file() -> Path:
    # The host's limits as `up` found them, for `down` to put back.
    return run_dir() / "kernel-limits.json"


def inventory_file() -> Path:
    # Generated beside the committed sandbox group_vars/, so Ansible loads them with it.
    return REPO_ROOT / "inventories" / "sandbox" / "atlas-sim.yml"


def venv_bin() -> Path:
    return REPO_ROOT / ".venv" / "bin"
