"""vllm_inflight runs against fake vLLM /metrics endpoints on 127.0.0.1 serving vLLM 0.11.0's exposition."""

from __future__ import annotations

import functools
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible_collections.atlas.vllm.plugins.modules import vllm_inflight
from module_main import run_main

UNIT = Path(__file__).resolve().parents[1]
SECRET = "sk-atlas-do-not-print-7f3a"
MODEL = "Qwen2.5-VL-7B-Instruct"


def exposition(running: float, waiting: float, engines: int = 1) -> str:
    """/metrics as vLLM 0.11.0 serves it (prometheus_client, text format 0.0.4), trimmed to a few families."""
    lines = [
        "# HELP vllm:num_requests_running Number of requests in model execution batches.",
        "# TYPE vllm:num_requests_running gauge",
    ]
    lines += [f'vllm:num_requests_running{{engine="{e}",model_name="{MODEL}"}} {float(running)}' for e in range(engines)]
    lines += [
        "# HELP vllm:num_requests_waiting Number of requests waiting to be processed.",
        "# TYPE vllm:num_requests_waiting gauge",
    ]
    lines += [f'vllm:num_requests_waiting{{engine="{e}",model_name="{MODEL}"}} {float(waiting)}' for e in range(engines)]
    lines += [
        "# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.",
        "# TYPE vllm:kv_cache_usage_perc gauge",
        f'vllm:kv_cache_usage_perc{{engine="0",model_name="{MODEL}"}} 0.0',
    ]
    return "\n".join(lines) + "\n"


class QuietServer(ThreadingHTTPServer):
    """A client that gave up (its timeout) closes the socket before the answer: not an error of the test."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class FakeMetrics:
    def __init__(self, body: str = "", status: int = 200, delay: float = 0.0) -> None:
        self.body, self.status, self.delay = body, status, delay
        self.requests: list[dict[str, Any]] = []
        self.released = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake.requests.append({"path": self.path, "headers": dict(self.headers)})
                if fake.delay:
                    fake.released.wait(fake.delay)
                data = fake.body.encode() if self.path == "/metrics" else b"not found"
                self.send_response(fake.status if self.path == "/metrics" else 404)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def metrics(closing):
    return functools.partial(closing, FakeMetrics)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(capsys: pytest.CaptureFixture[str], args: dict[str, Any]) -> tuple[bool, dict[str, Any], str, float]:
    """main() as Ansible runs it: returns (failed, result, raw output, seconds)."""
    return run_main(capsys, vllm_inflight, args)


# --- documentation ------------------------------------------------------------------------------------------


# Options, attributes and EXAMPLES against the argument spec: tests/unit/modules/test_module_docs.py.
def test_return_documents_every_key():
    returned = yaml.safe_load(vllm_inflight.RETURN)
    assert set(returned) == {"instances", "idle", "in_flight", "msg"}
    assert all("description" in value and "type" in value for value in returned.values())



# --- looks --------------------------------------------------------------------------------------------------


def test_busy_and_idle_instances(capsys, metrics):
    busy = metrics(body=exposition(running=2, waiting=1))
    idle = metrics(body=exposition(running=0, waiting=0))
    failed, result, out, _ = call(capsys, {"instances": [{"name": "vllm-0", "url": busy.url},
                                                         {"name": "vllm-1", "url": idle.url + "/"}],
                                           "api_key": SECRET})
    assert not failed
    assert result["changed"] is False
    assert result["idle"] is False and result["in_flight"] == 3
    assert result["instances"] == [
        {"name": "vllm-0", "url": busy.url, "reachable": True, "running": 2, "waiting": 1},
        {"name": "vllm-1", "url": idle.url + "/", "reachable": True, "running": 0, "waiting": 0},
    ]
    assert "3 requests in flight" in result["msg"] and "vllm-0 running 2, waiting 1" in result["msg"]
    assert [r["path"] for r in busy.requests + idle.requests] == ["/metrics", "/metrics"]
    assert busy.requests[0]["headers"]["Authorization"] == f"Bearer {SECRET}"
    assert SECRET not in out


def test_all_idle(capsys, metrics):
    server = metrics(body=exposition(running=0, waiting=0))
    failed, result, _, _ = call(capsys, {"instances": [{"name": "vllm-0", "url": server.url}]})
    assert not failed and result["idle"] is True and result["in_flight"] == 0
    assert "Authorization" not in server.requests[0]["headers"]
    assert result["msg"] == "idle: vllm-0 idle"


def test_engines_are_summed(capsys, metrics):
    server = metrics(body=exposition(running=1, waiting=2, engines=2))
    _, result, _, _ = call(capsys, {"instances": [{"name": "vllm-0", "url": server.url}]})
    assert result["instances"][0]["running"] == 2 and result["instances"][0]["waiting"] == 4
    assert result["in_flight"] == 6


def test_stopped_instance_is_unreachable_and_idle(capsys, metrics):
    server = metrics(body=exposition(running=0, waiting=0))
    stopped = f"http://127.0.0.1:{free_port()}"
    failed, result, _, elapsed = call(capsys, {"instances": [{"name": "vllm-0", "url": server.url},
                                                             {"name": "vllm-1", "url": stopped}]})
    assert not failed
    assert result["instances"][1] == {"name": "vllm-1", "url": stopped, "reachable": False, "running": 0,
                                      "waiting": 0}
    assert result["idle"] is True and "vllm-1 stopped" in result["msg"]
    assert elapsed < 5


def test_check_mode_takes_the_same_look(capsys, metrics):
    server = metrics(body=exposition(running=1, waiting=0))
    failed, result, _, _ = call(capsys, {"instances": [{"name": "vllm-0", "url": server.url}],
                                         "_ansible_check_mode": True})
    assert not failed and result["changed"] is False
    assert result["in_flight"] == 1 and result["idle"] is False
    assert len(server.requests) == 1


# --- failures -----------------------------------------------------------------------------------------------


def test_metrics_without_the_gauges_fails_naming_instance_and_url(capsys, metrics):
    body = "# HELP process_cpu_seconds_total CPU\n# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 1.5\n"
    server = metrics(body=body)
    failed, result, _, _ = call(capsys, {"instances": [{"name": "vllm-0", "url": server.url}]})
    assert failed
    assert f"vllm-0 ({server.url}/metrics)" in result["msg"]
    assert "vllm:num_requests_running or vllm:num_requests_waiting" in result["msg"]


def test_metrics_with_only_one_gauge_fails(capsys, metrics):
    body = f'vllm:num_requests_running{{engine="0",model_name="{MODEL}"}} 0.0\n'
    server = metrics(body=body)
    failed, result, _, _ = call(capsys, {"instances": [{"name": "vllm-0", "url": server.url}]})
    assert failed and "no vllm:num_requests_waiting gauge" in result["msg"]


def test_not_prometheus_text_fails(capsys, metrics):
    server = metrics(body="<html><body>login</body></html>")
    failed, result, _, _ = call(capsys, {"instances": [{"name": "vllm-0", "url": server.url}]})
    assert failed and "is not Prometheus text" in result["msg"] and server.url in result["msg"]


def test_http_error_fails(capsys, metrics):
    server = metrics(body="oops", status=503)
    failed, result, _, _ = call(capsys, {"instances": [{"name": "vllm-0", "url": server.url}]})
    assert failed and f"vllm-0 ({server.url}/metrics): GET /metrics returned 503" in result["msg"]
    assert result["instances"][0]["reachable"] is True


def test_slow_metrics_fail_after_timeout(capsys, metrics):
    server = metrics(body=exposition(0, 0), delay=10)
    failed, result, _, elapsed = call(capsys, {"instances": [{"name": "vllm-0", "url": server.url}], "timeout": 0.5})
    assert failed and "did not answer within 0.5s" in result["msg"] and server.url in result["msg"]
    assert elapsed < 4


@pytest.mark.parametrize(("args", "words"), [
    ({"instances": []}, "instances is empty"),
    ({"instances": [{"name": "vllm-0", "url": "127.0.0.1:8000"}]}, "must start with http://"),
    ({"instances": [{"name": "vllm-0", "url": "http://127.0.0.1:8000"}], "timeout": 0}, "timeout must be"),
])
def test_invalid_options(capsys, args, words):
    failed, result, _, _ = call(capsys, args)
    assert failed and words in result["msg"]
