# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Jinja2 filters that order Ascend driver/firmware/CANN versions.

``{{ '25.0.rc1' | atlas.vllm.ascend_version_compare('24.1.0') }}`` -> ``1`` (-1, 0 or 1)
``{{ npu_smi_version | atlas.vllm.ascend_version_ge('24.1.0') }}`` -> ``true``
``{{ ['25.2.0', '24.1.rc2'] | atlas.vllm.ascend_version_sort }}`` -> ``['24.1.rc2', '25.2.0']``

``rcN`` sorts before the final release of the same version and a trailing build number (``.3``, ``.b061``)
sorts after the version it extends: ``24.1.rc2 < 24.1.0 < 24.1.0.3 < 25.3.rc1 < 25.3.rc1.b061``.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.atlas.vllm.plugins.module_utils import cann_driver
from ansible_collections.atlas.vllm.plugins.module_utils.ascend_version import compare_versions, sort_versions


def _require_version(value: object, argument: str) -> str:
    # An undefined or empty fact would otherwise compare as the oldest version and pass or fail silently.
    if value is None or not str(value).strip():
        raise AnsibleFilterError(f"ascend_version: {argument} must be a non-empty version string, got {value!r}")
    return str(value)


def ascend_version_compare(version: object, other: object) -> int:
    """-1, 0 or 1 as ``version`` is older than, equal to or newer than ``other``."""
    return compare_versions(_require_version(version, "version"), _require_version(other, "other"))


def ascend_version_ge(version: object, minimum: object) -> bool:
    """True when ``version`` is ``minimum`` or newer."""
    return ascend_version_compare(version, minimum) >= 0


def ascend_version_lt(version: object, limit: object) -> bool:
    """True when ``version`` is older than ``limit``."""
    return ascend_version_compare(version, limit) < 0


def ascend_version_sort(versions: object, reverse: bool = False) -> list[str]:
    """Sort a list of versions oldest first (newest first with ``reverse=true``)."""
    if isinstance(versions, (str, bytes)) or not hasattr(versions, "__iter__"):
        raise AnsibleFilterError(f"ascend_version_sort expects a list, got {type(versions).__name__}")
    return sort_versions([_require_version(item, "list item") for item in versions], reverse=bool(reverse))


def cann_driver_verdict(toolkit_info: object, version_info: object, records: object = None) -> dict[str, str]:
    """``{status, cann, driver, detail, action}`` for an image's ascend_toolkit_install.info text and a node's
    driver version.info text; ``records`` adds or replaces CANN releases (``{cann: {oldest, verified, paired}}``)."""
    if records is not None and not isinstance(records, dict):
        raise AnsibleFilterError(f"cann_driver_verdict: records must be a mapping of CANN releases, got {records!r}")
    for cann, record in (records or {}).items():
        if not isinstance(record, dict) or not str(record.get("oldest") or "").strip():
            raise AnsibleFilterError(f"cann_driver_verdict: the record for CANN {cann} needs an 'oldest' driver, "
                                     f"got {record!r}")
    cann = cann_driver.toolkit_version(str(toolkit_info or ""))
    driver = cann_driver.driver_version(str(version_info or ""))
    result = cann_driver.verdict(cann, driver, cann_driver.table_from_settings(records))
    return {**result, "cann": cann or "", "driver": driver or ""}


def image_oldest_driver(tag: object) -> str:
    """The oldest driver the CANN of a recorded vLLM-Ascend image tag runs on (``v0.11.0rc1`` -> ``25.0.RC1``)."""
    oldest = cann_driver.image_oldest_driver(str(tag))
    if oldest is None:
        known = ", ".join(sorted(cann_driver.IMAGE_CANN))
        raise AnsibleFilterError(f"image_oldest_driver: no CANN record for image tag {tag!r} (recorded: {known}); "
                                 "set npu_driver_min_version to the oldest driver that image's CANN runs on")
    return oldest


class FilterModule:
    """Ascend version filters."""

    def filters(self) -> dict[str, object]:
        return {
            "ascend_version_compare": ascend_version_compare,
            "ascend_version_ge": ascend_version_ge,
            "ascend_version_lt": ascend_version_lt,
            "ascend_version_sort": ascend_version_sort,
            "cann_driver_verdict": cann_driver_verdict,
            "image_oldest_driver": image_oldest_driver,
        }
