"""Fixtures of the vllm_sim tests (helpers live in vllm_sim_support, a name no other test directory uses)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from vllm_sim_support import Server, Sim, make_sim


@pytest.fixture
def sim(tmp_path: Path) -> Sim:
    return make_sim(tmp_path)


@pytest.fixture
def server_factory(sim: Sim) -> Iterator[Any]:
    started: list[Server] = []

    def _start(*args: str) -> Server:
        server = Server(sim, *args)
        started.append(server)
        return server

    yield _start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One ready server shared by the read-only API tests of a module."""
    sim = make_sim(tmp_path_factory.mktemp("running"), load_seconds=0.2)
    server = Server(
        sim,
        "--served-model-name",
        "qwen2.5-vl",
        "--max-model-len",
        "16384",
        "-tp",
        "2",
        "--limit-mm-per-prompt",
        '{"image": 2}',
    )
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()
