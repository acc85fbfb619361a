"""vllm_router_workers runs against a fake vLLM router on 127.0.0.1 that answers like vllm-router 0.1.17.

The module runs in-process through its real main(), exit_json and fail_json; the router is a real HTTP server that
keeps a worker set, so the calls, their order and the timeouts are measured, not mocked.
"""

from __future__ import annotations

import json
import socket
import stat
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from ansible_collections.atlas.vllm.plugins.module_utils.router_api import parse_workers_env
from ansible_collections.atlas.vllm.plugins.modules import vllm_router_workers
from module_main import run_main

UNIT = Path(__file__).resolve().parents[1]
W1, W2, W3 = "http://127.0.0.1:18001", "http://127.0.0.1:18002", "http://127.0.0.1:18003"


class QuietServer(ThreadingHTTPServer):
    """A client that gave up (its timeout) closes the socket before the answer: not an error of the test."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class FakeRouter:
    """The runtime API of vllm-router: /list_workers, /add_worker?url=, /remove_worker?url=."""

    def __init__(self, workers: list[str] | None = None) -> None:
        self.workers: list[str] = list(workers or [])
        self.calls: list[tuple[str, str]] = []
        self.slow: dict[str, float] = {}  # worker -> seconds add_worker blocks (an unhealthy worker)
        self.racing: set[str] = set()  # added by someone else just before our add_worker arrives
        self.fail_add: dict[str, tuple[int, str]] = {}
        self.list_body: str | None = None
        self.released = threading.Event()
        self.lock = threading.Lock()
        router = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def reply(self, status: int, body: str, content_type: str = "text/plain; charset=utf-8") -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                router.calls.append(("GET", parts.path))
                if parts.path == "/list_workers":
                    with router.lock:
                        body = router.list_body or json.dumps({"urls": router.workers})
                    self.reply(200, body, "application/json")
                else:
                    self.reply(404, "")

            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                url = parse_qs(parts.query).get("url", [""])[0]
                router.calls.append((parts.path, url))
                if parts.path == "/add_worker":
                    if url in router.fail_add:
                        self.reply(*router.fail_add[url])
                        return
                    if url in router.slow:
                        router.released.wait(router.slow[url])
                    with router.lock:
                        if url in router.racing:
                            router.workers.append(url)
                        if url in router.workers:
                            self.reply(400, f"Worker {url} already exists")
                            return
                        router.workers.append(url)
                    self.reply(200, f"Successfully added worker: {url}")
                elif parts.path == "/remove_worker":
                    with router.lock:
                        if url in router.workers:
                            router.workers.remove(url)
                    self.reply(200, f"Successfully removed worker: {url}")
                else:
                    self.reply(404, "")

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def posts(self) -> list[tuple[str, str]]:
        return [call for call in self.calls if call[0] != "GET"]

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def router():
    started: list[FakeRouter] = []

    def start(workers: list[str] | None = None) -> FakeRouter:
        fake = FakeRouter(workers)
        started.append(fake)
        return fake

    yield start
    for fake in started:
        fake.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(capsys: pytest.CaptureFixture[str], args: dict[str, Any]) -> tuple[bool, dict[str, Any], float]:
    failed, result, _, elapsed = run_main(capsys, vllm_router_workers, args)
    return failed, result, elapsed


# --- documentation ------------------------------------------------------------------------------------------


# Options, attributes and EXAMPLES against the argument spec: tests/unit/modules/test_module_docs.py.
def test_return_documents_every_key():
    returned = yaml.safe_load(vllm_router_workers.RETURN)
    assert set(returned) == {"workers", "added", "removed", "state_file_changed", "msg"}
    assert all("description" in value and "type" in value for value in returned.values())



# --- changes ------------------------------------------------------------------------------------------------


def test_removes_first_then_adds_and_writes_the_state_file(capsys, router, tmp_path):
    fake = router([W1, W3])
    state = tmp_path / "router-workers.env"
    failed, result, _ = call(capsys, {"router_url": fake.url, "present": [W2 + "/"], "absent": [W3],
                                      "state_file": str(state)})
    assert not failed, result["msg"]
    assert result["changed"] is True
    assert result["added"] == [W2] and result["removed"] == [W3]
    assert result["workers"] == [W1, W2]
    assert fake.workers == [W1, W2]
    assert fake.posts() == [("/remove_worker", W3), ("/add_worker", W2)]
    assert fake.calls[0] == ("GET", "/list_workers") and fake.calls[-1] == ("GET", "/list_workers")
    assert result["state_file_changed"] is True
    assert parse_workers_env(state.read_text()) == [W1, W2]
    assert stat.S_IMODE(state.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["router-workers.env"]  # no temporary file left


def test_second_run_changes_nothing(capsys, router, tmp_path):
    fake = router([W1])
    state = tmp_path / "router-workers.env"
    args = {"router_url": fake.url, "present": [W1, W2], "state_file": str(state)}
    assert call(capsys, args)[1]["changed"] is True
    before = state.stat().st_mtime_ns
    fake.calls.clear()
    failed, result, _ = call(capsys, args)
    assert not failed
    assert result["changed"] is False and result["state_file_changed"] is False
    assert result["added"] == [] and result["removed"] == []
    assert fake.posts() == []
    assert state.stat().st_mtime_ns == before


def test_exclusive_removes_members_not_present(capsys, router):
    fake = router([W1, W2, W3])
    failed, result, _ = call(capsys, {"router_url": fake.url, "present": [W2], "exclusive": True})
    assert not failed
    assert result["removed"] == [W1, W3] and result["added"] == []
    assert result["workers"] == [W2] and fake.workers == [W2]
    assert result["state_file_changed"] is False


def test_not_exclusive_keeps_other_members(capsys, router):
    fake = router([W1, W3])
    failed, result, _ = call(capsys, {"router_url": fake.url, "present": [W2]})
    assert not failed and result["workers"] == [W1, W2, W3]
    assert fake.posts() == [("/add_worker", W2)]


def test_already_exists_counts_as_success(capsys, router):
    fake = router([W1])
    fake.racing.add(W2)  # another client adds it between our list_workers and our add_worker
    failed, result, _ = call(capsys, {"router_url": fake.url, "present": [W1, W2]})
    assert not failed, result["msg"]
    assert fake.posts() == [("/add_worker", W2)]
    assert result["workers"] == [W1, W2]
    assert result["added"] == [] and result["changed"] is False


def test_state_file_is_rewritten_when_it_differs_without_a_membership_change(capsys, router, tmp_path):
    fake = router([W1, W2])
    state = tmp_path / "router-workers.env"
    state.write_text(f'ATLAS_ROUTER_WORKERS="{W1}"\n')
    state.chmod(0o600)
    failed, result, _ = call(capsys, {"router_url": fake.url, "present": [W1], "state_file": str(state)})
    assert not failed
    assert result["changed"] is True and result["state_file_changed"] is True
    assert result["added"] == [] and result["removed"] == [] and fake.posts() == []
    assert parse_workers_env(state.read_text()) == [W1, W2]
    assert state.read_text().startswith("# ")
    assert stat.S_IMODE(state.stat().st_mode) == 0o644


def test_state_file_with_the_same_workers_is_left_alone(capsys, router, tmp_path):
    fake = router([W2, W1])
    state = tmp_path / "router-workers.env"
    text = f'# Managed by atlas-vllm\nATLAS_ROUTER_WORKERS="{W2} {W1}/"\n'
    state.write_text(text)
    failed, result, _ = call(capsys, {"router_url": fake.url, "present": [W1], "state_file": str(state)})
    assert not failed
    assert result["changed"] is False and result["state_file_changed"] is False
    assert state.read_text() == text


def test_empty_state_file_from_the_install_matches_an_empty_router(capsys, router, tmp_path):
    fake = router([])
    state = tmp_path / "router-workers.env"
    state.write_text('# Managed by atlas-vllm: the workers, read by the router at start.\nATLAS_ROUTER_WORKERS=""\n')
    failed, result, _ = call(capsys, {"router_url": fake.url, "state_file": str(state)})
    assert not failed and result["changed"] is False and result["workers"] == []


# --- check mode ---------------------------------------------------------------------------------------------


def test_check_mode_reports_without_calling_or_writing(capsys, router, tmp_path):
    fake = router([W1, W3])
    state = tmp_path / "router-workers.env"
    failed, result, _ = call(capsys, {"router_url": fake.url, "present": [W2], "absent": [W3],
                                      "state_file": str(state), "_ansible_check_mode": True})
    assert not failed
    assert result["changed"] is True
    assert result["added"] == [W2] and result["removed"] == [W3]
    assert result["workers"] == [W1, W2]
    assert result["state_file_changed"] is True
    assert fake.posts() == [] and fake.workers == [W1, W3]
    assert not state.exists()


def test_check_mode_without_changes(capsys, router, tmp_path):
    fake = router([W1])
    state = tmp_path / "router-workers.env"
    args = {"router_url": fake.url, "present": [W1], "state_file": str(state)}
    call(capsys, args)
    failed, result, _ = call(capsys, {**args, "_ansible_check_mode": True})
    assert not failed and result["changed"] is False and result["state_file_changed"] is False


def test_check_mode_reports_a_state_file_that_would_change(capsys, router, tmp_path):
    fake = router([W1])
    state = tmp_path / "router-workers.env"
    state.write_text("stale\n")
    failed, result, _ = call(capsys, {"router_url": fake.url, "state_file": str(state), "_ansible_check_mode": True})
    assert not failed and result["changed"] is True and result["state_file_changed"] is True
    assert state.read_text() == "stale\n"


# --- failures -----------------------------------------------------------------------------------------------


def test_router_not_running(capsys):
    url = f"http://127.0.0.1:{free_port()}"
    failed, result, elapsed = call(capsys, {"router_url": url, "present": [W1]})
    assert failed
    assert url in result["msg"] and "connection refused" in result["msg"]
    assert "is the atlas-vllm-router service running on this host?" in result["msg"]
    assert elapsed < 5


def test_slow_add_fails_after_add_timeout_naming_the_worker(capsys, router):
    fake = router([W1])
    fake.slow[W2] = 10.0  # the router waits for the worker to become healthy
    failed, result, elapsed = call(capsys, {"router_url": fake.url, "present": [W2], "absent": [W1],
                                            "add_timeout": 0.5})
    assert failed
    assert 0.4 < elapsed < 4
    assert f"adding worker {W2}" in result["msg"]
    assert "add_timeout 0.5s" in result["msg"]
    assert "waits for a worker to become healthy" in result["msg"]
    assert fake.url in result["msg"]
    assert "removed " + W1 in result["msg"]  # what was done before the failure
    assert result["removed"] == [W1] and result["added"] == []


def test_slow_add_within_add_timeout_succeeds(capsys, router):
    fake = router([])
    fake.slow[W2] = 0.5
    failed, result, elapsed = call(capsys, {"router_url": fake.url, "present": [W2], "add_timeout": 5,
                                            "timeout": 0.2})
    assert not failed, result["msg"]
    assert elapsed >= 0.45 and result["added"] == [W2]


def test_add_error_status_is_reported(capsys, router):
    fake = router([])
    fake.fail_add[W2] = (500, "Failed to add worker: health check failed")
    failed, result, _ = call(capsys, {"router_url": fake.url, "present": [W2]})
    assert failed
    assert f"adding worker {W2}" in result["msg"] and "returned 500" in result["msg"]
    assert "health check failed" in result["msg"]


def test_bad_list_workers_answer(capsys, router):
    fake = router([])
    fake.list_body = "<html>not the router</html>"
    failed, result, _ = call(capsys, {"router_url": fake.url, "present": [W1]})
    assert failed
    assert f"GET {fake.url}/list_workers" in result["msg"] and "not JSON" in result["msg"]
    assert fake.posts() == []


def test_list_workers_http_error(capsys, router):
    fake = router([])
    failed, result, _ = call(capsys, {"router_url": fake.url + "/wrong"})
    assert failed and "returned 404" in result["msg"] and fake.url in result["msg"]


def test_present_and_absent_overlap(capsys, router):
    fake = router([])
    failed, result, _ = call(capsys, {"router_url": fake.url, "present": [W1], "absent": [W1 + "/"]})
    assert failed and "both present and absent" in result["msg"] and W1 in result["msg"]
    assert fake.posts() == []


@pytest.mark.parametrize(("args", "words"), [
    ({"present": ["127.0.0.1:18001"]}, "must start with http://"),
    ({"absent": ["http://"]}, "no host"),
    ({"present": ["http://127.0.0.1:18001/a b"]}, "whitespace"),
    ({"timeout": 0}, "timeout must be greater than 0"),
    ({"add_timeout": -1}, "add_timeout must be greater than 0"),
])
def test_invalid_options(capsys, router, args, words):
    fake = router([])
    failed, result, _ = call(capsys, {"router_url": fake.url, **args})
    assert failed and words in result["msg"]
    assert fake.calls == []


def test_state_file_directory_missing(capsys, router, tmp_path):
    fake = router([])
    state = tmp_path / "missing" / "router-workers.env"
    failed, result, _ = call(capsys, {"router_url": fake.url, "present": [W1], "state_file": str(state)})
    assert failed and str(tmp_path / "missing") in result["msg"] and "does not exist" in result["msg"]


def test_worker_dropped_by_someone_else_is_reported(capsys, router):
    fake = router([])
    original = fake.server.RequestHandlerClass.do_POST

    def add_then_drop(handler):
        original(handler)
        with fake.lock:
            fake.workers.clear()

    fake.server.RequestHandlerClass.do_POST = add_then_drop
    failed, result, _ = call(capsys, {"router_url": fake.url, "present": [W1]})
    assert failed and f"missing {W1}" in result["msg"]
    assert result["workers"] == [] and result["added"] == [W1]
