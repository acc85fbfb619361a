"""The exporter's view of other containers' NPU registrations, through a docker API on a unix socket."""

from __future__ import annotations

import http.server
import io
import json
import socketserver
import tarfile
import threading
from pathlib import Path

import pytest
from atlas_sim.image.npu_exporter import container_procs
from atlas_sim.image.npu_exporter.collector import MetricsCache
from atlas_sim.image.npu_exporter.dcmi import Driver
from npu_exporter_support import ALL_GROUPS, BUILD_VERSION, T0, ExporterNode, card_labels, series

VLLM = {"id": "a1b2c3d4e5f60718", "pid": 1, "name": "VLLMWorker_TP", "devices": [0, 1],
        "hbm_mb_per_device": 52000, "started": 1767875000.0}


def _tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class FakeDocker:
    """The two docker API calls the exporter makes, served on a unix socket: a running container with a
    registration (and a hidden temporary file), and one without the directory (404, as dockerd answers)."""

    def __init__(self, socket_path: Path, procs_dir: str) -> None:
        archive = _tar({"procs/": b"", f"procs/{VLLM['id']}.json": json.dumps(VLLM).encode(),
                        "procs/.x.tmp": b"{}", "procs/broken.json": b"{not json"})
        routes = {"/containers/json": (200, json.dumps([{"Id": "c1"}, {"Id": "c2"}]).encode()),
                  f"/containers/c1/archive?path={procs_dir.replace('/', '%2F')}": (200, archive),
                  f"/containers/c2/archive?path={procs_dir.replace('/', '%2F')}": (404, b'{"message":"no such"}')}
        self.requests: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server interface
                outer.requests.append(self.path)
                status, body = routes.get(self.path, (404, b"{}"))
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

            def address_string(self) -> str:
                return "unix"

        self.server = socketserver.ThreadingUnixStreamServer(str(socket_path), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeDocker:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_registrations_of_running_containers_are_read(tmp_path: Path) -> None:
    with FakeDocker(tmp_path / "docker.sock", "/run/atlas-twin/procs") as docker:
        records = container_procs.container_registrations("/run/atlas-twin/procs", str(tmp_path / "docker.sock"))
    assert records == [VLLM]
    assert docker.requests[0] == "/containers/json"


def test_no_socket_means_no_records(tmp_path: Path) -> None:
    assert container_procs.container_registrations("/run/atlas-twin/procs", str(tmp_path / "absent.sock")) == []


def test_merge_keeps_each_registration_once_oldest_first() -> None:
    older = {**VLLM, "id": "0000000000000001", "started": 1.0}
    assert container_procs.merge([VLLM], [VLLM, older]) == [older, VLLM]


def test_hbm_of_a_vllm_container_shows_on_its_chips(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    node = ExporterNode(tmp_path, monkeypatch)
    stamp = int(T0 * 1000)
    idle = {r.chip.logic_id: r.hbm_used_mb for r in node.driver().read(node.driver().chips(), stamp)}
    with FakeDocker(tmp_path / "docker.sock", node.twin.env["ATLAS_TWIN_PROCS_DIR"]):
        driver = Driver.open(node.environ, str(tmp_path / "docker.sock"))
        cache = MetricsCache(driver, 5, ALL_GROUPS, BUILD_VERSION, None, node.clock)
        cache.start()
        text = cache.text()
    used = series(text, "npu_chip_info_hbm_used_memory")
    assert f"npu_chip_info_hbm_used_memory{card_labels(0)} {idle[0] + 52000} {stamp}" in used
    assert f"npu_chip_info_hbm_used_memory{card_labels(1)} {idle[1] + 52000} {stamp}" in used
    assert f"npu_chip_info_hbm_used_memory{card_labels(2)} {idle[2]} {stamp}" in used
