"""playbooks/report.yml writes a report.html that a real browser renders: headless Chromium draws it, its script runs
without an error, nothing is fetched (the page's Content-Security-Policy would log any attempt) and the node grid
in the rendered DOM shows every node of the inventory.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
NODES = ["atlas-01", "atlas-02", "atlas-03", "atlas-04"]
RECORDED = "2026-12-04T22:01:00"
LINK_DOWN = {"name": "npu_link", "status": "CRITICAL", "device": 3, "detail": "link status: DOWN",
             "action": "check the optical module of NPU 3"}
PING_LOSS = {"name": "ping_matrix", "status": "WARNING", "device": 5, "detail": "atlas-03 NPU 5 -> atlas-01 NPU 5: "
             "33.33% loss", "action": "check the fabric path"}
HCCL_LINES = ["atlas-01 -> atlas-02: 8/8 device pairs OK", "atlas-02 -> atlas-03: 8/8 device pairs OK",
              "atlas-03 -> atlas-01: 7/8 device pairs OK, failing devices [5]"]


def _instance(name: str, port: int, devices: list[int], ready: bool, seconds: float | None) -> dict:
    return {"name": name, "url": f"http://10.231.0.11:{port}", "port": port, "devices": devices,
            "state": "ready" if ready else "loading", "ready": ready, "time_to_ready_s": seconds}


def _bench(instance: str, p99_ttft: float) -> dict:
    return {"instance": instance, "request_throughput": 2.0, "output_throughput": 127.4, "failed": 0,
            "mean_ttft_ms": 90.4, "median_ttft_ms": 88.7, "p99_ttft_ms": p99_ttft, "mean_tpot_ms": 30.4,
            "median_tpot_ms": 30.5, "p99_tpot_ms": 30.5, "slo_status": "PASS", "slo_checks": []}


STAGES = {
    "atlas-01": {"verdict": {"status": "PASS", "checks": []}, "hccl": {"lines": HCCL_LINES},
                 "instances": [_instance("vllm-0", 8000, [0, 1], True, 95.2),
                               _instance("vllm-1", 8001, [2, 3], True, 101.0)],
                 "benchmark": [_bench("vllm-0", 100.2), _bench("vllm-1", 140.8)]},
    "atlas-02": {"verdict": {"status": "CRITICAL", "checks": [LINK_DOWN]}, "hccl": {"lines": HCCL_LINES},
                 "instances": [_instance("vllm-0", 8000, [0, 1], True, 88.0)]},
    "atlas-03": {"verdict": {"status": "WARNING", "checks": [PING_LOSS]}, "hccl": {"lines": HCCL_LINES},
                 "instances": [_instance("vllm-0", 8000, [0, 1], False, None)]},
    # atlas-04 recorded nothing: the page must still show it, as a node without results.
}


def _chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        pytest.fail("chromium is not installed: run `make setup` (scripts/host-packages.txt lists it)")
    return found


def _write_report(tmp_path: Path) -> Path:
    reports = tmp_path / "reports"
    for host, stages in STAGES.items():
        (reports / "results" / host).mkdir(parents=True)
        for stage, data in stages.items():
            record = {"host": host, "stage": stage, "recorded": RECORDED, "data": data}
            (reports / "results" / host / f"{stage}.json").write_text(json.dumps(record))
    # Addresses in TEST-NET-1: the report play runs on the controller and never connects to them.
    inventory = {"atlas_nodes": {"hosts": {h: {"ansible_host": f"192.0.2.{i}"} for i, h in enumerate(NODES, 1)}}}
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inventory))
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    done = subprocess.run([REPO / ".venv/bin/ansible-playbook", "playbooks/report.yml", "-i", str(tmp_path / "hosts.yml"),
                           "-e", f"atlas_reports_dir={reports}"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    named = re.search(r"fleet report page: (\S+/report\.html)", done.stdout)
    assert named, done.stdout
    return Path(named.group(1))


def _browse(page: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    argv = [_chromium(), "--headless", "--disable-gpu", f"--user-data-dir={tmp_path / 'chromium-profile'}",
            "--enable-logging=stderr", "--v=0", "--window-size=1280,2000", *args, page.as_uri()]
    if os.geteuid() == 0:
        # Chromium refuses to start its sandbox as root.
        argv.insert(1, "--no-sandbox")
    done = subprocess.run(argv, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    return done


def _png_pixels(path: Path) -> tuple[int, int, bytes]:
    """Width, height and the decompressed scanlines of a PNG file."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    chunks, offset = [], 8
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        if kind == b"IDAT":
            chunks.append(data[offset + 8:offset + 8 + length])
        offset += 12 + length
    return width, height, zlib.decompress(b"".join(chunks))


@pytest.fixture(scope="module")
def report_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_report(tmp_path_factory.mktemp("report"))


def test_chromium_draws_the_page(report_page: Path, tmp_path: Path) -> None:
    screenshot = tmp_path / "report.png"
    _browse(report_page, tmp_path, f"--screenshot={screenshot}")
    width, height, pixels = _png_pixels(screenshot)
    assert (width, height) == (1280, 2000)
    # A blank or single-colour page compresses to a handful of byte values; text, grids and charts do not.
    assert len(set(pixels)) > 64, "the screenshot is (nearly) blank"


def test_the_script_runs_without_errors_and_the_grid_shows_every_node(report_page: Path, tmp_path: Path) -> None:
    done = _browse(report_page, tmp_path, "--dump-dom")
    # Every console message (script errors, blocked fetches, console.error) is logged as CONSOLE; the page has none.
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]
    assert console == [], "\n".join(console)
    dom = done.stdout
    assert re.search(r'<body[^>]* data-script="ran"', dom), "the page's script did not run"
    # The script shows the grid's filter, which stays hidden without it.
    assert re.search(r'<label id="attention-filter">', dom)
    grid = re.search(r'<table id="node-grid".*?</table>', dom, re.DOTALL)
    assert grid, "no node grid in the rendered page"
    rows = dict(re.findall(r'<tr class="[^"]*" data-node="([^"]+)" data-verdict="([^"]+)">', grid.group(0)))
    assert rows == {"atlas-01": "PASS", "atlas-02": "CRITICAL", "atlas-03": "WARNING", "atlas-04": "NONE"}
    for chart in ("readiness-chart", "ttft-chart", "tpot-chart"):
        assert f'<svg id="{chart}"' in dom
    assert 'id="hccl-grid"' in dom
