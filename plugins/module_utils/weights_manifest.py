# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Helpers for model weight directories checked against a ``sha256sum`` manifest.

Everything here except ``sha256_file`` is a pure function, so the unit tests need neither Ansible nor a network.
Python 3.9 and the standard library only: this code runs on the nodes.

Manifest format
    What ``sha256sum`` writes and ``sha256sum -c`` reads: ``<64 hex>  <relative path>`` per line, or
    ``<64 hex> *<relative path>`` (binary marker). A line starting with a backslash carries an escaped path
    (``\\\\`` and ``\\n``), as GNU sha256sum writes for names with a backslash or a newline. Blank lines are
    ignored. Paths must stay inside the model directory: absolute paths and ``..`` components are refused.

Verification record
    A full sha256 pass leaves ``{path: [size, mtime_ns]}`` in a state file inside the model directory. The fast
    ``size`` level trusts a file whose size and mtime still match that record and hashes any file that does not,
    so a missing or stale record degrades to a sha256 pass instead of passing silently.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any
from urllib.parse import quote

MANIFEST_NAME = "MANIFEST.sha256"
STATE_NAME = ".atlas-verified.json"
STATE_VERSION = 1
PART_SUFFIX = ".part"
CHUNK = 1 << 20

# Plan statuses of one file.
COMPLETE = "complete"  # trusted without hashing (size level, record matches) or hashed in this session
CHECK = "check"  # present, must be hashed
MISSING = "missing"  # neither the file nor a partial download exists
PARTIAL = "partial"  # a partial download exists; continue it with a Range request

_LINE = re.compile(r"^(\\?)([0-9a-fA-F]{64}) ([ *])(.+)$")


class ManifestError(ValueError):
    """A manifest that cannot be trusted; the message names the line."""


def check_relpath(path: str) -> str:
    """The normalised relative path, or ManifestError when it could leave the model directory."""
    if not path or "\x00" in path:
        raise ManifestError(f"empty path or NUL byte in {path!r}")
    if path.startswith("/") or re.match(r"^[A-Za-z]:[\\/]", path):
        raise ManifestError(f"absolute path {path!r}")
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if not parts:
        raise ManifestError(f"path {path!r} names the directory itself")
    if ".." in parts:
        raise ManifestError(f"path {path!r} leaves the model directory (..)")
    return "/".join(parts)


def _unescape(path: str) -> str:
    out = []
    i = 0
    while i < len(path):
        char = path[i]
        if char == "\\" and i + 1 < len(path) and path[i + 1] in "\\n":
            out.append("\n" if path[i + 1] == "n" else "\\")
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


def parse_manifest(text: str) -> dict[str, str]:
    """``{relative path: lowercase sha256}`` in manifest order; ManifestError names the first bad line."""
    entries: dict[str, str] = {}
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        match = _LINE.match(line)
        if not match:
            raise ManifestError(f"line {number} is not '<sha256>  <path>': {line[:120]!r}")
        escaped, digest, _mode, path = match.groups()
        if escaped:
            path = _unescape(path)
        try:
            path = check_relpath(path)
        except ManifestError as exc:
            raise ManifestError(f"line {number}: {exc}") from None
        digest = digest.lower()
        if entries.get(path, digest) != digest:
            raise ManifestError(f"line {number}: {path} is listed twice with different hashes")
        entries[path] = digest
    if not entries:
        raise ManifestError("the manifest lists no files")
    return entries


def render_manifest(entries: dict[str, str]) -> str:
    """``sha256sum`` text for the entries, sorted by path (what ``sort`` then ``sha256sum`` would produce)."""
    lines = []
    for path in sorted(entries):
        if "\\" in path or "\n" in path:
            escaped = path.replace("\\", "\\\\").replace("\n", "\\n")
            lines.append(f"\\{entries[path]}  {escaped}")
        else:
            lines.append(f"{entries[path]}  {path}")
    return "\n".join(lines) + "\n"


def manifest_digest(entries: dict[str, str]) -> str:
    """Identity of a manifest's content, independent of line order or binary markers."""
    return hashlib.sha256(render_manifest(entries).encode("utf-8")).hexdigest()


def part_name(path: str) -> str:
    """Where a partial download of ``path`` lives: a dot-file beside it, so manifests and vLLM never see it."""
    head, dummy, tail = path.rpartition("/")
    hidden = f".{tail}{PART_SUFFIX}"
    return f"{head}/{hidden}" if head else hidden


def load_state(text: str | None, digest: str) -> dict[str, Any]:
    """The verification record for the manifest ``digest``; an empty record when absent, unreadable or stale."""
    empty: dict[str, Any] = {"version": STATE_VERSION, "manifest": digest, "files": {}, "session": "", "hashed": []}
    if not text:
        return empty
    try:
        data = json.loads(text)
    except ValueError:
        return empty
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION or data.get("manifest") != digest:
        return empty
    files = data.get("files")
    if not isinstance(files, dict):
        return empty
    record = dict(empty)
    record["files"] = {
        path: [int(value[0]), int(value[1])]
        for path, value in files.items()
        if isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value)
    }
    record["session"] = str(data.get("session") or "")
    record["hashed"] = [path for path in data.get("hashed") or [] if isinstance(path, str)]
    return record


def render_state(record: dict[str, Any]) -> str:
    return json.dumps(record, indent=1, sort_keys=True) + "\n"


def plan_files(
    entries: dict[str, str],
    observed: dict[str, dict[str, int | None]],
    record: dict[str, Any],
    level: str,
    session: str = "",
) -> list[dict[str, Any]]:
    """What each manifest file needs, in manifest order.

    ``observed[path]`` holds ``size`` and ``mtime_ns`` of the file (None when absent) and ``part_size`` of its
    partial download (None when absent). ``level`` is ``size`` or ``sha256``. A file hashed earlier in the same
    ``session`` (a previous slice of one task) counts as hashed when its size and mtime are unchanged.
    """
    if level not in ("size", "sha256"):
        raise ValueError(f"verification level must be size or sha256, got {level!r}")
    hashed_now = set(record.get("hashed") or []) if session and record.get("session") == session else set()
    plan = []
    for path in entries:
        seen = observed.get(path) or {}
        size, mtime_ns, part_size = seen.get("size"), seen.get("mtime_ns"), seen.get("part_size")
        entry: dict[str, Any] = {"path": path, "size": size, "part_size": part_size}
        if size is None:
            entry["status"] = PARTIAL if part_size else MISSING
        else:
            matches_record = record.get("files", {}).get(path) == [size, mtime_ns]
            trusted = matches_record and (level == "size" or path in hashed_now)
            entry["status"] = COMPLETE if trusted else CHECK
        plan.append(entry)
    return plan


def range_header(offset: int) -> str | None:
    """``Range`` value that continues a download at ``offset`` bytes; None for a whole-file request."""
    if offset < 0:
        raise ValueError(f"offset must not be negative, got {offset}")
    return f"bytes={offset}-" if offset else None


_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)


def parse_content_range(value: str | None) -> tuple[int, int, int | None] | None:
    """``(first, last, total)`` of a ``Content-Range: bytes a-b/n`` header (total None for ``*``)."""
    match = _CONTENT_RANGE.match(value or "")
    if not match:
        return None
    first, last, total = match.groups()
    return int(first), int(last), None if total == "*" else int(total)


def file_url(base: str, path: str) -> str:
    """URL of a manifest path below the model's base URL, each component percent-encoded."""
    return base.rstrip("/") + "/" + "/".join(quote(part) for part in path.split("/"))


def sha256_file(filename: str, hasher: Any = None, limit: int | None = None) -> Any:
    """A sha256 object updated with the file's bytes (the first ``limit`` bytes when given)."""
    hasher = hasher or hashlib.sha256()
    remaining = limit
    with open(filename, "rb") as handle:
        while remaining is None or remaining > 0:
            chunk = handle.read(CHUNK if remaining is None else min(CHUNK, remaining))
            if not chunk:
                break
            hasher.update(chunk)
            if remaining is not None:
                remaining -= len(chunk)
    return hasher


def human_bytes(count: int | None) -> str:
    if count is None:
        return "?"
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"  # unreachable; keeps type checkers content


def progress_line(
    files_done: int, files_total: int, bytes_done: int, bytes_total: int | None, current: str = ""
) -> str:
    """One line an operator reads while a node downloads: files, bytes, percent and the file in flight."""
    percent = f" ({100 * bytes_done // bytes_total}%)" if bytes_total else ""
    line = f"{files_done} of {files_total} files, {human_bytes(bytes_done)} of {human_bytes(bytes_total)}{percent}"
    return f"{line}; fetching {current}" if current else line
