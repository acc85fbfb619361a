# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Which Ascend drivers (HDK) the CANN inside a serving image runs on, and the verdict for one node.

The CANN release of an image is read from the image itself (``ascend_toolkit_install.info``); the node's driver
from ``/usr/local/Ascend/driver/version.info``. A driver older than ``oldest`` is known not to run that CANN: the
image fails at start. Between ``oldest`` and ``verified`` the pairing is Huawei's documented compatibility but no
public report shows the image running on it. ``paired`` is the HDK release the CANN release was published with.
docs/field-failures.md (section 3) gives the sources of every number here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ansible_collections.atlas.vllm.plugins.module_utils.ascend_version import compare_versions

PASS = "PASS"
WARNING = "WARNING"
CRITICAL = "CRITICAL"

# Where the CANN toolkit records its release inside an image; <arch> is the machine (aarch64 on Atlas 800I A2).
TOOLKIT_INFO_PATH = "/usr/local/Ascend/ascend-toolkit/latest/{arch}-linux/ascend_toolkit_install.info"


@dataclass(frozen=True)
class DriverRange:
    oldest: str
    verified: str
    paired: str
    sources: str


# CANN release (as ascend_toolkit_install.info's version= line spells it) -> the drivers it runs on.
CANN_DRIVERS: dict[str, DriverRange] = {
    "8.3.RC1": DriverRange(
        oldest="25.0.RC1",
        verified="25.2.0",
        paired="25.3.RC1",
        sources=(
            "24.1 fails under CANN 8.3: vllm-ascend #5468; 25.2.0 runs the v0.11.0rc1 image: vllm-ascend #4148; "
            "HDK 25.0.RC1 and later are Huawei's compatibility set for CANN 8.1.RC1-8.5.0 (MindCluster 7.3.0 and "
            "MindSDK 7.3.0 release notes); 25.3.RC1 is published with CANN 8.3.RC1 (Ascend HDK download pairing)"
        ),
    ),
}

# vllm-ascend image tag -> the CANN its Dockerfile builds on (FROM quay.io/ascend/cann:<release>-...).
IMAGE_CANN: dict[str, str] = {
    "v0.11.0rc1": "8.3.RC1",
}

_KEY_RE = re.compile(r"^\s*([A-Za-z_]+)\s*=\s*(.*?)\s*$")


def parse_key_values(text: str | None) -> dict[str, str]:
    """``key=value`` lines (version.info, ascend_toolkit_install.info) as a dict; other lines are ignored."""
    values: dict[str, str] = {}
    for line in (text or "").splitlines():
        match = _KEY_RE.match(line)
        if match:
            values.setdefault(match.group(1), match.group(2))
    return values


def toolkit_version(text: str | None) -> str | None:
    """The CANN release in an ascend_toolkit_install.info (``version=8.3.RC1``), or None."""
    return parse_key_values(text).get("version") or None


def driver_version(text: str | None) -> str | None:
    """The driver release in a driver version.info (``Version=25.2.0``), or None."""
    return parse_key_values(text).get("Version") or None


def _find(cann: str, table: dict[str, DriverRange]) -> DriverRange | None:
    for release, drivers in table.items():
        if release.lower() == cann.lower():
            return drivers
    return None


def image_oldest_driver(tag: str) -> str | None:
    """The oldest driver the CANN of a known vllm-ascend image tag runs on, or None for a tag not recorded."""
    cann = IMAGE_CANN.get(str(tag))
    drivers = _find(cann, CANN_DRIVERS) if cann else None
    return drivers.oldest if drivers else None


def verdict(cann: str | None, driver: str | None, table: dict[str, DriverRange] | None = None) -> dict[str, str]:
    """``{status, detail, action}`` for an image carrying CANN ``cann`` on a node running driver ``driver``."""
    table = CANN_DRIVERS if table is None else table
    if not cann:
        return {"status": CRITICAL, "detail": "the image carries no ascend_toolkit_install.info version= line",
                "action": "check that the image is a vLLM-Ascend image (its CANN toolkit is missing)"}
    if not driver:
        return {"status": CRITICAL, "detail": "the node's driver version.info has no Version= line",
                "action": "install the Ascend HDK driver, or drain the node"}
    drivers = _find(cann, table)
    if drivers is None:
        known = ", ".join(sorted(table)) or "none"
        return {"status": WARNING,
                "detail": f"CANN {cann} has no driver record (recorded: {known}); driver {driver} not checked",
                "action": "confirm the pairing in the CANN release notes and record it in vllm_image_cann_drivers"}
    compatible = f"{drivers.oldest} or newer (seen running: {drivers.verified}; published with: {drivers.paired})"
    if compare_versions(driver, drivers.oldest) < 0:
        return {"status": CRITICAL,
                "detail": f"driver {driver} is older than CANN {cann} runs on; compatible drivers: {compatible}",
                "action": f"upgrade the Ascend HDK driver and firmware to {drivers.paired} (at least "
                          f"{drivers.oldest}) and reboot, serve an image built on an older CANN, or drain the node"}
    if compare_versions(driver, drivers.verified) < 0:
        return {"status": WARNING,
                "detail": f"driver {driver} is in CANN {cann}'s compatibility set but not seen running it; "
                          f"compatible drivers: {compatible}",
                "action": f"watch the first start; upgrading to {drivers.paired} is the published pairing"}
    return {"status": PASS, "detail": f"driver {driver} runs CANN {cann} (compatible: {compatible})", "action": ""}


def table_from_settings(entries: dict[str, dict[str, str]] | None) -> dict[str, DriverRange]:
    """The built-in table with an operator's own records (``{cann: {oldest, verified, paired}}``) on top."""
    table = dict(CANN_DRIVERS)
    for cann, record in (entries or {}).items():
        oldest = str(record["oldest"])
        table = {key: value for key, value in table.items() if key.lower() != str(cann).lower()}
        table[str(cann)] = DriverRange(
            oldest=oldest,
            verified=str(record.get("verified") or oldest),
            paired=str(record.get("paired") or record.get("verified") or oldest),
            sources="vllm_image_cann_drivers",
        )
    return table
