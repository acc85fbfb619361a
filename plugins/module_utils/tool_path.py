# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Locate an Ascend driver tool on the node (npu-smi, hccn_tool) the same way in every module."""

from __future__ import annotations

import os


def locate_tool(module, name: str, default_path: str) -> tuple[str | None, str | None]:
    """``(path, None)`` or ``(None, why not)``: the `executable` option if given, else `name` on PATH, else the
    driver's install path.

    The install path matters because sudo's secure_path usually lacks /usr/local/bin and the driver's tools
    directory, which is where the Ascend driver installer puts these tools.
    """
    explicit = module.params.get("executable")
    if explicit:
        if not (os.path.isfile(explicit) and os.access(explicit, os.X_OK)):
            return None, f"executable {explicit} is not an executable file"
        return explicit, None
    found = module.get_bin_path(name)
    if found:
        return found, None
    if os.access(default_path, os.X_OK):
        return default_path, None
    return None, f"{name} not found on PATH or at {default_path}; is the Ascend driver installed?"


def find_tool(module, name: str, default_path: str) -> str:
    """Like locate_tool, but a tool that cannot be found ends the module with the reason."""
    path, error = locate_tool(module, name, default_path)
    if path is None:
        module.fail_json(msg=error, cmd=[])
        raise AssertionError("fail_json returned")  # unreachable: fail_json exits
    return path
