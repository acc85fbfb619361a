# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Parsers of the docker CLI listings the readiness read uses to tell our NPU processes from foreign ones."""

from __future__ import annotations


def parse_ps_id_names(text: str | None) -> list[tuple[str, str]]:
    """``(id, name)`` pairs from ``docker ps --format '{{.ID}} {{.Names}}'`` (one container a line)."""
    pairs = []
    for line in (text or "").splitlines():
        words = line.split()
        if len(words) >= 2:
            pairs.append((words[0], words[1]))
        elif words:
            pairs.append((words[0], words[0]))
    return pairs


def parse_top_pids(text: str | None) -> list[int]:
    """PIDs from ``docker top ID -eo pid`` (a ``PID`` header line, then one pid a line)."""
    pids = []
    for line in (text or "").splitlines():
        token = line.strip()
        if token.isdigit():
            pids.append(int(token))
    return pids
