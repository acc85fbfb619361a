"""Simulated Huawei NPU exporter (MindCluster v7.3.0) for the twin's image swr.cn-south-1.myhuaweicloud.com/ascendhub/
npu-exporter:v7.3.0: the real command line, logs and /metrics text, fed by the node's simulated driver library.

Stdlib only; installed in the image under /usr/local/lib/npu-exporter and run as /usr/local/bin/npu-exporter.
The facts it follows, and what it leaves out, are in docs/npu-exporter-reference.md.
"""

from __future__ import annotations

import platform

RELEASE = "v7.3.0"


def build_version(machine: str | None = None) -> str:
    """versions.BuildVersion as build.sh stamps it: the release, then `_linux-` and the output of `arch`."""
    return f"{RELEASE}_linux-{machine or platform.machine()}"
