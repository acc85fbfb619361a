# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Where the modules that run npu-smi find it."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  executable:
    description:
      - Path to the C(npu-smi) binary.
      - By default C(npu-smi) is looked up on E(PATH), then C(/usr/local/bin/npu-smi) is used.
    type: path
notes:
  - Run it with the privileges npu-smi needs on the host (usually root).
"""
