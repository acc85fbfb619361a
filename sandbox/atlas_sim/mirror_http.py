"""Read-only HTTP file server for the lab's model mirror (stdlib only).

It stands in for the HTTP server an air-gapped site puts in front of its model copies, so the weights role can be
tested with resumable downloads:

* ``GET`` and ``HEAD`` of regular files, with ``Content-Length``, ``Last-Modified``, ``ETag`` and
  ``Accept-Ranges: bytes``.
* A single ``Range: bytes=a-b``, ``bytes=a-`` or ``bytes=-n`` gives ``206`` with ``Content-Range``; a range that
  starts past the end gives ``416`` with ``Content-Range: bytes */<size>``. Several ranges in one header, or a
  malformed header, are ignored and the whole file is sent (RFC 9110 allows both). ``If-Range`` with a stale
  validator also sends the whole file.
* A directory path ending in ``/`` returns a JSON listing:
  ``[{"name": "config.json", "type": "file", "size": 1374}, {"name": "sub", "type": "dir"}]`` (sorted,
  dot-files hidden). A directory path without the slash is redirected (301) to it.
* Paths that leave the root (``..``, symlinks pointing outside, NUL bytes) get ``404``; other methods ``405``.
* One line per request on stderr: ``<client> "<request line>" <status> <bytes sent>``.

CLI (run by atlas-sim inside the lab namespace)::

    python3 -m atlas_sim.mirror_http --bind 10.231.0.1 --port 8090 --root /srv/models
"""

from __future__ import annotations

import argparse
import email.utils
import json
import mimetypes
import re
import signal
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, BinaryIO

_CHUNK = 1 << 20
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None | str:
    """``(first, last)`` inclusive for a satisfiable single range, ``None`` to send the whole file, or
    ``"unsatisfiable"``."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if not match or match.group(0) == "bytes=-":
        return None
    first, last = match.groups()
    if first == "":
        suffix = int(last)
        if suffix == 0:
            return "unsatisfiable"
        return (max(0, size - suffix), size - 1) if size else "unsatisfiable"
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None  # syntactically invalid: ignored, like a malformed header
    if start >= size:
        return "unsatisfiable"
    return start, min(end, size - 1)


class MirrorHandler(BaseHTTPRequestHandler):
    """Serves ``server.root``; everything else is refused."""

    server_version = "atlas-mirror/1.0"
    protocol_version = "HTTP/1.1"
    # Idle keep-alive connections are closed after this many seconds so they cannot pin threads forever.
    timeout = 120
    _sent = 0
    _status = 0

    # -- plumbing -------------------------------------------------------------------------------------------

    @property
    def root(self) -> Path:
        return self.server.root  # type: ignore[attr-defined]

    def send_response(self, code: int, message: str | None = None) -> None:
        self._status = code
        super().send_response(code, message)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Logged once when the response is complete (see handle_one_request), with the bytes actually sent.
        pass

    def log_error(self, format: str, *args: Any) -> None:
        # send_error already produces the request's line; a second line per error would break one-line-per-request.
        pass

    def log_message(self, format: str, *args: Any) -> None:
        self.server.log(f"{self.address_string()} {format % args}")  # type: ignore[attr-defined]

    def handle_one_request(self) -> None:
        self._sent = 0
        self._status = 0
        try:
            super().handle_one_request()
        finally:
            # Also logged when the client hung up mid-body, so short transfers are visible.
            if self._status:
                self.log_message('"%s" %d %d', self.requestline, self._status, self._sent)

    def _headers_only(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)
            self._sent += len(body)

    def _error(self, status: HTTPStatus, extra: dict[str, str] | None = None) -> None:
        body = json.dumps({"error": status.phrase, "status": int(status)}).encode() + b"\n"
        self._headers_only(status, {"Content-Type": "application/json", **(extra or {})}, body)

    # -- resolution -----------------------------------------------------------------------------------------

    def _resolve(self) -> tuple[Path | None, bool]:
        """The filesystem path of the request (None when it escapes the root) and whether it ended with '/'."""
        raw = urllib.parse.urlsplit(self.path).path
        decoded = urllib.parse.unquote(raw)
        if "\x00" in decoded or "\\" in decoded:
            return None, False
        parts = [p for p in decoded.split("/") if p not in ("", ".")]
        if ".." in parts:
            return None, False
        root = self.root
        target = root.joinpath(*parts).resolve()
        if target != root and root not in target.parents:
            return None, False  # a symlink that points outside the served tree
        return target, raw.endswith("/")

    # -- methods --------------------------------------------------------------------------------------------

    def do_GET(self) -> None:
        target, slash = self._resolve()
        if target is None or not target.exists():
            self._error(HTTPStatus.NOT_FOUND)
        elif target.is_dir():
            if slash:
                self._listing(target)
            else:
                location = urllib.parse.urlsplit(self.path).path + "/"
                self._headers_only(HTTPStatus.MOVED_PERMANENTLY, {"Location": location})
        elif target.is_file():
            self._file(target)
        else:
            self._error(HTTPStatus.NOT_FOUND)

    do_HEAD = do_GET  # the body is suppressed where it is written

    def _refuse(self) -> None:
        self._error(HTTPStatus.METHOD_NOT_ALLOWED, {"Allow": "GET, HEAD"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse

    def _listing(self, directory: Path) -> None:
        entries = []
        for child in sorted(directory.iterdir(), key=lambda p: p.name):
            if child.name.startswith("."):
                continue
            if child.is_dir():
                entries.append({"name": child.name, "type": "dir"})
            elif child.is_file():
                entries.append({"name": child.name, "type": "file", "size": child.stat().st_size})
        body = (json.dumps(entries) + "\n").encode()
        self._headers_only(HTTPStatus.OK, {"Content-Type": "application/json"}, body)

    def _file(self, path: Path) -> None:
        st = path.stat()
        size = st.st_size
        etag = f'"{st.st_mtime_ns:x}-{size:x}"'
        last_modified = email.utils.formatdate(st.st_mtime, usegmt=True)
        headers = {
            "Content-Type": mimetypes.guess_type(path.name)[0] or "application/octet-stream",
            "Accept-Ranges": "bytes",
            "Last-Modified": last_modified,
            "ETag": etag,
        }
        wanted = parse_range(self.headers.get("Range"), size)
        if_range = self.headers.get("If-Range")
        if wanted is not None and if_range and if_range not in (etag, last_modified):
            wanted = None
        if wanted == "unsatisfiable":
            self._error(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE, {"Content-Range": f"bytes */{size}"})
            return
        if isinstance(wanted, tuple):
            first, last = wanted
            status = HTTPStatus.PARTIAL_CONTENT
            headers["Content-Range"] = f"bytes {first}-{last}/{size}"
        else:
            first, last, status = 0, size - 1, HTTPStatus.OK
        length = last - first + 1
        with path.open("rb") as fh:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(length))
            self.end_headers()
            if self.command != "HEAD":
                self._copy(fh, first, length)

    def _copy(self, fh: BinaryIO, first: int, length: int) -> None:
        fh.seek(first)
        while length > 0:
            chunk = fh.read(min(_CHUNK, length))
            if not chunk:
                break  # the file shrank while being sent; the client sees a short body and can retry
            self.wfile.write(chunk)
            self._sent += len(chunk)
            length -= len(chunk)


def _stderr_line(line: str) -> None:
    sys.stderr.write(line + "\n")


class MirrorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], root: Path) -> None:
        self.root = Path(root).resolve()
        self.log: Callable[[str], None] = _stderr_line
        if not self.root.is_dir():
            raise NotADirectoryError(str(root))
        super().__init__(address, MirrorHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError):
            return  # a client that hangs up mid-download is routine for resumable downloads
        super().handle_error(request, client_address)


def make_server(root: Path, bind: str = "127.0.0.1", port: int = 0) -> MirrorServer:
    """A bound server (``port=0`` picks a free one: see ``server.server_address``); call ``serve_forever``."""
    return MirrorServer((bind, port), root)


def _stop_on(sig: int, server: MirrorServer) -> Callable[[int, Any], None]:
    def handler(_signum: int, _frame: Any) -> None:
        # shutdown() blocks until serve_forever returns, so it cannot run in the serving thread itself.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(sig, handler)
    return handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m atlas_sim.mirror_http", description="Read-only model mirror.")
    parser.add_argument("--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8090, help="TCP port (default 8090)")
    parser.add_argument("--root", type=Path, required=True, help="directory to serve")
    args = parser.parse_args(argv)
    try:
        server = make_server(args.root, args.bind, args.port)
    except (OSError, NotADirectoryError) as exc:
        print(f"mirror_http: cannot serve {args.root} on {args.bind}:{args.port}: {exc}", file=sys.stderr)
        return 1
    _stop_on(signal.SIGTERM, server)
    _stop_on(signal.SIGINT, server)
    host, port = server.server_address[:2]
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    print(f"mirror_http: serving {server.root} on http://{host}:{port}/ since {started}", file=sys.stderr, flush=True)
    with server:
        server.serve_forever()
    print("mirror_http: stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
