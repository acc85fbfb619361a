"""The HTTP front end: routes of vLLM 0.11.0's OpenAI server, API-key middleware, uvicorn-style access log."""

from __future__ import annotations

import json
import socket
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from vllm_sim import VLLM_VERSION, logs, metrics, openai_api, shm, textgen
from vllm_sim.openai_api import ApiError, ServeContext

# vLLM 0.11.0's routes as its launcher lists them at start-up (path, methods); the start-up log prints this
# table and the handlers below answer from it.
ROUTES: list[tuple[str, str]] = [
    ("/openapi.json", "GET, HEAD"),
    ("/docs", "GET, HEAD"),
    ("/docs/oauth2-redirect", "GET, HEAD"),
    ("/redoc", "GET, HEAD"),
    ("/health", "GET"),
    ("/load", "GET"),
    ("/ping", "POST"),
    ("/ping", "GET"),
    ("/tokenize", "POST"),
    ("/detokenize", "POST"),
    ("/v1/models", "GET"),
    ("/version", "GET"),
    ("/v1/responses", "POST"),
    ("/v1/responses/{response_id}", "GET"),
    ("/v1/responses/{response_id}/cancel", "POST"),
    *[
        (p, "POST")
        for p in (
            "/v1/chat/completions",
            "/v1/completions",
            "/v1/embeddings",
            "/pooling",
            "/classify",
            "/score",
            "/v1/score",
            "/v1/audio/transcriptions",
            "/v1/audio/translations",
            "/rerank",
            "/v1/rerank",
            "/v2/rerank",
            "/scale_elastic_ep",
            "/is_scaling_elastic_ep",
            "/invocations",
        )
    ],
    ("/metrics", "GET"),
]
# Served here; every other route exists (a wrong method is 405) but is not implemented for a generative VL
# model.
POST_ROUTES = ("/ping", "/tokenize", "/detokenize", "/v1/chat/completions", "/v1/completions")
GET_ROUTES = tuple(path for path, methods in ROUTES if "GET" in methods and "{" not in path)
OTHER_POST = tuple(
    path for path, methods in ROUTES if methods == "POST" and "{" not in path and path not in POST_ROUTES
)


class SimServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 2048

    ctx: ServeContext
    api_keys: list[str]
    access_log: bool

    def __init__(self, address: tuple[str, int]) -> None:
        # Bind now, listen later: vLLM binds before loading the engine and only listens once it is ready.
        super().__init__(address, Handler, bind_and_activate=False)
        self.api_keys, self.access_log = [], True
        self.server_bind()

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(self.server_address)
        self.server_address = self.socket.getsockname()[:2]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "uvicorn"
    sys_version = ""
    server: SimServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        """Silenced: the access log is written in uvicorn's format by _access()."""

    def _access(self, status: int) -> None:
        if self.server.access_log:
            host, port = self.client_address[:2]
            phrase = HTTPStatus(status).phrase
            logs.uvicorn(f'{host}:{port} - "{self.command} {self.path} HTTP/1.1" {status} {phrase}')

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response_only(status)
        self.send_header("date", self.date_time_string())
        self.send_header("server", "uvicorn")
        self.send_header("content-length", str(len(body)))
        if body or content_type != "application/json":
            self.send_header("content-type", content_type)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self._access(status)

    def _json(self, status: int, obj: Any) -> None:
        self._send(status, json.dumps(obj, separators=(",", ":")).encode())

    def _error(self, err: ApiError) -> None:
        self._json(err.status, openai_api.error_body(err.message, err.err_type, err.status))

    def _authorized(self, path: str) -> bool:
        keys = self.server.api_keys
        if not keys or not path.startswith("/v1"):
            return True
        return self.headers.get("Authorization", "") in {f"Bearer {k}" for k in keys}

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        media_type = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        if media_type != "application/json":
            raise ApiError("[\"Unsupported Media Type: Only 'application/json' is allowed\"]", 400, "Bad Request")
        try:
            body = json.loads(raw or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ApiError(
                f"[{{'type': 'json_invalid', 'loc': ('body', {exc.pos}), 'msg': 'JSON decode error', "
                f"'input': {{}}, 'ctx': {{'error': '{exc.msg}'}}}}]",
                400,
                "Bad Request",
            ) from exc
        if not isinstance(body, dict):
            raise ApiError(
                "[{'type': 'model_attributes_type', 'loc': ('body',), 'msg': 'Input should be a valid "
                "dictionary or object to extract fields from'}]",
                400,
                "Bad Request",
            )
        return body

    def do_HEAD(self) -> None:  # noqa: N802 - http.server naming
        self.do_GET()

    def do_GET(self) -> None:  # noqa: N802
        path = urlsplit(self.path).path
        if not self._authorized(path):
            self._json(401, {"error": "Unauthorized"})
            return
        ctx = self.server.ctx
        if path in ("/health", "/ping"):
            self._send(200, b"")
        elif path == "/version":
            self._json(200, {"version": VLLM_VERSION})
        elif path == "/v1/models":
            self._json(200, openai_api.list_models(ctx))
        elif path == "/load":
            with ctx.engine.lock:
                load = ctx.engine.stats.running + ctx.engine.stats.waiting
            self._json(200, {"server_load": load})
        elif path.rstrip("/") == "/metrics":
            self._send(200, metrics.render(ctx.engine, ctx.served_names[0]).encode(), metrics.CONTENT_TYPE)
        elif path in POST_ROUTES or path in OTHER_POST:
            self._json(405, {"detail": "Method Not Allowed"})
        else:
            self._json(404, {"detail": "Not Found"})

    def do_POST(self) -> None:  # noqa: N802
        path = urlsplit(self.path).path
        if not self._authorized(path):
            self._json(401, {"error": "Unauthorized"})
            return
        if path == "/ping":
            self._send(200, b"")
            return
        if path not in POST_ROUTES:
            known = path in GET_ROUTES or path in OTHER_POST
            self._json(405 if path in GET_ROUTES else 404, {"detail": "Method Not Allowed" if known else "Not Found"})
            return
        ctx = self.server.ctx
        try:
            body = self._body()
            if path == "/tokenize":
                text = body.get("prompt") or json.dumps(body.get("messages", ""))
                count = textgen.count_tokens(str(text))
                self._json(
                    200,
                    {
                        "count": count,
                        "max_model_len": ctx.max_model_len,
                        "tokens": list(range(count)),
                        "token_strs": None,
                    },
                )
                return
            if path == "/detokenize":
                self._json(200, {"prompt": " ".join("tok" for _ in body.get("tokens", []))})
                return
            prep = (openai_api.prepare_chat if path == "/v1/chat/completions" else openai_api.prepare_completion)(
                ctx, body
            )
        except ApiError as err:
            self._error(err)
            return
        try:
            if prep.stream:
                self._stream(ctx, prep)
            else:
                self._json(200, openai_api.full_response(ctx, prep))
        finally:
            shm.release(prep.shm_bytes)

    def _stream(self, ctx: ServeContext, prep: openai_api.Prepared) -> None:
        self.send_response_only(200)
        self.send_header("date", self.date_time_string())
        self.send_header("server", "uvicorn")
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        events = openai_api.stream_response(ctx, prep)
        try:
            for event in events:
                self.wfile.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            events.close()
        self._access(200)
