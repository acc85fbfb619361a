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


class FilterModule:
    """Ascend version filters."""

    def filters(self) -> dict[str, object]:
        return {
            "ascend_version_compare": ascend_version_compare,
            "ascend_version_ge": ascend_version_ge,
            "ascend_version_lt": ascend_version_lt,
            "ascend_version_sort": ascend_version_sort,
        }
