# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Filters of the preflight playbook (plugins/module_utils/readiness/: verdict.py, render.py).

``{{ [checks_a, checks_b] | atlas.vllm.atlas_verdict }}``        -> ``{status, checks}``
``{{ verdict | atlas.vllm.atlas_verdict_summary(host) }}``        -> one line for the node
``{{ verdicts | atlas.vllm.atlas_failed_nodes }}``                -> nodes whose verdict is CRITICAL or missing
``{{ verdicts | atlas.vllm.atlas_verdict_table }}``               -> list of table lines
``{{ check | atlas.vllm.readiness_check_line(host) }}``           -> ``atlas-02 CRITICAL health: ... -> action``
"""

from __future__ import annotations

from ansible_collections.atlas.vllm.plugins.module_utils.readiness.render import (
    atlas_verdict_summary,
    atlas_verdict_table,
    readiness_check_line,
)
from ansible_collections.atlas.vllm.plugins.module_utils.readiness.verdict import atlas_failed_nodes, atlas_verdict
from ansible_collections.atlas.vllm.plugins.plugin_utils.filter_errors import as_filter


class FilterModule:
    """Preflight verdict filters."""

    def filters(self) -> dict[str, object]:
        return {
            "atlas_verdict": as_filter(atlas_verdict),
            "atlas_verdict_summary": as_filter(atlas_verdict_summary),
            "atlas_failed_nodes": as_filter(atlas_failed_nodes),
            "readiness_check_line": as_filter(readiness_check_line),
            "atlas_verdict_table": as_filter(atlas_verdict_table),
        }
