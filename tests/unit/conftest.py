"""Make this checkout importable as ``ansible_collections.atlas.vllm`` for the unit tests.

The repository root is the collection root, but Python can only import it under the collection's name when a
directory on ``sys.path`` holds ``ansible_collections/atlas/vllm``. A temporary directory with that layout,
containing a symlink back to the checkout, avoids copying files or depending on where the checkout lives.
"""

from __future__ import annotations

import atexit
import functools
import importlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _expose_collection() -> Path:
    root = Path(tempfile.mkdtemp(prefix="atlas-vllm-collections-"))
    # rmtree unlinks the symlink without following it, so the checkout is never touched.
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    namespace = root / "ansible_collections" / "atlas"
    namespace.mkdir(parents=True)
    (namespace / "vllm").symlink_to(REPO_ROOT, target_is_directory=True)
    sys.path.insert(0, str(root))
    # Anything that installs Ansible's collection loader (e.g. plugin loading) looks here rather than on sys.path.
    # The playbooks the tests run also need the collections .venv holds (community.crypto, ...).
    os.environ["ANSIBLE_COLLECTIONS_PATH"] = os.pathsep.join(
        part for part in (str(root), os.environ.get("ANSIBLE_COLLECTIONS_PATH", ""),
                          str(REPO_ROOT / ".venv" / "collections")) if part
    )
    # A namespace package imported earlier keeps a stale path cache; drop it so the new entry is seen.
    for name in [
        name for name in sys.modules if name == "ansible_collections" or name.startswith("ansible_collections.")
    ]:
        del sys.modules[name]
    importlib.invalidate_caches()
    return root


COLLECTIONS_ROOT = _expose_collection()


def read_fixture(relative: str) -> str:
    """Text of a fixture file under tests/unit/fixtures."""
    return (FIXTURES / relative).read_text(encoding="utf-8")


@pytest.fixture
def fixture_text():
    return read_fixture


# What the parsers make of the verbatim samples, asserted by the parser tests and by the module tests that replay
# the same samples (the module hands on the parser's result).
NPU_910B3_DEVICE_0 = {
    "npu_id": 0,
    "chip_id": 0,
    "name": "910B3",
    "health": "OK",
    "power_w": 94.7,
    "temp_c": 54,
    "aicore_pct": 0,
    "hbm_used_mb": 3396,
    "hbm_total_mb": 65536,
    "memory_used_mb": 0,
    "memory_total_mb": 0,
    "bus_id": "0000:C1:00.0",
}
HCCN_CONF_TLS_DEVICE_0 = {
    "address": "10.20.0.10",
    "netmask": "255.255.255.0",
    "netdetect": "10.20.0.1",
    "gateway": "10.20.0.1",
    "send_arp_status": "1",
    "tls_enable": "0",
}


@pytest.fixture
def expected() -> dict[str, dict]:
    return {"npu_910b3_device_0": NPU_910B3_DEVICE_0, "hccn_conf_tls_device_0": HCCN_CONF_TLS_DEVICE_0}


@pytest.fixture
def closing():
    """closing(factory, **kwargs) builds a test server (anything with close()); all are closed after the test."""
    opened: list = []

    def start(factory, **kwargs):
        thing = factory(**kwargs)
        opened.append(thing)
        return thing

    yield start
    for thing in opened:
        thing.close()


@pytest.fixture
def servers(closing):
    """Start fake vLLM servers (tests/unit/fixtures/vllm_health); all are closed after the test."""
    sys.path.insert(0, str(FIXTURES / "vllm_health"))
    from vllm_health_fakes import FakeVllm

    return functools.partial(closing, FakeVllm)
