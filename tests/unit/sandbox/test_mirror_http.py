"""The lab model mirror's HTTP server: full and ranged downloads, HEAD, listings, refusals, logging."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
if str(REPO / "sandbox") not in sys.path:
    sys.path.insert(0, str(REPO / "sandbox"))

from atlas_sim import mirror_http  # noqa: E402

PAYLOAD = bytes(range(256)) * 40  # 10240 bytes, every offset distinguishable


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, int, Path, list[str]]]:
    root = tmp_path / "root"
    (root / "Qwen" / "Qwen2.5-VL-7B-Instruct").mkdir(parents=True)
    (root / "Qwen" / "Qwen2.5-VL-7B-Instruct" / "model-00001-of-00005.safetensors").write_bytes(PAYLOAD)
    (root / "Qwen" / "Qwen2.5-VL-7B-Instruct" / "config.json").write_text('{"model_type": "qwen2_5_vl"}\n')
    (root / "Qwen" / ".hidden").write_text("x")
    (root / "empty.bin").write_bytes(b"")
    (tmp_path / "secret.txt").write_text("outside the root")
    (root / "escape").symlink_to(tmp_path / "secret.txt")
    server = mirror_http.make_server(root, "127.0.0.1", 0)
    lines: list[str] = []
    server.log = lines.append
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", server.server_address[1], root, lines
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


SHARD = "/Qwen/Qwen2.5-VL-7B-Instruct/model-00001-of-00005.safetensors"


def request(
    served: tuple[Any, ...], method: str, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(served[0], served[1], timeout=5)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def test_full_get(served) -> None:
    status, headers, body = request(served, "GET", SHARD)
    assert status == 200 and body == PAYLOAD
    assert headers["Content-Length"] == str(len(PAYLOAD))
    assert headers["Accept-Ranges"] == "bytes"
    assert headers["ETag"].startswith('"') and headers["Last-Modified"].endswith("GMT")
    status, headers, body = request(served, "GET", "/Qwen/Qwen2.5-VL-7B-Instruct/config.json")
    assert status == 200 and headers["Content-Type"] == "application/json" and b"qwen2_5_vl" in body


def test_quoted_path(served) -> None:
    status, _, body = request(served, "GET", SHARD.replace("-", "%2D") + "?x=1")
    assert status == 200 and body == PAYLOAD


def test_head(served) -> None:
    status, headers, body = request(served, "HEAD", SHARD)
    assert status == 200 and body == b""
    assert headers["Content-Length"] == str(len(PAYLOAD))
    assert headers["Accept-Ranges"] == "bytes" and "ETag" in headers


def test_range_a_b(served) -> None:
    status, headers, body = request(served, "GET", SHARD, {"Range": "bytes=100-299"})
    assert status == 206 and body == PAYLOAD[100:300]
    assert headers["Content-Range"] == f"bytes 100-299/{len(PAYLOAD)}"
    assert headers["Content-Length"] == "200"
    # An end past the file is clamped.
    status, headers, body = request(served, "GET", SHARD, {"Range": "bytes=10000-99999"})
    assert status == 206 and body == PAYLOAD[10000:]
    assert headers["Content-Range"] == f"bytes 10000-10239/{len(PAYLOAD)}"


def test_range_open_ended_and_suffix(served) -> None:
    status, headers, body = request(served, "GET", SHARD, {"Range": "bytes=4096-"})
    assert status == 206 and body == PAYLOAD[4096:]
    assert headers["Content-Range"] == f"bytes 4096-10239/{len(PAYLOAD)}"
    status, headers, body = request(served, "GET", SHARD, {"Range": "bytes=-16"})
    assert status == 206 and body == PAYLOAD[-16:]
    status, headers, body = request(served, "HEAD", SHARD, {"Range": "bytes=0-9"})
    assert status == 206 and body == b"" and headers["Content-Length"] == "10"


def test_range_unsatisfiable(served) -> None:
    status, headers, _ = request(served, "GET", SHARD, {"Range": f"bytes={len(PAYLOAD)}-"})
    assert status == 416 and headers["Content-Range"] == f"bytes */{len(PAYLOAD)}"
    status, headers, _ = request(served, "GET", "/empty.bin", {"Range": "bytes=0-"})
    assert status == 416 and headers["Content-Range"] == "bytes */0"


def test_ignored_ranges_send_everything(served) -> None:
    for value in ("bytes=0-1,5-6", "bytes=9-3", "items=0-3", "bytes=abc"):
        status, _, body = request(served, "GET", SHARD, {"Range": value})
        assert (status, body) == (200, PAYLOAD), value
    _, headers, _ = request(served, "HEAD", SHARD)
    status, _, body = request(served, "GET", SHARD, {"Range": "bytes=0-3", "If-Range": headers["ETag"]})
    assert (status, body) == (206, PAYLOAD[:4])
    status, _, body = request(served, "GET", SHARD, {"Range": "bytes=0-3", "If-Range": '"stale"'})
    assert (status, body) == (200, PAYLOAD)


@pytest.mark.parametrize(
    "path",
    ["/../secret.txt", "/Qwen/../../secret.txt", "/%2e%2e/secret.txt", "/Qwen/%2E%2E/%2E%2E/secret.txt",
     "/escape", "/..%2fsecret.txt", "/nope.bin", "/a%00b"],
)  # fmt: skip
def test_traversal_and_missing_refused(served, path: str) -> None:
    status, _, body = request(served, "GET", path)
    assert status == 404 and b"outside the root" not in body


def test_listing_and_redirect(served) -> None:
    status, headers, body = request(served, "GET", "/Qwen/Qwen2.5-VL-7B-Instruct/")
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert json.loads(body) == [
        {"name": "config.json", "type": "file", "size": 29},
        {"name": "model-00001-of-00005.safetensors", "type": "file", "size": len(PAYLOAD)},
    ]
    status, _, body = request(served, "GET", "/Qwen/")
    assert json.loads(body) == [{"name": "Qwen2.5-VL-7B-Instruct", "type": "dir"}]
    status, headers, _ = request(served, "GET", "/Qwen")
    assert status == 301 and headers["Location"] == "/Qwen/"


def test_read_only(served) -> None:
    for method in ("POST", "PUT", "DELETE"):
        status, headers, _ = request(served, method, SHARD)
        assert status == 405 and headers["Allow"] == "GET, HEAD"
    assert (served[2] / SHARD.lstrip("/")).read_bytes() == PAYLOAD


def test_one_log_line_per_request(served) -> None:
    request(served, "GET", SHARD, {"Range": "bytes=0-99"})
    request(served, "GET", "/nope")
    request(served, "PUT", SHARD)
    # The server logs once the response is complete, which can be just after the client has read it.
    lines = served[3]
    deadline = time.monotonic() + 3
    while len(lines) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(lines) == 3, lines
    # Each line is written when its response is complete, so their order is not guaranteed.
    assert all(line.startswith("127.0.0.1 ") for line in lines)
    assert sum(line.endswith(f'"GET {SHARD} HTTP/1.1" 206 100') for line in lines) == 1
    assert sum('"GET /nope HTTP/1.1" 404' in line for line in lines) == 1
    assert sum('"PUT ' in line and line.split()[-2] == "405" for line in lines) == 1


def test_keep_alive_serves_several_requests(served) -> None:
    conn = http.client.HTTPConnection(served[0], served[1], timeout=5)
    try:
        for first in (0, 10, 20):
            conn.request("GET", SHARD, headers={"Range": f"bytes={first}-{first + 9}"})
            resp = conn.getresponse()
            assert resp.status == 206 and resp.read() == PAYLOAD[first : first + 10]
    finally:
        conn.close()


def test_parse_range_unit() -> None:
    assert mirror_http.parse_range(None, 10) is None
    assert mirror_http.parse_range("bytes=2-4", 10) == (2, 4)
    assert mirror_http.parse_range("bytes=2-", 10) == (2, 9)
    assert mirror_http.parse_range("bytes=-3", 10) == (7, 9)
    assert mirror_http.parse_range("bytes=-30", 10) == (0, 9)
    assert mirror_http.parse_range("bytes=10-", 10) == "unsatisfiable"
    assert mirror_http.parse_range("bytes=-0", 10) == "unsatisfiable"
    assert mirror_http.parse_range("bytes=-", 10) is None


def test_cli_refuses_missing_root(tmp_path: Path) -> None:
    assert mirror_http.main(["--root", str(tmp_path / "absent"), "--port", "0"]) == 1
    assert os.path.exists(mirror_http.__file__)


def test_cli_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    (tmp_path / "f.bin").write_bytes(PAYLOAD)
    env = {**os.environ, "PYTHONPATH": str(REPO / "sandbox")}
    cmd = [sys.executable, "-m", "atlas_sim.mirror_http", "--bind", "127.0.0.1", "--port", "0", "--root", str(tmp_path)]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
    try:
        banner = proc.stderr.readline()
        port = int(banner.split("http://127.0.0.1:", 1)[1].split("/", 1)[0])
        status, _, body = request(("127.0.0.1", port, tmp_path), "GET", "/f.bin", {"Range": "bytes=1-2"})
        assert (status, body) == (206, PAYLOAD[1:3])
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        rest = proc.stderr.read()
        assert '"GET /f.bin HTTP/1.1" 206 2' in rest and "stopped" in rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
