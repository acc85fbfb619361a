"""The image's CANN toolkit against the node's driver, checked where the runtime first opens an NPU.

Sources (docs/field-failures.md, row 3): the image records its CANN release in the toolkit's
ascend_toolkit_install.info (vllm-ascend #1696); v0.11.0rc1's is 8.3.RC1. vllm-ascend #5468 shows CANN 8.3 failing
on 24.1 drivers, and Huawei's compatibility lists for CANN 8.x start at driver 25.0. No source shows the text the
runtime prints in that case, so the line below is the simulator's own, worded generically.
"""

from __future__ import annotations

import glob
import os
import re

from vllm_sim import tracebacks
from vllm_sim.config_checks import Failure
from vllm_sim.driver import DEFAULT_DRIVER_DIR, DRIVER_DIR_ENV

TOOLKIT_GLOB = "/usr/local/Ascend/ascend-toolkit/latest/*-linux/ascend_toolkit_install.info"
# Tests point this at a directory holding their own ascend_toolkit_install.info; containers never set it.
TOOLKIT_ENV = "VLLM_SIM_TOOLKIT_DIR"

# CANN major.minor -> the first driver (major, minor) it runs on.
FIRST_DRIVER: dict[tuple[int, int], tuple[int, int]] = {(8, 3): (25, 0)}

_RELEASE = re.compile(r"^(\d+)\.(\d+)")


def _read_key(path: str, key: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                name, _, value = line.strip().partition("=")
                if name == key:
                    return value.strip()
    except OSError:
        return None
    return None


def _toolkit_info() -> str | None:
    override = os.environ.get(TOOLKIT_ENV)
    if override:
        return os.path.join(override, "ascend_toolkit_install.info")
    found = sorted(glob.glob(TOOLKIT_GLOB))
    return found[0] if found else None


def _release(text: str | None) -> tuple[int, int] | None:
    match = _RELEASE.match(text or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def check_driver() -> Failure | None:
    """A Failure when the mounted driver is older than the image's CANN runs on; None when it runs (or either
    version cannot be read, as in tests without a toolkit record)."""
    info = _toolkit_info()
    cann = _read_key(info, "version") if info else None
    driver_dir = os.environ.get(DRIVER_DIR_ENV) or DEFAULT_DRIVER_DIR
    version_info = os.path.join(os.path.dirname(driver_dir.rstrip("/")), "version.info")
    driver = _read_key(version_info, "Version")
    cann_release, driver_release = _release(cann), _release(driver)
    if cann_release is None or driver_release is None:
        return None
    first = FIRST_DRIVER.get(cann_release)
    if first is None or driver_release >= first:
        return None
    final = (f"RuntimeError: NPU initialization failed: CANN {cann} does not run on the Ascend driver {driver} "
             f"({version_info}); it needs driver {first[0]}.{first[1]} or newer")
    return Failure(tracebacks.INIT_DEVICE, final)
