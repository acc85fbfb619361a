"""Client for vLLM's OpenAI-compatible chat endpoint, configured by a ``models`` entry."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

__all__ = ["VLLMCustomAPIChat"]


class VLLMCustomAPIChat:
    """Sends one chat completion per sample to ``http://host_ip:host_port/v1/chat/completions``.

    ``batch_size`` is the number of requests in flight, ``request_rate`` (requests/s, 0 = unpaced) spaces their
    starts, ``retry`` is the number of extra attempts after a failed request. An empty ``model`` is resolved from
    ``GET /v1/models`` (the first served model). ``api_key`` is sent as ``Authorization: Bearer <key>``, as
    AISBench's own class does.
    """

    def __init__(
        self,
        host_ip: str = "localhost",
        host_port: int = 8000,
        model: str = "",
        max_out_len: int = 512,
        batch_size: int = 1,
        retry: int = 2,
        request_rate: float = 0,
        generation_kwargs: dict[str, Any] | None = None,
        timeout: float = 600,
        url: str = "",
        api_key: str = "",
        **_ignored: Any,
    ) -> None:
        self.base_url = (url or f"http://{host_ip}:{host_port}").rstrip("/")
        self.model = model
        self.max_out_len = int(max_out_len)
        self.batch_size = max(1, int(batch_size))
        self.retry = max(0, int(retry))
        self.request_rate = float(request_rate or 0)
        self.generation_kwargs = {k: v for k, v in (generation_kwargs or {}).items() if v is not None}
        self.timeout = timeout
        self.headers = {"Content-Type": "application/json"}
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"
        self._pace_lock = threading.Lock()
        self._next_start = 0.0

    def _http(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base_url + path, data=data, method=method)
        for name, value in self.headers.items():
            req.add_header(name, value)
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 - the configured server
            return json.loads(resp.read())

    def resolve_model(self) -> str:
        if not self.model:
            served = self._http("GET", "/v1/models")["data"]
            self.model = served[0]["id"]
        return self.model

    def _pace(self) -> None:
        if self.request_rate <= 0:
            return
        with self._pace_lock:
            now = time.monotonic()
            start = max(now, self._next_start)
            self._next_start = start + 1.0 / self.request_rate
        time.sleep(max(0.0, start - now))

    def chat(self, content: list[dict[str, Any]], log: Callable[[str], None]) -> str | None:
        """The assistant text for one user message, or None when every attempt failed."""
        body = {
            "model": self.resolve_model(),
            "messages": [{"role": "user", "content": content}],
            "max_tokens": self.max_out_len,
            "stream": False,
            **self.generation_kwargs,
        }
        for attempt in range(self.retry + 1):
            self._pace()
            try:
                reply = self._http("POST", "/v1/chat/completions", body)
                return reply["choices"][0]["message"]["content"] or ""
            except urllib.error.HTTPError as exc:
                detail = exc.read().decode("utf-8", "replace")[:500]
                log(f"request failed (attempt {attempt + 1}/{self.retry + 1}): HTTP {exc.code} {detail}")
            except (OSError, ValueError, KeyError, IndexError) as exc:
                log(f"request failed (attempt {attempt + 1}/{self.retry + 1}): {exc!r}")
            if attempt < self.retry:
                time.sleep(min(2.0, 0.2 * (attempt + 1)))
        return None

    def generate(self, contents: list[list[dict[str, Any]]], log: Callable[[str], None]) -> list[str | None]:
        """Answers in input order, ``batch_size`` requests at a time."""
        self.resolve_model()
        with ThreadPoolExecutor(max_workers=self.batch_size) as pool:
            return list(pool.map(lambda c: self.chat(c, log), contents))
