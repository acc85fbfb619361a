# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""The check record every readiness decision returns.

A check is a dict ``{name, status, device, detail, action}``: ``status`` is PASS, WARNING or CRITICAL, ``device``
the logic id of the NPU concerned (null for node-wide checks), ``detail`` what was seen and ``action`` the
recommended next step (empty for PASS). Dicts rather than objects, because playbooks and the fleet report read them.
"""

from __future__ import annotations

from typing import Any

PASS = "PASS"
WARNING = "WARNING"
CRITICAL = "CRITICAL"
SEVERITY = {PASS: 0, WARNING: 1, CRITICAL: 2}


class ReadinessInputError(ValueError):
    """Input that is not what a decision expects; the filters turn it into a task error naming the input."""


def check(name: str, status: str, detail: str, action: str = "", device: int | None = None) -> dict[str, Any]:
    return {"name": name, "status": status, "device": device, "detail": detail, "action": action}


def worst(statuses: list[str]) -> str:
    return max(statuses, key=lambda status: SEVERITY.get(status, 2), default=PASS)


def require_mapping(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ReadinessInputError(f"{what} must be a dict, got {type(value).__name__}")
    return value
