# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Crash detection for the ``vllm_health`` wait: a container's state from ``docker inspect``, whether it crashed or
restarted since a baseline, and its last log lines in time order.

Runs on the target node: standard library only, compatible with Python 3.9, and no I/O (the caller runs docker).
A restart policy can hide a crash behind a running container, so a start time other than the baseline's or a
higher restart count counts as a crash too.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

# `docker logs --timestamps` prefixes RFC 3339 times; the fraction is padded before comparing so that a trimmed
# fraction (".5Z") sorts like its full form (".500000000Z").
_LOG_TS_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)? ?(.*)$")


# Docker's /dev/shm size for a container started without --shm-size.
DOCKER_DEFAULT_SHM = 64 * 1024 * 1024


def parse_inspect(text: str) -> dict[str, Any]:
    """The state of one container from ``docker inspect`` (or ``podman inspect``) JSON.

    Returns ``{name, status, running, restarting, exit_code, oom_killed, error, started_at, finished_at,
    restart_count, restart_policy, shm_size, image, image_id}``; ValueError when the text holds no container.
    """
    try:
        data = json.loads(text or "null")
    except ValueError as exc:
        raise ValueError("docker inspect printed no JSON") from exc
    if isinstance(data, list):
        data = data[0] if data else None
    if not isinstance(data, dict) or not isinstance(data.get("State"), dict):
        raise ValueError("docker inspect printed no container state")
    state = data["State"]
    host_config = data.get("HostConfig") or {}
    policy = host_config.get("RestartPolicy") or {}
    return {
        "name": (data.get("Name") or "").lstrip("/") or None,
        "status": state.get("Status"),
        "running": bool(state.get("Running")),
        "restarting": bool(state.get("Restarting")),
        "exit_code": state.get("ExitCode"),
        "oom_killed": bool(state.get("OOMKilled")),
        "error": state.get("Error") or None,
        "started_at": state.get("StartedAt"),
        "finished_at": state.get("FinishedAt"),
        "restart_count": int(data.get("RestartCount") or 0),
        "restart_policy": policy.get("Name") or None,
        # Bytes of the container's /dev/shm; docker reports 0 (its 64 MB default) when none was asked for.
        "shm_size": int(host_config.get("ShmSize") or 0) or DOCKER_DEFAULT_SHM,
        # The reference it was created from, and the image that reference named then (what actually runs).
        "image": (data.get("Config") or {}).get("Image"),
        "image_id": data.get("Image"),
    }


def baseline_of(container: dict[str, Any]) -> dict[str, Any]:
    """What later looks are compared with to notice a restart that a restart policy would otherwise hide."""
    return {"restart_count": container["restart_count"], "started_at": container["started_at"]}


def restarted_since(container: dict[str, Any], baseline: dict[str, Any] | None) -> bool:
    """Whether the container is restarting, or restarted since ``baseline`` was taken."""
    if container.get("restarting"):
        return True
    if not baseline:
        return False
    before = baseline.get("restart_count")
    if before is not None and container.get("restart_count", 0) > before:
        return True
    started = baseline.get("started_at")
    return bool(started and container.get("started_at") and container["started_at"] != started)


def rfc3339_to_unix(stamp: str | None) -> float | None:
    """Docker's ``2026-11-29T21:59:01.123456789Z`` as Unix seconds (Python 3.9 parses at most microseconds)."""
    if not stamp or stamp.startswith("0001-"):
        return None
    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", stamp)
    if not match:
        return None
    whole, fraction, zone = match.groups()
    parsed = datetime.fromisoformat(whole + ("+00:00" if zone == "Z" else zone))
    return parsed.timestamp() + float(fraction or 0)


def judge_container(container: dict[str, Any], baseline: dict[str, Any] | None) -> tuple[bool, str]:
    """``(crashed, reason)``: exited, dead, restarting, failed to start, or restarted since ``baseline``.

    With ``restart: always`` a crashed vLLM is back to "running" (and loading again) within seconds, so a changed
    StartedAt or a higher RestartCount is the only trace of the crash; either counts as a failure.
    """
    exit_code = container.get("exit_code")
    if exit_code is None:
        exit_code = "unknown"
    extra = " (killed by the OOM killer)" if container.get("oom_killed") else ""
    if container.get("error"):
        extra += f": {container['error']}"
    status = container.get("status")
    if status in ("exited", "dead"):
        return True, f"has {status} with exit code {exit_code}{extra}"
    if container.get("restarting"):
        return True, f"exited with code {exit_code}{extra} and is being restarted by its restart policy"
    if status == "created" and container.get("error"):
        return True, f"could not start{extra}"
    if baseline:
        before = baseline.get("restart_count")
        if before is not None and container.get("restart_count", 0) > before:
            return True, (
                f"restarted ({before} → {container['restart_count']} restarts; last exit code {exit_code}{extra})"
            )
        started = baseline.get("started_at")
        if started and container.get("started_at") and container["started_at"] != started:
            return True, f"restarted at {container['started_at']} (last exit code {exit_code}{extra})"
    return False, f"is {status}"


def strip_ansi(text: str) -> str:
    """vLLM colours its ``(APIServer pid=N)`` prefixes even without a terminal; the codes only clutter a report."""
    return _ANSI_RE.sub("", text)


def _log_key(line: str) -> tuple[str, str, str] | None:
    match = _LOG_TS_RE.match(line)
    if not match:
        return None
    seconds, fraction, _zone, rest = match.groups()
    return seconds, (fraction or "").ljust(9, "0"), rest


def merge_log_tail(stdout: str, stderr: str, limit: int = 20) -> list[str]:
    """Last ``limit`` lines of ``docker logs --timestamps`` with both streams merged in time order.

    vLLM logs to stdout but tracebacks go to stderr; merging by timestamp keeps a traceback after the log line
    it follows. Lines without a timestamp keep the time of the line before them.
    """
    entries: list[tuple[tuple[str, str], int, str]] = []
    order = 0
    for text in (stdout, stderr):
        last: tuple[str, str] = ("", "")
        for line in (text or "").splitlines():
            key = _log_key(line)
            if key is None:
                stamp, message = last, line
            else:
                stamp, message = (key[0], key[1]), key[2]
                last = stamp
            entries.append((stamp, order, strip_ansi(message).rstrip()))
            order += 1
    entries.sort(key=lambda entry: (entry[0], entry[1]))
    lines = [message for _stamp, _order, message in entries]
    return lines[-limit:] if limit > 0 else []
