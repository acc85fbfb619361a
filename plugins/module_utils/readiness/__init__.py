# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Readiness decisions of the preflight, one module per concern.

checks.py      the check record, severities and the input guard every decision uses
devices.py     how NPU devices are named and reset (A2: ``NPU 3``; A3: ``NPU 3 chip 1``)
npu.py         npu_driver: device files, npu-smi, driver and firmware versions, health, processes, HBM
network.py     hccl_network: each device's NIC (link, IP, net_health, gateway, netdetect)
ping_plan.py   which peer devices each node pings, per ping mode
ping_matrix.py the fleet's ping results aggregated into per-node checks and matrix lines
verdict.py     a node's verdict (the worst of its checks) and the failed nodes
render.py      the lines people read: one check, one node, the fleet table
"""
