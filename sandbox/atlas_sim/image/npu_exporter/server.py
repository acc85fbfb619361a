"""The exporter's HTTP side: GET /metrics from the cache, the welcome page on every other path, and the access log.

As the real server (Go net/http behind MindCluster's limit handler): any method but GET gets Go's 404 page; /metrics
answers in text format 0.0.4, gzip-compressed when the client accepts gzip (Prometheus does); each request is logged
as `HTTP/1.1 GET: /metrics <200> (1ms) |      127.0.0.1 |curl/8.5.0 |0`.
"""

from __future__ import annotations

import gzip
import itertools
import math
import os
import socket
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .collector import MetricsCache
from .hwlog import RunLog
from .textformat import CONTENT_TYPE

_ACCESS_CALLER = "limiter/limit_handler.go:122"
_NOT_FOUND = b"404 page not found\n"
# Request goroutines get fresh ids, as Go's do.
_GOROUTINES = itertools.count(90)


def index_page(port: int) -> bytes:
    """main.go's indexHandler body, tabs and all."""
    return (
        "<html>\n\t\t\t<head><title>NPU-Exporter</title></head>\n\t\t\t<body>\n"
        '\t\t\t<h1 align="center">NPU-Exporter</h1>\n'
        '\t\t\t<p align="center">Welcome to use NPU-Exporter,the Prometheus metrics url is http://ip:'
        f'{port}/metrics: <a href="./metrics">Metrics</a></p>\n'
        "\t\t\t</body>\n\t\t\t</html>"
    ).encode()


def gzip_accepted(header: str | None) -> bool:
    """promhttp's test: one of the comma-separated codings is `gzip`, with or without parameters."""
    return any(part.strip() == "gzip" or part.strip().startswith("gzip;") for part in (header or "").split(","))


class ExporterServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], cache: MetricsCache, log: RunLog | None, port_shown: int) -> None:
        self.cache = cache
        self.log = log
        self.port_shown = port_shown
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: ExporterServer
    protocol_version = "HTTP/1.1"
    timeout = 10  # the Go server's ReadTimeout

    def send_response(self, code: int, message: str | None = None) -> None:
        # Go's server sends a Date header but no Server header.
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def log_message(self, format: str, *args: object) -> None:
        # The access log is hwlog's line (_access_log), not http.server's.
        pass

    def _reply(self, code: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(code)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _access_log(self, status: int, started: float) -> None:
        if self.server.log is None:
            return
        latency = math.ceil((time.monotonic() - started) * 1000)
        client = self.headers.get("X-Forwarded-For", "").split(",")[0].strip() or self.headers.get(
            "X-Real-Ip", "").strip() or self.client_address[0]
        user_agent = self.headers.get("User-Agent", "")
        self.server.log.info(
            _ACCESS_CALLER,
            f"{self.request_version} {self.command}: {self.path.split('?', 1)[0]} <{status:3d}> ({latency}ms) "
            f"|{client:>15} |{user_agent} |{os.getuid()}",
            next(_GOROUTINES),
        )

    def do_GET(self) -> None:
        started = time.monotonic()
        if self.path.split("?", 1)[0] == "/metrics":
            body = self.server.cache.text().encode()
            headers = {"Content-Type": CONTENT_TYPE}
            if gzip_accepted(self.headers.get("Accept-Encoding")):
                body = gzip.compress(body)
                headers["Content-Encoding"] = "gzip"
            self._reply(200, body, headers)
        else:
            self._reply(200, index_page(self.server.port_shown), {"Content-Type": "text/html; charset=utf-8"})
        self._access_log(200, started)

    def _not_found(self) -> None:
        # The limit handler lets GET through only; other methods get http.NotFound and no access log line.
        self._reply(404, _NOT_FOUND, {"Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _not_found


def go_listen_error(ip: str, port: int, error: OSError) -> str:
    """net.Listen's error text for the common bind failures."""
    reasons = {98: "address already in use", 99: "cannot assign requested address", 13: "permission denied"}
    reason = reasons.get(error.errno or 0, (error.strerror or str(error)).lower())
    return f"listen tcp {ip}:{port}: bind: {reason}"
