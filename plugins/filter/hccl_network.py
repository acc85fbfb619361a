# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Filters of the hccl_network role (plugins/module_utils/readiness/: network.py, ping_plan.py, ping_matrix.py).

``{{ hccn | atlas.vllm.hccl_network_assess(policy) }}``                  -> ``{checks, devices}``
``{{ node_states | atlas.vllm.hccl_network_ping_targets(host, mode) }}`` -> ``[{device, address}]``
``{{ node_states | atlas.vllm.hccl_network_ping_matrix(policy) }}``      -> ``{checks: {host: [...]}, lines: [...]}``
"""

from __future__ import annotations

from ansible_collections.atlas.vllm.plugins.module_utils.readiness.network import hccl_network_assess
from ansible_collections.atlas.vllm.plugins.module_utils.readiness.ping_matrix import hccl_network_ping_matrix
from ansible_collections.atlas.vllm.plugins.module_utils.readiness.ping_plan import ping_targets
from ansible_collections.atlas.vllm.plugins.plugin_utils.filter_errors import as_filter


class FilterModule:
    """hccl_network readiness filters."""

    def filters(self) -> dict[str, object]:
        return {
            "hccl_network_assess": as_filter(hccl_network_assess),
            "hccl_network_ping_targets": as_filter(ping_targets),
            "hccl_network_ping_matrix": as_filter(hccl_network_ping_matrix),
        }
