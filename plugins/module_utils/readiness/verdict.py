# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""A node's verdict (the worst of its checks) and the nodes whose verdict fails the run."""

from __future__ import annotations

from typing import Any

from ansible_collections.atlas.vllm.plugins.module_utils.readiness.checks import (
    CRITICAL,
    SEVERITY,
    ReadinessInputError,
    require_mapping,
    worst,
)


def atlas_verdict(check_lists: Any) -> dict[str, Any]:
    """Combine lists of checks into ``{status, checks}``; status is the worst of them (PASS when empty)."""
    if not isinstance(check_lists, list):
        raise ReadinessInputError(f"atlas_verdict expects a list of check lists, got {type(check_lists).__name__}")
    checks = [item for group in check_lists for item in (group or [])]
    for item in checks:
        if item.get("status") not in SEVERITY:
            raise ReadinessInputError(f"check {item.get('name')!r} has status {item.get('status')!r}; "
                                      f"expected one of {sorted(SEVERITY)}")
    return {"status": worst([item["status"] for item in checks]), "checks": checks}


def atlas_failed_nodes(verdicts: Any) -> list[str]:
    """Nodes whose verdict is CRITICAL or missing, sorted. ``verdicts``: ``{host: verdict or null}``."""
    verdicts = require_mapping(verdicts, "atlas_failed_nodes input")
    return sorted(host for host, verdict in verdicts.items() if not verdict or verdict.get("status") == CRITICAL)
