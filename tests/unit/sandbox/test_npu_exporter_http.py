"""HTTP round trips with the simulated exporter on 127.0.0.1, in process and as the image's command."""

from __future__ import annotations

import gzip
import http.client
import io
import random
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from atlas_sim.image import exporter_image
from atlas_sim.image.npu_exporter.hwlog import RunLog
from atlas_sim.image.npu_exporter.server import ExporterServer
from npu_exporter_support import IMAGE_DIR, ExporterNode, card_labels, th


class LogCapture(io.StringIO):
    """The run log's stdout; the access line is written after the response, so tests wait for it."""

    def __init__(self) -> None:
        super().__init__()
        self.written = threading.Event()

    def write(self, text: str) -> int:
        count = super().write(text)
        self.written.set()
        return count


LOG_LINE = re.compile(r"^\[(INFO|WARN|ERROR)\] +\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6} \d+ +(\S+)    (.*)$")


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[int, LogCapture]]:
    node = ExporterNode(tmp_path, monkeypatch)
    node.fault("npu-unhealthy", 3, "Warning")
    log_out = LogCapture()
    server = ExporterServer(("127.0.0.1", 0), node.cache(), RunLog(0, log_out, None), 8082)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], log_out
    server.shutdown()
    server.server_close()


def request(port: int, method: str, path: str,
            headers: dict[str, str] | None = None) -> tuple[http.client.HTTPResponse, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        return response, response.read()
    finally:
        conn.close()


def test_metrics_round_trip(served: tuple[int, LogCapture]) -> None:
    port, log_out = served
    response, raw = request(port, "GET", "/metrics", {"User-Agent": "Prometheus/2.53.0"})
    assert response.status == 200
    assert response.getheader("Content-Type") == "text/plain; version=0.0.4; charset=utf-8"
    assert response.getheader("Server") is None
    body = raw.decode()
    assert body.startswith("# HELP machine_npu_nums Amount of npu installed on the machine.\n")
    assert f"npu_chip_info_health_status{card_labels(3)} 0 " in body
    assert log_out.written.wait(10)
    (line,) = log_out.getvalue().splitlines()
    match = LOG_LINE.match(line)
    assert match and match.group(2) == "limiter/limit_handler.go:122"
    assert re.fullmatch(r"HTTP/1\.1 GET: /metrics <200> \(\d+ms\) \|      127\.0\.0\.1 \|Prometheus/2\.53\.0 \|\d+",
                        match.group(3))


def test_gzip_when_accepted(served: tuple[int, LogCapture]) -> None:
    port, _ = served
    _, plain = request(port, "GET", "/metrics")
    response, compressed = request(port, "GET", "/metrics", {"Accept-Encoding": "gzip"})
    assert response.getheader("Content-Encoding") == "gzip"
    assert gzip.decompress(compressed) == plain


def test_other_methods_get_go_404(served: tuple[int, LogCapture]) -> None:
    port, log_out = served
    response, body = request(port, "POST", "/metrics")
    assert (response.status, body) == (404, b"404 page not found\n")
    assert response.getheader("Content-Type") == "text/plain; charset=utf-8"
    assert log_out.getvalue() == ""


def test_welcome_page_on_other_paths(served: tuple[int, LogCapture]) -> None:
    port, _ = served
    response, body = request(port, "GET", "/")
    assert response.getheader("Content-Type") == "text/html; charset=utf-8"
    assert body == (
        b'<html>\n\t\t\t<head><title>NPU-Exporter</title></head>\n\t\t\t<body>\n\t\t\t<h1 align="center">NPU-Exporter'
        b'</h1>\n\t\t\t<p align="center">Welcome to use NPU-Exporter,the Prometheus metrics url is http://ip:8082/metr'
        b'ics: <a href="./metrics">Metrics</a></p>\n\t\t\t</body>\n\t\t\t</html>'
    )


# ---------------------------------------------------------------------------------------------------------------
# The command as the image runs it
# ---------------------------------------------------------------------------------------------------------------


def launcher(tmp_path: Path) -> Path:
    script = tmp_path / "npu-exporter"
    script.write_text(exporter_image.launcher(str(IMAGE_DIR)), encoding="utf-8")
    return script


def free_port() -> int:
    """A free port inside the exporter's accepted range [1025, 40000] (ephemeral ports may fall outside it)."""
    for _ in range(200):
        port = random.randint(20000, 40000)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


def test_command_serves_the_node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    node = ExporterNode(tmp_path / "node", monkeypatch)
    node.fault("hbm-busy", 6, 30000)
    port = free_port()
    log_file = tmp_path / "log" / "npu-exporter.log"
    env = dict(node.twin.env, LD_LIBRARY_PATH=str(th.NODE_DIR))
    proc = subprocess.Popen(
        [sys.executable, str(launcher(tmp_path)), f"-port={port}", "-ip", "127.0.0.1", "-updateTime=1",
         f"-logFile={log_file}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                body = request(port, "GET", "/metrics")[1].decode()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
                time.sleep(0.05)
        assert 'npu_chip_info_hbm_used_memory{container_name="",id="6"' in body
        assert re.search(r'id="6",model_name="910B3-Ascend-V1",[^}]*} 33418 \d+\n', body)
    finally:
        proc.terminate()
        stdout, _ = proc.communicate(timeout=30)
    messages = [LOG_LINE.match(line).group(3) for line in stdout.splitlines()]  # type: ignore[union-attr]
    assert messages[:3] == ["npu-exporter.log's logger init success", "listen on: 127.0.0.1",
                            "get card list from dcmi reset timeout is 60"]
    assert "npu exporter starting and the version is v7.3.0_linux-" in " ".join(messages)
    assert "enable unsafe http server" in messages
    # Same lines in the log file (compared up to the last start-up line: SIGTERM may fall between the two writes).
    started = next(i for i, line in enumerate(stdout.splitlines()) if line.endswith("enable unsafe http server"))
    assert log_file.read_text(encoding="utf-8").splitlines()[: started + 1] == stdout.splitlines()[: started + 1]
    assert oct(log_file.stat().st_mode & 0o777) == "0o640"


def test_command_without_the_driver_mounted(tmp_path: Path) -> None:
    log_file = tmp_path / "npu-exporter.log"
    done = subprocess.run(
        [sys.executable, str(launcher(tmp_path)), "-ip=0.0.0.0", f"-logFile={log_file}"],
        capture_output=True, text=True, env={"LD_LIBRARY_PATH": str(tmp_path / "no-driver"), "PATH": "/usr/bin:/bin"},
        timeout=60, check=False,
    )
    assert done.returncode == 0  # the real main() logs and returns
    lines = [LOG_LINE.match(line) for line in done.stdout.splitlines()]
    assert [(m.group(1), m.group(2), m.group(3)) for m in lines if m] == [
        ("INFO", "hwlog/api.go:108", "npu-exporter.log's logger init success"),
        ("INFO", "npu-exporter/main.go:274", "listen on: 0.0.0.0"),
        ("INFO", "devmanager/devmanager.go:128", "get card list from dcmi reset timeout is 60"),
        ("ERROR", "devmanager/devmanager.go:131",
         "deviceManager init failed, prepare dcmi failed, err: cannot found valid driver lib, fromEnv: lib path is "
         "invalid, [], fromLdCmd: can't find valid lib: EOF"),
        ("ERROR", "npu-exporter/main.go:126",
         "new npu collector failed, error is auto init failed, err: get chip info failed, err: device Manager is nil, "
         "may encounter an exception during initialization. You can check the system log to confirm"),
    ]
    assert len(lines) == 5
    assert re.fullmatch(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d command exec failed, exit status 1\n", done.stderr)


def test_image_default_command_stops_without_an_address(tmp_path: Path) -> None:
    log_file = tmp_path / "npu-exporter.log"
    done = subprocess.run([sys.executable, str(launcher(tmp_path)), f"-logFile={log_file}"], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0
    assert done.stdout.splitlines()[-1].endswith("npu-exporter/main.go:188    the listen ip is invalid")
