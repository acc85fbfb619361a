"""Bounded load through the fleet's OpenAI-compatible endpoint, with every request and the router's members recorded.

Two modes:

* rate (default): request i is sent no earlier than ``i / --rate`` seconds after the start, by a pool of
  ``--concurrency`` threads, so a slow answer never holds back the schedule (and requests sent by time t never
  exceed ``rate * t + 1``). The kinds cycle deterministically: text chat, chat with an image, streamed chat.
* ``--throughput``: ``--concurrency`` requests are kept in flight, spread round-robin over every ``--url``; the
  summary reports requests/s and completion tokens/s (to compare the router against instances reached directly).

Each request opens its own connection unless ``--keep-alive`` is given: then every thread keeps one connection per
endpoint open and reuses it, as HTTP client libraries do (a connection the server has closed is replaced first).

Every run is bounded: ``--count`` or ``--duration`` is required, the duration is capped at 3600 s, and the run also
stops as soon as ``--stop-file`` exists. Each request is one JSON line in ``--out``; with ``--members-url`` (or
``--members-cmd``, a command that prints it, for a router whose control API only its gateway reaches) the router's
worker list is sampled into ``--members-out``. ``--ca-file`` trusts a private CA for https URLs. The summary is
one JSON line on stdout; the exit code is 0 when every request succeeded, 1 when any failed (or none was sent),
2 on usage errors.

Standard library only (Python 3.9+), so it runs with any interpreter inside the lab namespace:

    atlas-sim run -- .venv/bin/python scripts/fleet_load.py --url https://10.231.0.201:8443 \\
        --ca-file build/fleet-ca/ca.crt --api-key-file build/client.key --rate 4 --duration 120 \\
        --out build/load.jsonl --members-out build/members.jsonl \\
        --members-cmd '["atlas-sim", "exec", "atlas-gw-01", "--", "curl", "-sf", "http://127.0.0.1:30000/list_workers"]'

"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import select
import ssl
import struct
import subprocess
import sys
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor, wait
from http.client import HTTPConnection, HTTPSConnection
from typing import Any
from urllib.parse import urlsplit

MAX_DURATION_S = 3600.0
KINDS = ("text", "image", "stream")
# Response headers that name the instance which answered, as routers and proxies commonly set them.
BACKEND_HEADERS = ("x-worker-url", "x-backend-url", "x-backend", "x-served-by", "x-upstream-addr", "x-upstream")
PROGRESS_EVERY_S = 5.0
ERROR_TEXT_MAX = 300
REDACTED = "***"


class UsageError(Exception):
    """A command line that cannot run (exit code 2)."""


# --------------------------------------------------------------------------------------------------- HTTP


def _redact(text: str, secret: str | None) -> str:
    return text.replace(secret, REDACTED) if secret else text


# Trust for https URLs: the system's CAs, or the one --ca-file names (set once, before any request).
_TLS: dict[str, ssl.SSLContext | None] = {"context": None}


def trust_ca(ca_file: str | None) -> None:
    _TLS["context"] = ssl.create_default_context(cafile=ca_file) if ca_file else None


def _connect(url: str, path: str, timeout: float) -> tuple[HTTPConnection, str]:
    cls, host, port, full = _target(url, path)
    if cls is HTTPSConnection:
        return HTTPSConnection(host, port, timeout=timeout, context=_TLS["context"]), full
    return cls(host, port, timeout=timeout), full


def _target(url: str, path: str = "") -> tuple[type[HTTPConnection], str, int | None, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url}")
    cls = HTTPSConnection if parts.scheme == "https" else HTTPConnection
    full = parts.path.rstrip("/") + path if path else (parts.path or "/")
    if parts.query:
        full += "?" + parts.query
    return cls, parts.hostname, parts.port, full


def _dropped(conn: HTTPConnection) -> bool:
    """True when a kept connection can no longer carry a request: the server closed it (or sent something unasked)."""
    if conn.sock is None:
        return True
    try:
        readable, _, _ = select.select([conn.sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _headers(api_key: str | None, has_body: bool = False) -> dict[str, str]:
    headers = {"Accept": "application/json"}
    if has_body:
        headers["Content-Type"] = "application/json"
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return headers


def get_json(url: str, api_key: str | None = None, timeout: float = 10.0) -> Any:
    """GET a URL and decode its JSON body (ValueError for a non-2xx answer or a body that is not JSON)."""
    conn, path = _connect(url, "", timeout)
    try:
        conn.request("GET", path, headers=_headers(api_key))
        resp = conn.getresponse()
        raw = resp.read()
        if not 200 <= resp.status < 300:
            raise ValueError(f"HTTP {resp.status}: {raw[:ERROR_TEXT_MAX].decode('utf-8', 'replace')}")
        return json.loads(raw)
    finally:
        conn.close()


def fetch_model(url: str, api_key: str | None = None, timeout: float = 10.0) -> str:
    """The first model id that GET <url>/v1/models lists."""
    body = get_json(url.rstrip("/") + "/v1/models", api_key, timeout)
    try:
        return str(body["data"][0]["id"])
    except (KeyError, IndexError, TypeError) as exc:
        raise ValueError(f"no model listed by {url}/v1/models") from exc


def default_png(size: int = 16) -> bytes:
    """A small valid RGB PNG (a gradient), used when no --image is given."""
    pixel = [bytes((x * 255 // size, y * 255 // size, 128)) for y in range(size) for x in range(size)]
    rows = b"".join(b"\x00" + b"".join(pixel[y * size:(y + 1) * size]) for y in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def build_body(kind: str, index: int, model: str, max_tokens: int, image_b64: str) -> dict[str, Any]:
    """The chat completion request of one kind (text, image or stream)."""
    question = f"Request {index}: name one colour of the rainbow."
    if kind == "image":
        content: Any = [
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{image_b64}"}},
            {"type": "text", "text": f"Request {index}: what is in this image?"},
        ]
    else:
        content = question
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": content}],
        "max_tokens": max_tokens,
        "temperature": 0,
    }
    if kind == "stream":
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


class Client:
    """What every request needs: the endpoint(s), the model, the image and the credentials."""

    def __init__(self, urls: list[str], model: str, max_tokens: int = 16, image: bytes | None = None,
                 api_key: str | None = None, timeout: float = 60.0, kinds: tuple[str, ...] = KINDS,
                 keep_alive: bool = False) -> None:
        if not urls:
            raise ValueError("at least one URL is needed")
        self.urls = [u.rstrip("/") for u in urls]
        self.model = model
        self.max_tokens = max_tokens
        self.image_b64 = base64.b64encode(image if image is not None else default_png()).decode()
        self.api_key = api_key
        self.timeout = timeout
        self.kinds = tuple(kinds)
        self.keep_alive = keep_alive
        self._kept = threading.local()  # per thread: {(scheme, host, port): open connection}

    def _open(self, url: str, path: str) -> tuple[HTTPConnection, str, tuple[Any, ...]]:
        cls, host, port, full = _target(url, path)
        key = (cls, host, port)
        kept = self._kept.__dict__.setdefault("conns", {}) if self.keep_alive else {}
        conn = kept.pop(key, None)
        if conn is not None and _dropped(conn):
            conn.close()
            conn = None
        if conn is None:
            conn, full = _connect(url, path, self.timeout)
        return conn, full, key

    def _release(self, conn: HTTPConnection, key: tuple[Any, ...], resp: Any) -> None:
        """Keep the connection for the thread's next request if the answer was read to its end, else close it."""
        if self.keep_alive and resp is not None and resp.isclosed() and not resp.will_close:
            self._kept.__dict__.setdefault("conns", {})[key] = conn
        else:
            conn.close()

    def kind_of(self, index: int) -> str:
        return self.kinds[index % len(self.kinds)]

    def url_of(self, index: int) -> str:
        return self.urls[index % len(self.urls)]

    def send(self, index: int) -> dict[str, Any]:
        """Send request ``index`` and return its record (never raises for request failures)."""
        kind = self.kind_of(index)
        url = self.url_of(index)
        record: dict[str, Any] = {"index": index, "kind": kind, "start": round(time.time(), 6)}
        if len(self.urls) > 1:
            record["url"] = url
        started = time.monotonic()
        status: int | None = None
        outcome: dict[str, Any] = {}
        conn = resp = None
        key: tuple[Any, ...] = ()
        try:
            conn, path, key = self._open(url, "/v1/chat/completions")
            payload = json.dumps(build_body(kind, index, self.model, self.max_tokens, self.image_b64)).encode()
            conn.request("POST", path, body=payload, headers=_headers(self.api_key, has_body=True))
            resp = conn.getresponse()
            status = resp.status
            for name in BACKEND_HEADERS:
                value = resp.getheader(name)
                if value:
                    record["backend"] = value
                    break
            if not 200 <= status < 300:
                raw = resp.read(ERROR_TEXT_MAX * 4)
                outcome = {"ok": False, "error": f"HTTP {status}: {raw.decode('utf-8', 'replace').strip()}"}
            elif kind == "stream":
                outcome = self._read_stream(resp, started)
                if outcome["ok"] and self.keep_alive:
                    resp.read()  # the end of the chunked body, so that the connection can carry the next request
            else:
                outcome = _check_full(resp.read())
        except Exception as exc:  # every failure (refused, reset, timeout, bad URL) becomes the record's error
            outcome = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            resp = None
        finally:
            if conn is not None:
                self._release(conn, key, resp)
        record["latency_s"] = round(time.monotonic() - started, 6)
        record["status"] = status
        record.update(outcome)
        record.setdefault("error", None)
        if record["error"]:
            record["error"] = _redact(str(record["error"]), self.api_key)[:ERROR_TEXT_MAX]
        return record

    def _read_stream(self, resp: Any, started: float) -> dict[str, Any]:
        chunks = 0
        tokens = 0
        usage_tokens = None
        done = False
        error = None
        while True:
            if time.monotonic() - started > self.timeout:
                error = f"stream not finished after {self.timeout:g} s"
                break
            line = resp.readline()
            if not line:
                break
            text = line.decode("utf-8", "replace").strip()
            if not text.startswith("data:"):
                continue
            data = text[5:].strip()
            if data == "[DONE]":
                done = True
                break
            try:
                event = json.loads(data)
            except ValueError:
                error = f"malformed SSE data: {data[:100]}"
                break
            if isinstance(event, dict) and event.get("error"):
                error = f"error event: {json.dumps(event['error'])[:200]}"
                break
            chunks += 1
            if isinstance(event, dict):
                if isinstance(event.get("usage"), dict):
                    usage_tokens = event["usage"].get("completion_tokens")
                for choice in event.get("choices") or []:
                    delta = choice.get("delta") if isinstance(choice, dict) else None
                    if isinstance(delta, dict) and delta.get("content"):
                        tokens += 1
        result: dict[str, Any] = {"chunks": chunks,
                                  "completion_tokens": usage_tokens if isinstance(usage_tokens, int) else tokens}
        if error is None and not done:
            error = "stream ended without data: [DONE]"
        if error is None and chunks == 0:
            error = "stream had no chunks"
        result["ok"] = error is None
        result["error"] = error
        return result


def _check_full(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
        content = body["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        return {"ok": False, "error": f"malformed response: {raw[:200].decode('utf-8', 'replace')}"}
    if not isinstance(content, str):
        return {"ok": False, "error": "choices[0].message.content is not a string"}
    out: dict[str, Any] = {"ok": True}
    usage = body.get("usage") if isinstance(body, dict) else None
    if isinstance(usage, dict) and isinstance(usage.get("completion_tokens"), int):
        out["completion_tokens"] = usage["completion_tokens"]
    return out


# --------------------------------------------------------------------------------------------- recording


class JsonlWriter:
    """Appends one JSON object per line, flushed at once, from any thread."""

    def __init__(self, path: str, secret: str | None = None) -> None:
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, exist_ok=True)
        self._file = open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed by close()
        self._lock = threading.Lock()
        self._secret = secret

    def write(self, obj: dict[str, Any]) -> None:
        line = _redact(json.dumps(obj, separators=(",", ":")), self._secret)
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()


def read_jsonl(path: str) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def parse_members(body: Any) -> list[str]:
    """Worker URLs from a router's /list_workers (``{"urls": [...]}``) or /workers (``{"workers": [{"url"}]}``)."""
    if isinstance(body, dict):
        items = body.get("urls")
        if items is None:
            items = body.get("workers")
    else:
        items = body
    if not isinstance(items, list):
        raise ValueError(f"no worker list in {json.dumps(body)[:200]}")
    out = []
    for item in items:
        url = item.get("url") if isinstance(item, dict) else item
        if not isinstance(url, str):
            raise ValueError(f"not a worker URL: {json.dumps(item)[:100]}")
        out.append(url)
    return out


def run_json(argv: list[str], timeout: float = 2.0) -> Any:
    """Run a command and decode the JSON it prints (ValueError when it fails or prints something else)."""
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise ValueError(f"{argv[0]} exited {result.returncode}: {result.stderr.strip()[:ERROR_TEXT_MAX]}")
    return json.loads(result.stdout)


def sample_members(source: str | list[str], api_key: str | None = None, timeout: float = 2.0) -> dict[str, Any]:
    """One membership sample: ``{"t", "members"}``, or ``{"t", "members": null, "error"}`` when it failed.

    ``source`` is the worker list's URL, or a command (argv) that prints it.
    """
    t = round(time.time(), 6)
    try:
        body = run_json(source, timeout) if isinstance(source, list) else get_json(source, api_key, timeout)
        return {"t": t, "members": parse_members(body)}
    except Exception as exc:
        return {"t": t, "members": None, "error": _redact(f"{type(exc).__name__}: {exc}", api_key)[:ERROR_TEXT_MAX]}


class Sampler(threading.Thread):
    """Samples the router's members every ``interval`` seconds until stopped (one last sample when stopping)."""

    def __init__(self, url: str | list[str], writer: JsonlWriter, interval: float,
                 api_key: str | None = None) -> None:
        super().__init__(name="members-sampler", daemon=True)
        self.url = url
        self.writer = writer
        self.interval = interval
        self.api_key = api_key
        # A command (a process start, maybe a namespace entry) needs longer than an HTTP GET.
        self.timeout = max(0.5, min(2.0, interval * 4)) if isinstance(url, str) else 5.0
        self.samples: list[dict[str, Any]] = []
        self._stop_event = threading.Event()

    def _take(self) -> None:
        sample = sample_members(self.url, self.api_key, self.timeout)
        self.samples.append(sample)
        self.writer.write(sample)

    def run(self) -> None:
        next_at = time.monotonic()
        while not self._stop_event.is_set():
            self._take()
            next_at += self.interval
            self._stop_event.wait(max(0.0, next_at - time.monotonic()))
        self._take()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(self.timeout + 5)


# ------------------------------------------------------------------------------------------------ running


class Progress:
    """Counters shared by the workers, reported on stderr every ``every`` seconds."""

    def __init__(self, every: float = PROGRESS_EVERY_S, stream: Any = None) -> None:
        self.lock = threading.Lock()
        self.sent = self.ok = self.failed = 0
        self.every = every
        self.stream = stream if stream is not None else sys.stderr
        self._last = time.monotonic()

    def started(self) -> None:
        with self.lock:
            self.sent += 1

    def finished(self, ok: bool) -> None:
        with self.lock:
            if ok:
                self.ok += 1
            else:
                self.failed += 1

    def maybe_report(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and (self.every <= 0 or now - self._last < self.every):
            return
        self._last = now
        with self.lock:
            sent, ok, failed = self.sent, self.ok, self.failed
        print(f"[fleet_load {time.strftime('%H:%M:%S')}] sent={sent} ok={ok} failed={failed} "
              f"in_flight={sent - ok - failed}", file=self.stream, flush=True)


def _stop_requested(stop_file: str | None) -> bool:
    return bool(stop_file) and os.path.exists(stop_file)


def _doing(client: Client, writer: JsonlWriter | None, progress: Progress, records: list[dict[str, Any]],
           lock: threading.Lock, index: int) -> dict[str, Any]:
    record = client.send(index)
    with lock:
        records.append(record)
    if writer is not None:
        writer.write(record)
    progress.finished(bool(record["ok"]))
    return record


def run_rate(client: Client, writer: JsonlWriter | None, rate: float, count: int | None = None,
             duration: float | None = None, concurrency: int = 8, stop_file: str | None = None,
             progress: Progress | None = None) -> tuple[list[dict[str, Any]], float]:
    """Send request i at start + i/rate (later only when every worker is busy) until count/duration/stop-file.

    Returns the records (in completion order) and the elapsed seconds, in-flight requests included.
    """
    if rate <= 0:
        raise ValueError("rate must be positive")
    duration = min(duration if duration is not None else MAX_DURATION_S, MAX_DURATION_S)
    progress = progress or Progress()
    records: list[dict[str, Any]] = []
    lock = threading.Lock()
    slots = threading.BoundedSemaphore(concurrency)
    start = time.monotonic()
    deadline = start + duration

    def job(index: int) -> None:
        try:
            _doing(client, writer, progress, records, lock, index)
        finally:
            slots.release()

    futures = []
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="load") as pool:
        index = 0
        while count is None or index < count:
            due = start + index / rate
            stopped = False
            while True:  # wait for the request's time, watching the bounds
                now = time.monotonic()
                if now >= deadline or _stop_requested(stop_file):
                    stopped = True
                    break
                if now >= due:
                    break
                progress.maybe_report()
                time.sleep(min(0.05, due - now))
            while not stopped and not slots.acquire(timeout=0.05):  # every worker busy: wait for one
                progress.maybe_report()
                stopped = time.monotonic() >= deadline or _stop_requested(stop_file)
            if stopped:
                break
            progress.started()
            futures.append(pool.submit(job, index))
            index += 1
        pending = set(futures)
        while pending:  # drain: wait for in-flight requests (each bounded by the client's timeout)
            pending = wait(pending, timeout=0.1).not_done
            progress.maybe_report()
    progress.maybe_report(force=True)
    return records, time.monotonic() - start


def run_throughput(client: Client, writer: JsonlWriter | None, duration: float | None = None,
                   count: int | None = None, concurrency: int = 8, stop_file: str | None = None,
                   progress: Progress | None = None) -> tuple[list[dict[str, Any]], float]:
    """Keep ``concurrency`` requests in flight (round-robin over the client's URLs) until duration/count/stop-file."""
    duration = min(duration if duration is not None else MAX_DURATION_S, MAX_DURATION_S)
    progress = progress or Progress()
    records: list[dict[str, Any]] = []
    lock = threading.Lock()
    counter = {"next": 0}
    start = time.monotonic()
    deadline = start + duration

    def next_index() -> int | None:
        with lock:
            index = counter["next"]
            if (count is not None and index >= count) or time.monotonic() >= deadline or _stop_requested(stop_file):
                return None
            counter["next"] = index + 1
        progress.started()
        return index

    def worker() -> None:
        while True:
            index = next_index()
            if index is None:
                return
            _doing(client, writer, progress, records, lock, index)

    threads = [threading.Thread(target=worker, name=f"load-{i}", daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(0.1)
            progress.maybe_report()
    progress.maybe_report(force=True)
    return records, time.monotonic() - start


# ------------------------------------------------------------------------------------------------ results


def _percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def summarize(records: list[dict[str, Any]], elapsed: float | None = None) -> dict[str, Any]:
    """The run's summary: counts (overall and by kind), latency p50/p99, elapsed, achieved rate, first 5 errors.

    ``elapsed`` defaults to the span from the first request's start to the last answer.
    """
    ordered = sorted(records, key=lambda r: r.get("index", 0))
    if elapsed is None:
        if ordered:
            first = min(r["start"] for r in ordered)
            last = max(r["start"] + (r.get("latency_s") or 0.0) for r in ordered)
            elapsed = last - first
        else:
            elapsed = 0.0
    by_kind: dict[str, dict[str, int]] = {}
    for record in ordered:
        entry = by_kind.setdefault(record["kind"], {"total": 0, "ok": 0, "failed": 0})
        entry["total"] += 1
        entry["ok" if record.get("ok") else "failed"] += 1
    latencies = [float(r["latency_s"]) for r in ordered if r.get("latency_s") is not None]
    ok = sum(1 for r in ordered if r.get("ok"))
    tokens = sum(int(r.get("completion_tokens") or 0) for r in ordered if r.get("ok"))
    p50 = _percentile(latencies, 50)
    p99 = _percentile(latencies, 99)
    summary: dict[str, Any] = {
        "total": len(ordered),
        "ok": ok,
        "failed": len(ordered) - ok,
        "by_kind": by_kind,
        "latency_p50_s": round(p50, 4) if p50 is not None else None,
        "latency_p99_s": round(p99, 4) if p99 is not None else None,
        "elapsed_s": round(elapsed, 3),
        "rate_achieved": round(len(ordered) / elapsed, 3) if elapsed > 0 else 0.0,
        "completion_tokens": tokens,
        "tokens_per_s": round(tokens / elapsed, 3) if elapsed > 0 else 0.0,
        "errors": [{"index": r["index"], "kind": r["kind"], "status": r.get("status"), "error": r.get("error")}
                   for r in ordered if not r.get("ok")][:5],
    }
    return summary


def _norm(url: str) -> str:
    return url.strip().rstrip("/")


def max_out_of_router(samples: list[dict[str, Any]], all_workers: list[str], worker_node: dict[str, str]) -> int:
    """The most nodes that, at one sampled moment, had at least one of their workers missing from the router.

    ``samples`` are membership samples (``{"t", "members": [...]}``); failed samples (members null) are skipped.
    ``worker_node`` maps a worker URL to its node; a worker it does not name counts as a node of its own.
    URLs are compared without trailing slashes.
    """
    nodes = {_norm(w): worker_node.get(w, worker_node.get(_norm(w), _norm(w))) for w in all_workers}
    worst = 0
    for sample in samples:
        members = sample.get("members")
        if members is None:
            continue
        present = {_norm(m) for m in members}
        out = {node for worker, node in nodes.items() if worker not in present}
        worst = max(worst, len(out))
    return worst


# -------------------------------------------------------------------------------------------------- CLI


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="fleet_load.py",
        description="Bounded load through an OpenAI-compatible endpoint; every request is recorded as JSONL.",
    )
    p.add_argument("--url", action="append", required=True,
                   help="endpoint base URL, e.g. http://10.231.0.201:30000 (repeatable: round-robin)")
    p.add_argument("--out", required=True, help="JSONL file: one line per request")
    p.add_argument("--summary-out", help="also write the summary to this file (complete once it exists)")
    p.add_argument("--count", type=int, help="stop after this many requests")
    p.add_argument("--duration", type=float, help=f"stop after this many seconds (capped at {MAX_DURATION_S:g})")
    p.add_argument("--stop-file", help="stop sending as soon as this file exists")
    p.add_argument("--rate", type=float, default=5.0, help="requests per second in rate mode (default 5)")
    p.add_argument("--concurrency", type=int, default=8, help="worker threads / requests in flight (default 8)")
    p.add_argument("--throughput", action="store_true",
                   help="keep --concurrency requests in flight instead of a fixed rate; report requests/s, tokens/s")
    p.add_argument("--model", help="model name (default: the first id of GET /v1/models)")
    p.add_argument("--image", help="PNG sent by the image requests (default: a small generated PNG)")
    p.add_argument("--kinds", default=",".join(KINDS),
                   help=f"comma-separated request kinds to cycle through (default {','.join(KINDS)})")
    p.add_argument("--max-tokens", type=int, default=16, help="max_tokens of every request (default 16)")
    p.add_argument("--api-key", help="sent as 'Authorization: Bearer'; never printed or written")
    p.add_argument("--api-key-file", help="read the key from this file instead (keeps it out of the process list)")
    p.add_argument("--ca-file", help="PEM file of the CA that signed the endpoint's https certificate")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per request (default 60)")
    p.add_argument("--keep-alive", action="store_true",
                   help="reuse each thread's connection to an endpoint (default: a new connection per request)")
    p.add_argument("--members-url", help="router worker list to sample, e.g. http://10.231.0.201:30000/list_workers")
    p.add_argument("--members-cmd", help="instead of --members-url: a JSON argv list whose output is the worker "
                   "list (for a control API only the gateway reaches)")
    p.add_argument("--members-out", help="JSONL file for the membership samples (with --members-url/--members-cmd)")
    p.add_argument("--sample-interval", type=float, default=0.25, help="seconds between samples (default 0.25)")
    return p


def _validate(args: argparse.Namespace) -> tuple[str, ...]:
    if args.count is None and args.duration is None:
        raise UsageError("give --count or --duration (the run must be bounded)")
    if args.count is not None and args.count < 1:
        raise UsageError("--count must be at least 1")
    if args.duration is not None and args.duration <= 0:
        raise UsageError("--duration must be positive")
    if not args.throughput and not args.rate > 0:
        raise UsageError("--rate must be positive")
    if not 1 <= args.concurrency <= 1024:
        raise UsageError("--concurrency must be between 1 and 1024")
    if args.max_tokens < 1:
        raise UsageError("--max-tokens must be at least 1")
    if args.timeout <= 0:
        raise UsageError("--timeout must be positive")
    if args.sample_interval <= 0:
        raise UsageError("--sample-interval must be positive")
    if args.members_url and args.members_cmd:
        raise UsageError("give --members-url or --members-cmd, not both")
    if bool(args.members_url or args.members_cmd) != bool(args.members_out):
        raise UsageError("--members-out goes with --members-url or --members-cmd")
    if args.members_cmd:
        try:
            command = json.loads(args.members_cmd)
        except ValueError:
            command = None
        if not isinstance(command, list) or not command or not all(isinstance(a, str) for a in command):
            raise UsageError("--members-cmd takes a JSON list of strings, e.g. '[\"curl\", \"-sf\", \"URL\"]'")
        args.members_cmd = command
    if args.api_key and args.api_key_file:
        raise UsageError("give --api-key or --api-key-file, not both")
    for option, path in (("--api-key-file", args.api_key_file), ("--ca-file", args.ca_file)):
        if path and not os.path.isfile(path):
            raise UsageError(f"{option} {path}: no such file")
    if args.image and not os.path.isfile(args.image):
        raise UsageError(f"--image {args.image}: no such file")
    kinds = tuple(k.strip() for k in args.kinds.split(",") if k.strip())
    unknown = [k for k in kinds if k not in KINDS]
    if not kinds or unknown:
        raise UsageError(f"--kinds takes a comma-separated subset of {','.join(KINDS)}")
    for url in args.url + ([args.members_url] if args.members_url else []):
        try:
            _target(url)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    return kinds


def main(argv: list[str] | None = None, stdout: Any = None, stderr: Any = None) -> int:
    stdout = stdout if stdout is not None else sys.stdout
    stderr = stderr if stderr is not None else sys.stderr
    p = parser()
    try:
        args = p.parse_args(argv)
    except SystemExit as exc:  # argparse already printed the usage error
        return int(exc.code or 0)
    try:
        kinds = _validate(args)
    except UsageError as exc:
        print(f"fleet_load.py: error: {exc}", file=stderr)
        return 2
    if args.duration is not None and args.duration > MAX_DURATION_S:
        print(f"fleet_load.py: --duration capped at {MAX_DURATION_S:g} s", file=stderr)
        args.duration = MAX_DURATION_S
    secret = args.api_key
    if args.api_key_file:
        with open(args.api_key_file, encoding="utf-8") as handle:
            secret = handle.read().strip()
    trust_ca(args.ca_file)
    model = args.model
    if not model:
        try:
            model = fetch_model(args.url[0], secret, min(args.timeout, 30.0))
        except Exception as exc:
            print(_redact(f"fleet_load.py: cannot read the model from {args.url[0]}/v1/models: {exc}", secret),
                  file=stderr)
            return 1
    image = None
    if args.image:
        with open(args.image, "rb") as handle:
            image = handle.read()
    client = Client(args.url, model, args.max_tokens, image, secret, args.timeout, kinds, args.keep_alive)
    writer = JsonlWriter(args.out, secret)
    sampler = None
    if args.members_url or args.members_cmd:
        sampler = Sampler(args.members_url or args.members_cmd, JsonlWriter(args.members_out, secret),
                          args.sample_interval, secret)
        sampler.start()
    progress = Progress(stream=stderr)
    try:
        if args.throughput:
            records, elapsed = run_throughput(client, writer, args.duration, args.count, args.concurrency,
                                              args.stop_file, progress)
        else:
            records, elapsed = run_rate(client, writer, args.rate, args.count, args.duration, args.concurrency,
                                        args.stop_file, progress)
    finally:
        if sampler is not None:
            sampler.stop()
            sampler.writer.close()
        writer.close()
    summary = summarize(records, elapsed)
    summary = {"mode": "throughput" if args.throughput else "rate", "model": model, **summary}
    if args.throughput:
        summary["requests_per_s"] = summary["rate_achieved"]
        if len(client.urls) > 1:
            summary["by_url"] = {url: sum(1 for r in records if r.get("url") == url) for url in client.urls}
    if sampler is not None:
        summary["member_samples"] = len(sampler.samples)
        summary["member_sample_failures"] = sum(1 for s in sampler.samples if s["members"] is None)
    text = _redact(json.dumps(summary, separators=(",", ":")), secret)
    if args.summary_out:
        # Written aside and renamed, so a reader never sees half of it.
        partial = args.summary_out + ".partial"
        with open(partial, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
        os.replace(partial, args.summary_out)
    print(text, file=stdout, flush=True)
    return 0 if summary["total"] > 0 and summary["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
