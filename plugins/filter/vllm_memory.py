# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""The HBM gate of the vllm role: vLLM-Ascend's own KV cache budget, per planned NPU, before a container starts.

``{{ __vllm_plan | atlas.vllm.vllm_hbm_budget(npu_facts, config, weights_bytes, 0.9, 16384, ['vllm-0'], pids) }}``
-> ``{problems: [...], lines: [...], utilization}``; the instances named are already serving and are not judged
(the HBM on their NPUs is their own), and the HBM of the pids given (our serving containers) counts as free.
The formula and its source: plugins/module_utils/vllm_memory.py.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.atlas.vllm.plugins.module_utils.vllm_memory import (
    VLLM_DEFAULT_UTILIZATION,
    budget_problems,
    hbm_by_device,
    holders_by_device,
    problem_line,
)


def _number(value: Any, name: str, kind: type) -> Any:
    try:
        return kind(value)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"vllm_hbm_budget: {name} must be a number, got {value!r}") from exc


def vllm_hbm_budget(plan: Any, npu: Any, config: Any, weights_bytes: Any, utilization: Any,
                    max_model_len: Any, serving: Any = None, ours: Any = None) -> dict[str, Any]:
    """``npu`` is npu_smi_info's ``ansible_facts.npu`` (``devices`` and ``processes``); ``ours`` the host pids of
    our serving containers, whose HBM counts as free."""
    devices = (npu or {}).get("devices") if isinstance(npu, dict) else None
    processes = list((npu or {}).get("processes") or []) if isinstance(npu, dict) else []
    if not isinstance(plan, list) or not isinstance(devices, list) or not isinstance(config, dict):
        raise AnsibleFilterError("vllm_hbm_budget: expects the plan (list), npu_smi_info's npu facts and the "
                                 f"model's config.json (dict); got {type(plan).__name__}, {type(devices).__name__}, "
                                 f"{type(config).__name__}")
    # Unset, vLLM uses its own default.
    util = VLLM_DEFAULT_UTILIZATION if utilization is None else _number(utilization, "gpu_memory_utilization", float)
    max_len = _number(max_model_len, "max_model_len", int)
    skip = set(serving or [])
    own = {int(pid) for pid in ours or []}
    starting = [instance for instance in plan if instance["name"] not in skip]
    weights = _number(weights_bytes, "weights_bytes", int)
    try:
        problems = budget_problems(starting, hbm_by_device(devices, processes, own), config, weights, util, max_len)
    except KeyError as exc:
        raise AnsibleFilterError(f"vllm_hbm_budget: config.json has no {exc.args[0]}; cannot size the KV cache"
                                 ) from exc
    holders = holders_by_device(devices, processes, own)
    return {"problems": problems, "utilization": util,
            "lines": [problem_line(problem, util, max_len, holders.get(problem["device"], [])) for problem in problems]}


class FilterModule:
    """vLLM HBM budget filter."""

    def filters(self) -> dict[str, object]:
        return {"vllm_hbm_budget": vllm_hbm_budget}
