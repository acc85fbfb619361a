# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Locate an Ascend driver tool on the node (npu-smi, hccn_tool) the same way in every module."""

from __future__ import annotations

import os


def find_tool(module, name: str, default_path: str) -> str:
    """The `executable` option if given, else `name` on PATH, else the driver's install path; fail otherwise.

    The install path matters because sudo's secure_path usually lacks /usr/local/bin and the driver's tools
    directory, which is where the Ascend driver installer puts these tools.
    """
    explicit = module.params.get("executable")
    if explicit:
        if not (os.path.isfile(explicit) and os.access(explicit, os.X_OK)):
            module.fail_json(msg=f"executable {explicit} is not an executable file", cmd=[])
        return explicit
    found = module.get_bin_path(name)
    if found:
        return found
    if os.access(default_path, os.X_OK):
        return default_path
    module.fail_json(msg=f"{name} not found on PATH or at {default_path}; is the Ascend driver installed?", cmd=[])
    raise AssertionError("fail_json returned")  # unreachable: fail_json exits
