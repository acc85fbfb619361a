# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Rolling changes in Jinja: batch size, batches, the check-mode plan and the rollback message.

``{{ atlas_rolling_batch | atlas.vllm.rolling_batch_size(node_count) }}``          -> int (refuses bad values)
``{{ nodes | atlas.vllm.rolling_batches(changing, size) }}``                       -> [[node, ...], ...]
``{{ batches | atlas.vllm.rolling_plan_lines(instances_by_node) }}``               -> ["batch 1/2: ...", ...]
``{{ node | atlas.vllm.rollback_message(failures, rolled_back, restored_ok) }}``   -> the operator's message
The logic lives in module_utils/rollout.py, unit-tested without Ansible.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.atlas.vllm.plugins.module_utils.rollout import (
    batch_plan_lines,
    plan_batches,
    resolve_batch_size,
    rollback_message,
)


def rolling_batch_size(value: Any, node_count: int) -> int:
    try:
        return resolve_batch_size(value, int(node_count))
    except ValueError as exc:
        raise AnsibleFilterError(f"atlas_rolling_batch is {value!r}; {exc}") from exc


def rolling_batch_error(value: Any, node_count: int) -> str | None:
    """The validation message for atlas_rolling_batch, or None when it is fine."""
    try:
        resolve_batch_size(value, int(node_count))
    except ValueError as exc:
        return f"atlas_rolling_batch is {value!r}; {exc}"
    return None


class FilterModule:
    def filters(self) -> dict:
        return {"rolling_batch_size": rolling_batch_size, "rolling_batch_error": rolling_batch_error,
                "rolling_batches": plan_batches, "rolling_plan_lines": batch_plan_lines,
                "rollback_message": rollback_message}
