"""scripts/fleet_load.py against a fake OpenAI-compatible server and a fake router worker list on 127.0.0.1."""

from __future__ import annotations

import importlib.util
import io
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

SPEC = importlib.util.spec_from_file_location(
    "fleet_load", Path(__file__).resolve().parents[3] / "scripts/fleet_load.py"
)
fleet_load = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(fleet_load)

MODEL = "fake-vl-model"
BACKEND = "http://10.0.0.7:8000"
INDEX = re.compile(r"Request (\d+):")


class FakeServer(ThreadingHTTPServer):
    """/v1/models, /v1/chat/completions (plain and streamed) and /list_workers, with per-request faults.

    ``plan`` maps a request index (read from the prompt) to a fault: "503", "drop" (connection closed without an
    answer), "nodone" (stream without [DONE]), "badbody" (200 without choices[0].message.content) or "hangup"
    (a complete answer, then the connection closed without saying so, as a server's idle timeout does).
    With ``keep_alive`` the server speaks HTTP/1.1 (persistent connections, chunked streams); ``connections``
    counts the connections it accepted.
    """

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.lock = threading.Lock()
        self.plan: dict[int, str] = {}
        self.delay = 0.0
        self.api_key: str | None = None
        self.members: list[str] | None = [BACKEND]
        self.arrivals: list[float] = []
        self.bodies: list[dict] = []
        self.auth: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.keep_alive = False
        self.connections = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: FakeServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base class signature
        pass

    def setup(self) -> None:
        super().setup()
        if self.server.keep_alive:
            self.protocol_version = "HTTP/1.1"
        with self.server.lock:
            self.server.connections += 1

    def _event(self, data: bytes) -> None:
        if self.protocol_version == "HTTP/1.1":
            data = b"%x\r\n%s\r\n" % (len(data), data)
        self.wfile.write(data)

    def _json(self, status: int, obj: object, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _authorized(self) -> bool:
        key = self.server.api_key
        if key and self.headers.get("Authorization") != f"Bearer {key}":
            self._json(401, {"error": "Unauthorized"})
            return False
        return True

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        if not self._authorized():
            return
        if self.path == "/v1/models":
            self._json(200, {"object": "list", "data": [{"id": MODEL, "object": "model"}]})
        elif self.path == "/list_workers":
            members = self.server.members
            if members is None:
                self._json(500, {"error": "router busy"})
            else:
                self._json(200, {"urls": list(members)})
        else:
            self._json(404, {"detail": "Not Found"})

    def do_POST(self) -> None:  # noqa: N802
        server = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with server.lock:
            server.arrivals.append(time.monotonic())
            server.bodies.append(body)
            server.auth.append(self.headers.get("Authorization", ""))
            server.in_flight += 1
            server.max_in_flight = max(server.max_in_flight, server.in_flight)
        # The answer is written to the socket only after the request stops counting as in flight: a client that
        # has read the last byte may send its next request at once, and that one must not be counted beside it.
        socket_file, self.wfile = self.wfile, io.BytesIO()
        try:
            self._answer(body)
        finally:
            with server.lock:
                server.in_flight -= 1
            self.wfile, answer = socket_file, self.wfile.getvalue()
            socket_file.write(answer)

    def _answer(self, body: dict) -> None:
        server = self.server
        if not self._authorized():
            return
        if server.delay:
            time.sleep(server.delay)
        content = body["messages"][0]["content"]
        prompt = content if isinstance(content, str) else next(p["text"] for p in content if p["type"] == "text")
        fault = server.plan.get(int(INDEX.search(prompt).group(1)))
        if fault == "503":
            # Echoes the request's credentials, as a misbehaving proxy might; the client must not record them.
            self._json(503, {"error": "no worker available", "auth": self.headers.get("Authorization")})
            return
        if fault == "drop":
            self.close_connection = True
            return
        if fault == "badbody":
            self._json(200, {"choices": []}, {"x-worker-url": BACKEND})
            return
        if fault == "hangup":
            self.close_connection = True
        if not body.get("stream"):
            self._json(200, {"model": body["model"], "choices": [{"index": 0, "message": {"content": "red"}}],
                             "usage": {"prompt_tokens": 9, "completion_tokens": 3}}, {"x-worker-url": BACKEND})
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("x-worker-url", BACKEND)
        if self.protocol_version == "HTTP/1.1":
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for delta in ({"role": "assistant", "content": ""}, {"content": "re"}, {"content": "d"}):
            self._event(f"data: {json.dumps({'choices': [{'index': 0, 'delta': delta}]})}\n\n".encode())
        self._event(b'data: {"choices":[],"usage":{"completion_tokens":2}}\n\n')
        if fault != "nodone":
            self._event(b"data: [DONE]\n\n")
        if self.protocol_version == "HTTP/1.1":
            self.wfile.write(b"0\r\n\r\n")


@pytest.fixture
def fake():
    servers = []

    def start() -> FakeServer:
        server = FakeServer()
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def run(argv: list[str]) -> tuple[int, dict | None, str]:
    out, err = io.StringIO(), io.StringIO()
    rc = fleet_load.main(argv, stdout=out, stderr=err)
    text = out.getvalue().strip()
    return rc, json.loads(text) if text else None, err.getvalue()


def test_every_request_is_recorded_with_its_kind_and_the_model_comes_from_v1_models(fake, tmp_path) -> None:
    server = fake()
    out = tmp_path / "load.jsonl"
    rc, summary, _ = run(["--url", server.url, "--count", "9", "--rate", "200", "--concurrency", "4",
                          "--timeout", "5", "--out", str(out)])
    records = sorted(fleet_load.read_jsonl(str(out)), key=lambda r: r["index"])
    assert rc == 0
    assert [r["index"] for r in records] == list(range(9))
    assert [r["kind"] for r in records] == ["text", "image", "stream"] * 3
    assert all(r["ok"] and r["status"] == 200 and r["error"] is None for r in records)
    assert all(r["backend"] == BACKEND and r["latency_s"] >= 0 and r["start"] > 1e9 for r in records)
    assert all(r["chunks"] == 4 for r in records if r["kind"] == "stream")
    assert {b["model"] for b in server.bodies} == {MODEL}
    assert all(b["max_tokens"] == 16 for b in server.bodies)
    image_parts = [b["messages"][0]["content"] for b in server.bodies if not isinstance(b["messages"][0]["content"], str)]
    assert len(image_parts) == 3
    for parts in image_parts:
        assert {p["type"] for p in parts} == {"image_url", "text"}
        assert next(p for p in parts if p["type"] == "image_url")["image_url"]["url"].startswith("data:image/png;base64,")
    assert sum(1 for b in server.bodies if b.get("stream") is True) == 3
    assert summary["total"] == 9 and summary["ok"] == 9 and summary["failed"] == 0 and summary["model"] == MODEL
    assert summary["by_kind"] == {kind: {"total": 3, "ok": 3, "failed": 0} for kind in ("text", "image", "stream")}
    assert summary["errors"] == [] and summary["latency_p50_s"] is not None and summary["latency_p99_s"] is not None


def test_503_dropped_connections_and_malformed_answers_are_failures(fake, tmp_path) -> None:
    server = fake()
    server.plan = {1: "503", 3: "drop", 5: "nodone", 6: "badbody"}
    out = tmp_path / "load.jsonl"
    rc, summary, _ = run(["--url", server.url, "--model", "m", "--count", "8", "--rate", "200",
                          "--timeout", "5", "--out", str(out)])
    records = {r["index"]: r for r in fleet_load.read_jsonl(str(out))}
    assert rc == 1
    assert sorted(records) == list(range(8))
    assert {i for i, r in records.items() if not r["ok"]} == {1, 3, 5, 6}
    assert records[1]["status"] == 503 and records[1]["error"].startswith("HTTP 503")
    assert records[3]["status"] is None and records[3]["error"]
    assert records[5]["kind"] == "stream" and records[5]["status"] == 200 and "[DONE]" in records[5]["error"]
    assert records[6]["status"] == 200 and "malformed" in records[6]["error"]
    assert all(r["error"] is None for i, r in records.items() if i not in (1, 3, 5, 6))
    assert summary["total"] == 8 and summary["ok"] == 4 and summary["failed"] == 4
    assert [e["index"] for e in summary["errors"]] == [1, 3, 5, 6]


def test_a_refused_connection_is_a_failure_with_no_status(tmp_path) -> None:
    out = tmp_path / "load.jsonl"
    rc, summary, _ = run(["--url", "http://127.0.0.1:9", "--model", "m", "--count", "2", "--rate", "100",
                          "--timeout", "2", "--out", str(out)])
    records = fleet_load.read_jsonl(str(out))
    assert rc == 1 and summary["failed"] == 2
    assert all(r["status"] is None and r["ok"] is False and r["error"] for r in records)


def test_the_rate_is_bounded_and_a_slow_answer_does_not_stall_the_schedule(fake, tmp_path) -> None:
    server = fake()
    server.delay = 0.3
    rate, concurrency = 20.0, 4
    started = time.monotonic()
    rc, summary, _ = run(["--url", server.url, "--model", "m", "--count", "12", "--rate", str(rate),
                          "--concurrency", str(concurrency), "--timeout", "5", "--out", str(tmp_path / "l.jsonl")])
    assert rc == 0 and summary["total"] == 12
    for sent, arrived in enumerate(sorted(server.arrivals), start=1):
        assert sent <= rate * (arrived - started) + concurrency
    # Answers take 6 request intervals: the schedule kept several requests in flight, never more than the workers.
    assert 2 <= server.max_in_flight <= concurrency


def test_duration_and_stop_file_bound_the_run(fake, tmp_path) -> None:
    server = fake()
    client = fleet_load.Client([server.url], "m", timeout=5)
    progress = fleet_load.Progress(every=0, stream=io.StringIO())
    records, _ = fleet_load.run_rate(client, None, rate=10, duration=0.35, progress=progress)
    assert 1 <= len(records) <= 10 * 0.35 + 1

    stop = tmp_path / "stop"
    threading.Timer(0.2, stop.touch).start()
    rc, summary, _ = run(["--url", server.url, "--model", "m", "--count", "1000", "--duration", "4",
                          "--rate", "50", "--stop-file", str(stop), "--out", str(tmp_path / "l.jsonl")])
    assert rc == 0 and 1 <= summary["total"] < 50

    rc, summary, _ = run(["--url", server.url, "--model", "m", "--count", "5", "--rate", "50",
                          "--stop-file", str(stop), "--out", str(tmp_path / "none.jsonl")])
    assert rc == 1 and summary["total"] == 0


def test_membership_samples_and_sampling_failures_are_recorded(fake, tmp_path) -> None:
    server = fake()
    members = tmp_path / "members.jsonl"
    rc, _, _ = run(["--url", server.url, "--model", "m", "--count", "6", "--rate", "30", "--out",
                    str(tmp_path / "l.jsonl"), "--members-url", server.url + "/list_workers",
                    "--members-out", str(members), "--sample-interval", "0.05"])
    samples = fleet_load.read_jsonl(str(members))
    assert rc == 0 and len(samples) >= 2
    assert all(s["members"] == [BACKEND] and s["t"] > 1e9 for s in samples)

    server.members = None
    rc, summary, _ = run(["--url", server.url, "--model", "m", "--count", "2", "--rate", "30", "--out",
                          str(tmp_path / "l.jsonl"), "--members-url", server.url + "/list_workers",
                          "--members-out", str(members), "--sample-interval", "0.05"])
    samples = fleet_load.read_jsonl(str(members))
    assert rc == 0 and samples and summary["member_sample_failures"] == len(samples)
    assert all(s["members"] is None and s["error"].startswith("ValueError: HTTP 500") for s in samples)


def test_the_api_key_is_sent_but_never_written(fake, tmp_path) -> None:
    key = "sk-fleet-secret-4711"
    server = fake()
    server.api_key = key
    server.plan = {2: "503"}
    out, members = tmp_path / "load.jsonl", tmp_path / "members.jsonl"
    rc, summary, err = run(["--url", server.url, "--api-key", key, "--count", "4", "--rate", "100", "--out",
                            str(out), "--members-url", server.url + "/list_workers", "--members-out",
                            str(members), "--sample-interval", "0.05"])
    assert rc == 1 and summary["ok"] == 3 and summary["model"] == MODEL
    assert set(server.auth) == {f"Bearer {key}"}
    failed = next(r for r in fleet_load.read_jsonl(str(out)) if r["index"] == 2)
    assert "no worker available" in failed["error"] and "Bearer ***" in failed["error"]
    for text in (out.read_text(), members.read_text(), json.dumps(summary), err):
        assert key not in text


def test_throughput_mode_spreads_requests_and_counts_tokens(fake, tmp_path) -> None:
    first, second = fake(), fake()
    out = tmp_path / "t.jsonl"
    rc, summary, _ = run(["--throughput", "--url", first.url, "--url", second.url, "--model", "m",
                          "--kinds", "text,stream", "--concurrency", "3", "--count", "20", "--duration", "4",
                          "--out", str(out)])
    records = fleet_load.read_jsonl(str(out))
    assert rc == 0 and summary["mode"] == "throughput" and summary["total"] == 20
    assert summary["by_url"] == {first.url: 10, second.url: 10}
    assert all(r["url"] == (first.url if r["index"] % 2 == 0 else second.url) for r in records)
    assert summary["completion_tokens"] == 10 * 3 + 10 * 2
    assert summary["requests_per_s"] > 0 and summary["tokens_per_s"] > 0
    assert max(first.max_in_flight, second.max_in_flight) <= 3


def test_keep_alive_reuses_one_connection_per_thread_and_endpoint(fake, tmp_path) -> None:
    first, second = fake(), fake()
    for server in (first, second):
        server.keep_alive = True
    common = ["--throughput", "--url", first.url, "--url", second.url, "--model", "m", "--concurrency", "2",
              "--count", "24", "--duration", "10"]
    rc, summary, _ = run(common + ["--keep-alive", "--out", str(tmp_path / "kept.jsonl")])
    assert rc == 0 and summary["ok"] == 24
    # Each of the two threads holds one connection to each endpoint, streams included.
    assert first.connections <= 2 and second.connections <= 2
    rc, summary, _ = run(common + ["--out", str(tmp_path / "fresh.jsonl")])
    assert rc == 0 and summary["ok"] == 24
    assert first.connections + second.connections >= 2 + 24


def test_keep_alive_replaces_a_connection_the_server_closed(fake, tmp_path) -> None:
    server = fake()
    server.keep_alive = True
    server.plan = {2: "hangup", 5: "hangup"}
    rc, summary, _ = run(["--url", server.url, "--model", "m", "--kinds", "text,stream", "--rate", "10",
                          "--concurrency", "1", "--count", "8", "--keep-alive", "--out", str(tmp_path / "l.jsonl")])
    assert rc == 0 and summary["ok"] == 8
    assert server.connections == 3


@pytest.mark.parametrize(
    "argv",
    [
        ["--url", "http://127.0.0.1:1", "--out", "x.jsonl"],
        ["--url", "http://127.0.0.1:1", "--out", "x.jsonl", "--count", "0"],
        ["--url", "http://127.0.0.1:1", "--out", "x.jsonl", "--count", "1", "--members-url", "http://a/list_workers"],
        ["--url", "http://127.0.0.1:1", "--out", "x.jsonl", "--count", "1", "--kinds", "text,audio"],
        ["--url", "http://127.0.0.1:1", "--out", "x.jsonl", "--count", "1", "--image", "/nonexistent.png"],
        ["--url", "ftp://127.0.0.1:1", "--out", "x.jsonl", "--count", "1"],
        ["--out", "x.jsonl", "--count", "1"],
    ],
)
def test_usage_errors_exit_2_before_sending(argv, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    rc, summary, _ = run(argv)
    assert rc == 2 and summary is None
    assert not (tmp_path / "x.jsonl").exists()


def test_duration_is_capped(fake, tmp_path) -> None:
    server = fake()
    rc, summary, err = run(["--url", server.url, "--model", "m", "--count", "1", "--duration", "99999",
                            "--out", str(tmp_path / "l.jsonl")])
    assert rc == 0 and summary["total"] == 1 and "capped at 3600" in err


def test_max_out_of_router_counts_nodes_not_workers() -> None:
    workers = ["http://10.0.0.1:8000", "http://10.0.0.1:8001", "http://10.0.0.2:8000", "http://10.0.0.3:8000/"]
    node = {workers[0]: "atlas-01", workers[1]: "atlas-01", workers[2]: "atlas-02", workers[3]: "atlas-03"}
    everyone = {"t": 1.0, "members": ["http://10.0.0.1:8000/", "http://10.0.0.1:8001", "http://10.0.0.2:8000",
                                      "http://10.0.0.3:8000"]}
    node1_both_out = {"t": 2.0, "members": ["http://10.0.0.2:8000", "http://10.0.0.3:8000"]}
    node1_half_node2_out = {"t": 3.0, "members": ["http://10.0.0.1:8001", "http://10.0.0.3:8000"]}
    failed = {"t": 4.0, "members": None, "error": "timeout"}
    assert fleet_load.max_out_of_router([], workers, node) == 0
    assert fleet_load.max_out_of_router([everyone, failed], workers, node) == 0
    assert fleet_load.max_out_of_router([everyone, node1_both_out, everyone], workers, node) == 1
    assert fleet_load.max_out_of_router([node1_both_out, node1_half_node2_out], workers, node) == 2
    assert fleet_load.max_out_of_router([{"t": 5.0, "members": []}], workers, node) == 3
    # A worker the mapping does not name counts as a node of its own.
    assert fleet_load.max_out_of_router([{"t": 6.0, "members": []}], workers + ["http://10.0.0.9:8000"], node) == 4


def test_summarize_percentiles_kinds_and_first_five_errors() -> None:
    records = [{"index": i, "kind": fleet_load.KINDS[i % 3], "start": 100.0 + i, "latency_s": float(i + 1),
                "status": 200 if i < 4 else 503, "ok": i < 4, "error": None if i < 4 else f"HTTP 503: {i}",
                "completion_tokens": 2} for i in reversed(range(10))]
    summary = fleet_load.summarize(records)
    assert (summary["total"], summary["ok"], summary["failed"]) == (10, 4, 6)
    assert summary["by_kind"]["text"] == {"total": 4, "ok": 2, "failed": 2}
    assert summary["latency_p50_s"] == 5.0 and summary["latency_p99_s"] == 10.0
    assert summary["elapsed_s"] == 19.0 and summary["completion_tokens"] == 8
    assert [e["index"] for e in summary["errors"]] == [4, 5, 6, 7, 8]
    assert fleet_load.summarize([])["total"] == 0


def test_parse_members_reads_both_router_formats() -> None:
    assert fleet_load.parse_members({"urls": ["http://a:1"]}) == ["http://a:1"]
    assert fleet_load.parse_members({"workers": [{"url": "http://a:1"}, "http://b:2"]}) == ["http://a:1", "http://b:2"]
    with pytest.raises(ValueError):
        fleet_load.parse_members({"status": "ok"})


def _private_ca(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A CA and a certificate for 127.0.0.1 signed by it (PEM files: ca, cert, key)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)

    def name(text: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("test CA")).issuer_name(name("test CA"))
          .public_key(ca_key.public_key()).serial_number(1).not_valid_before(now)
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder().subject_name(name("127.0.0.1")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(2).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = tmp_path / "ca.crt", tmp_path / "gw.crt", tmp_path / "gw.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


def test_https_with_a_private_ca_and_a_key_from_a_file(fake, tmp_path) -> None:
    import ssl

    ca, cert, key_pem = _private_ca(tmp_path)
    server = fake()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key_pem)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    url = server.url.replace("http://", "https://")
    key = "k" * 40
    server.api_key = key
    key_file = tmp_path / "client.key"
    key_file.write_text(key + "\n")
    out = tmp_path / "tls.jsonl"

    rc, summary, _ = run(["--url", url, "--ca-file", str(ca), "--api-key-file", str(key_file), "--count", "3",
                          "--rate", "50", "--out", str(out)])
    assert rc == 0 and summary["ok"] == 3 and set(server.auth) == {f"Bearer {key}"}

    rc, summary, err = run(["--url", url, "--api-key-file", str(key_file), "--count", "1", "--out", str(out)])
    assert rc == 1 and summary is None and "CERTIFICATE_VERIFY_FAILED" in err


def test_members_can_come_from_a_command(fake, tmp_path) -> None:
    import sys

    server = fake()
    members = tmp_path / "members.jsonl"
    command = json.dumps([sys.executable, "-c", 'print(\'{"urls": ["http://10.0.0.9:8000"]}\')'])
    rc, summary, _ = run(["--url", server.url, "--model", "m", "--count", "3", "--rate", "20", "--out",
                          str(tmp_path / "l.jsonl"), "--members-cmd", command, "--members-out", str(members),
                          "--sample-interval", "0.05"])
    samples = fleet_load.read_jsonl(str(members))
    assert rc == 0 and samples and summary["member_sample_failures"] == 0
    assert all(s["members"] == ["http://10.0.0.9:8000"] for s in samples)

    failing = json.dumps([sys.executable, "-c", "import sys; sys.exit('no router here')"])
    run(["--url", server.url, "--model", "m", "--count", "1", "--out", str(tmp_path / "l.jsonl"),
         "--members-cmd", failing, "--members-out", str(members), "--sample-interval", "0.05"])
    assert all(s["members"] is None and "exited 1: no router here" in s["error"]
               for s in fleet_load.read_jsonl(str(members)))


@pytest.mark.parametrize("extra", [
    ["--members-cmd", "curl x", "--members-out", "m.jsonl"],
    ["--members-cmd", "[\"curl\"]", "--members-url", "http://a/list_workers", "--members-out", "m.jsonl"],
    ["--api-key", "x", "--api-key-file", "/etc/hostname"],
    ["--ca-file", "/nonexistent/ca.crt"],
])
def test_bad_tls_and_member_options_are_usage_errors(extra) -> None:
    rc, _, err = run(["--url", "https://127.0.0.1:1", "--out", "x.jsonl", "--count", "1", *extra])
    assert rc == 2 and "error:" in err


def test_the_summary_is_also_written_to_a_file(fake, tmp_path) -> None:
    server = fake()
    target = tmp_path / "summary.json"
    rc, summary, _ = run(["--url", server.url, "--model", "m", "--count", "3", "--rate", "50", "--out",
                          str(tmp_path / "l.jsonl"), "--summary-out", str(target)])
    assert rc == 0 and json.loads(target.read_text()) == summary
    assert not (tmp_path / "summary.json.partial").exists()
