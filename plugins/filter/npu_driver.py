# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Filters of the npu_driver role (the checks live in plugins/module_utils/readiness/npu.py).

``{{ observed | atlas.vllm.npu_driver_assess(policy) }}`` -> ``{checks, healthy_devices}``
``{{ ansible_facts.npu | atlas.vllm.npu_device_labels }}`` -> ``{logic id: 'NPU 3'}`` (``NPU 3 chip 1`` on A3)
"""

from __future__ import annotations

from ansible_collections.atlas.vllm.plugins.module_utils.readiness.devices import npu_device_labels
from ansible_collections.atlas.vllm.plugins.module_utils.readiness.npu import npu_driver_assess
from ansible_collections.atlas.vllm.plugins.plugin_utils.filter_errors import as_filter


class FilterModule:
    """npu_driver readiness filters."""

    def filters(self) -> dict[str, object]:
        return {
            "npu_driver_assess": as_filter(npu_driver_assess),
            "npu_device_labels": as_filter(npu_device_labels),
        }
