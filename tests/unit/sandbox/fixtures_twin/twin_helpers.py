"""Shared helpers of the twin driver-layer tests: a node on disk, tool runs, reference sample matching."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[4]
FIXTURES = Path(__file__).resolve().parent
NODE_DIR = REPO / "sandbox" / "atlas_sim" / "twin" / "node"
TOOLS = {"npu-smi": NODE_DIR / "npu-smi", "hccn_tool": NODE_DIR / "hccn_tool", "atlas-twin": NODE_DIR / "atlas-twin"}

# The project packages `atlas_sim` from sandbox/ (pyproject: packages.find where = ["sandbox"]).
sys.path.insert(0, str(REPO / "sandbox"))

from atlas_sim.twin import state  # noqa: E402
from atlas_sim.twin.node import atlas_twin  # noqa: E402

__all__ = ["Twin", "assert_segments", "atlas_twin", "fixture", "load_tool", "segments", "state", "transcript"]

_ELISION = re.compile(r"^(\(…|\.\.\.$)")


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def load_tool(name: str) -> ModuleType:
    """Import a node script (no .py suffix) as a module, to unit-test its helpers."""
    if str(NODE_DIR) not in sys.path:
        sys.path.insert(0, str(NODE_DIR))
    loader = importlib.machinery.SourceFileLoader(f"twin_{name.replace('-', '_')}", str(TOOLS[name]))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


class Twin:
    """One simulated node laid out under a temporary directory, as the tools see it inside a real node."""

    def __init__(self, root: Path, node: dict[str, Any], visible: list[int] | None = None) -> None:
        self.root = root
        self.state_dir = root / "state"
        self.dev_dir = root / "dev"
        self.fs_root = root / "fs"
        self.extra: dict[str, str] = {}
        self.dev_dir.mkdir(parents=True, exist_ok=True)
        (self.dev_dir / "davinci_manager").touch()
        ids = [d["logic_id"] for d in node["devices"]] if visible is None else visible
        for lid in ids:
            (self.dev_dir / f"davinci{lid}").touch()
        for rel in ("etc", "usr/local/Ascend/driver"):
            (self.fs_root / rel).mkdir(parents=True, exist_ok=True)
        self.save(node)

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            ATLAS_TWIN_STATE_DIR=str(self.state_dir),
            ATLAS_TWIN_PROCS_DIR=str(self.state_dir / "procs"),
            ATLAS_TWIN_DEV_DIR=str(self.dev_dir),
            ATLAS_TWIN_LIB_DIR=str(NODE_DIR),
            ATLAS_TWIN_ROOT=str(self.fs_root),
            LC_ALL="C",
        )
        env.update(self.extra)
        return env

    def save(self, node: dict[str, Any]) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        (self.state_dir / "node.json").write_text(atlas_twin.dump_node(node), encoding="utf-8")

    def load(self) -> dict[str, Any]:
        return json.loads((self.state_dir / "node.json").read_text(encoding="utf-8"))

    def run(self, tool: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(TOOLS[tool]), *args],
            capture_output=True,
            text=True,
            env=env or self.env,
            timeout=60,
            check=False,
        )

    def out(self, tool: str, *args: str) -> str:
        done = self.run(tool, *args)
        assert done.returncode == 0, (done.returncode, done.stdout, done.stderr)
        return done.stdout


def segments(text: str) -> list[list[str]]:
    """Runs of consecutive lines between the reference's elision markers."""
    runs: list[list[str]] = [[]]
    for line in text.splitlines():
        if _ELISION.match(line):
            runs.append([])
        else:
            runs[-1].append(line)
    return [run for run in runs if run]


def assert_segments(output: str, expected: list[list[str]]) -> None:
    """Every run of expected lines appears byte for byte and contiguously, in order, in the output."""
    lines = output.splitlines()
    start = 0
    for run in expected:
        pos = _find_run(lines, run, start)
        assert pos >= 0, "run not found in order:\n" + "\n".join(run) + "\n--- output ---\n" + output
        start = pos + len(run)


def _find_run(lines: list[str], run: list[str], start: int) -> int:
    for pos in range(start, len(lines) - len(run) + 1):
        if lines[pos : pos + len(run)] == run:
            return pos
    return -1


_LOOP = re.compile(r"^for i in \{0\.\.(\d+)\}; ?do (.*?) ?; ?done(?: \| grep (\S+))?$")
_GREP = re.compile(r"^(.*?) \| grep (\S+)$")


def transcript(text: str) -> list[tuple[str, str]]:
    """Split a `$ command` transcript into (command, expected output with elisions) pairs."""
    pairs: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("$ "):
            pairs.append((line[2:], []))
        elif pairs:
            pairs[-1][1].append(line)
    return [(cmd, "\n".join(body).strip("\n")) for cmd, body in pairs]


def run_shell(twin: Twin, command: str, device_id: int = 0) -> str:
    """Run a transcript command (`for i in {0..N}` loops, `| grep`) against the simulated tools."""
    loop = _LOOP.match(command)
    if loop:
        outputs = [run_shell(twin, loop.group(2).replace("$i", str(i))) for i in range(int(loop.group(1)) + 1)]
        return _grep("".join(outputs), loop.group(3))
    grep = _GREP.match(command)
    if grep:
        return _grep(run_shell(twin, grep.group(1), device_id), grep.group(2))
    argv = command.replace("${device_id}", str(device_id)).split()
    tool = Path(argv[0]).name
    return twin.run(tool, *argv[1:]).stdout


def _grep(text: str, word: str | None) -> str:
    if word is None:
        return text
    return "".join(line + "\n" for line in text.splitlines() if word in line)
