"""Fixtures that boot atlas-sim fleets. These tests need root and the sandbox's Debian packages."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = REPO / ".venv" / "bin"
SIM = str(VENV_BIN / "atlas-sim")


def sim(*args: str, check: bool = True, timeout: float = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run([SIM, *args], capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, **(env or {})})
    if check and result.returncode != 0:
        raise AssertionError(f"atlas-sim {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result


def in_lab(*argv: str, check: bool = True, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    return sim("run", "--", *argv, check=check, timeout=timeout, env=env)


def in_node(node: str, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return sim("exec", node, "--", *argv, check=check)


def machine_network_state() -> dict:
    """What the sandbox must leave exactly as it found it on the machine."""
    def out(*argv: str) -> str:
        return subprocess.run(list(argv), capture_output=True, text=True).stdout

    return {
        "ip_forward": Path("/proc/sys/net/ipv4/ip_forward").read_text().strip(),
        "routes": out("ip", "route", "show", "table", "all"),
        "iptables": out("iptables-save") if subprocess.run(["which", "iptables-save"],
                                                           capture_output=True).returncode == 0 else "",
        "links": sorted(line.split(":")[1].strip() for line in out("ip", "-o", "link").splitlines()),
    }


@pytest.fixture(scope="session", autouse=True)
def _needs_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("atlas-sim tests need root")


@pytest.fixture(scope="session")
def fleet_factory() -> Callable[..., dict]:
    """Boot a fleet (or reuse one of the same shape) and return its record."""
    def up(*args: str) -> dict:
        sim("up", *args)
        return json.loads((REPO / "build/sandbox/run/fleet.json").read_text())
    return up
