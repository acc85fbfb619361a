"""Simulated Ascend NPU driver layer of the twin (npu-smi, hccn_tool and their node state)."""
