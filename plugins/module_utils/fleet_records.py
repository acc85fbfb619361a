# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""The record one stage leaves for the fleet report: reports/results/<node>/<stage>.json."""

from __future__ import annotations

from typing import Any

from ansible_collections.atlas.vllm.plugins.module_utils.redact import redact


def record_document(host: str, stage: str, data: Any, secrets: Any, recorded: str) -> dict[str, Any]:
    """``{host, stage, recorded, data}`` with every secret scrubbed out of ``data`` (secret keys by name, URL user
    info, NAME=VALUE secrets in strings, and the given secret values wherever they appear)."""
    return {"host": host, "stage": stage, "recorded": recorded, "data": redact(data, secrets)}
