# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""The readiness lines people read: one check, one node's summary, the fleet's table of failing checks."""

from __future__ import annotations

from typing import Any

from ansible_collections.atlas.vllm.plugins.module_utils.readiness.checks import (
    CRITICAL,
    PASS,
    SEVERITY,
    WARNING,
    require_mapping,
)


def readiness_check_line(item: Any, host: str | None = None) -> str:
    """``atlas-02 CRITICAL health NPU 3: ... -> action`` for one check."""
    item = require_mapping(item, "readiness_check_line input")
    prefix = f"{host} " if host else ""
    action = f" -> {item['action']}" if item.get("action") else ""
    return f"{prefix}{item['status']} {item['name']}: {item['detail']}{action}"


def atlas_verdict_summary(verdict: Any, host: str) -> str:
    """One line for a node: ``atlas-02: CRITICAL (2 critical, 1 warning, 9 passed)``."""
    verdict = require_mapping(verdict, "atlas_verdict_summary input")
    counts = {status: sum(1 for item in verdict["checks"] if item["status"] == status) for status in SEVERITY}
    line = (f"{host}: {verdict['status']} ({counts[CRITICAL]} critical, {counts[WARNING]} warning, "
            f"{counts[PASS]} passed)")
    worst_items = [item for item in verdict["checks"] if item["status"] == verdict["status"] != PASS]
    if worst_items:
        line += " - " + "; ".join(item["detail"] for item in worst_items[:3])
        if len(worst_items) > 3:
            line += f"; and {len(worst_items) - 3} more"
    return line


def atlas_verdict_table(verdicts: Any) -> list[str]:
    """Fixed-width table lines: one row per failing check (node, status, device, check, detail, action);
    one PASS row per healthy node. ``verdicts``: ``{host: verdict or null}`` (null: the node gave no verdict)."""
    verdicts = require_mapping(verdicts, "atlas_verdict_table input")
    header = f"{'node':<12} {'status':<9} {'device':<7} {'check':<16} detail -> action"
    lines = [header, "-" * len(header)]
    for host in sorted(verdicts):
        verdict = verdicts[host]
        if not verdict:
            lines.append(f"{host:<12} {'CRITICAL':<9} {'-':<7} {'unreachable':<16} no verdict (host unreachable or "
                         "a task failed) -> fix the connection or the error above, then re-run with --limit")
            continue
        rows = [item for item in verdict["checks"] if item["status"] != PASS]
        if not rows:
            lines.append(f"{host:<12} {'PASS':<9} {'-':<7} {'all':<16} {len(verdict['checks'])} checks passed")
        for item in sorted(rows, key=lambda row: -SEVERITY[row["status"]]):
            device = "-" if item.get("device") is None else str(item["device"])
            lines.append(f"{host:<12} {item['status']:<9} {device:<7} {item['name']:<16} {item['detail']} -> "
                         f"{item['action']}")
    return lines
