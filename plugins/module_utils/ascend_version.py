# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Ordering of Ascend driver/firmware/CANN version strings.

Ascend versions mix release numbers, release candidates and build suffixes:
``24.1.rc2 < 24.1.0 < 24.1.0.3 < 25.0.rc1 < 25.0.rc1.1 < 25.3.rc1 < 25.3.rc1.b061``.
Plain string or ``LooseVersion`` comparison gets these wrong, because ``rcN`` must sort before
the final release at the same position and a trailing build number must sort after the version it extends.
"""

from __future__ import annotations

import re

# A component is a tuple (rank, number, text). Rank orders the kinds of component at the same position:
# a release candidate is older than the final release, and a final release (an absent component counts as
# final ``0``) is older than any number or build that extends it.
_RANK_PRERELEASE = 0
_RANK_RELEASE = 1

# Markers that make a component a pre-release. Ascend uses "rc"/"RC"; alpha/beta appear in CANN community builds.
_PRERELEASE_MARKERS = {"alpha": 0, "a": 0, "beta": 1, "b": 1, "rc": 2}
# After an rc, or past the third component, "bNNN"/"tNNN"/"spcNNN" are build or patch numbers (25.3.rc1.b061)
# and sort after the version they extend; in the first three components "b" still reads as beta.
_BUILD_MARKERS = {"b", "t", "spc", "sp", "patch", "p"}

_COMPONENT_RE = re.compile(r"^([a-z]*)(\d*)([a-z0-9]*)$")
_FINAL = (_RANK_RELEASE, 0, 0, "")
# Sort keys are padded to at least this many components so tuples of different lengths compare correctly.
_KEY_WIDTH = 8


def _component_key(component: str, index: int, seen_prerelease: bool) -> tuple[int, int, int, str]:
    match = _COMPONENT_RE.match(component)
    if not match:
        # Unknown shapes still need a total order; keep them after releases and compare their text.
        return (_RANK_RELEASE, 0, 1, component)
    prefix, digits, rest = match.groups()
    number = int(digits) if digits else 0
    if not prefix:
        return (_RANK_RELEASE, number, 0, rest)
    is_build_suffix = prefix in _BUILD_MARKERS and (seen_prerelease or index >= 3)
    if prefix in _PRERELEASE_MARKERS and not is_build_suffix:
        return (_RANK_PRERELEASE, _PRERELEASE_MARKERS[prefix] * 1_000_000 + number, 0, rest)
    # A build/patch suffix extends the version before it, so it ranks like a release number.
    return (_RANK_RELEASE, number, 1, prefix + rest)


def ascend_version_key(version: str) -> tuple[tuple[int, int, int, str], ...]:
    """Return a sort key for an Ascend version string (case-insensitive, leading ``v`` ignored)."""
    text = str(version).strip().lower()
    if text.startswith("v") and text[1:2].isdigit():
        text = text[1:]
    components = [part for part in re.split(r"[.\-_]", text) if part]
    keys = []
    seen_prerelease = False
    for index, component in enumerate(components):
        key = _component_key(component, index, seen_prerelease)
        seen_prerelease = seen_prerelease or key[0] == _RANK_PRERELEASE
        keys.append(key)
    keys.extend([_FINAL] * (_KEY_WIDTH - len(keys)))
    return tuple(keys)


def _padded(a: tuple, b: tuple) -> tuple[tuple, tuple]:
    width = max(len(a), len(b))
    return a + (_FINAL,) * (width - len(a)), b + (_FINAL,) * (width - len(b))


def compare_versions(a: str, b: str) -> int:
    """Compare two Ascend versions: -1 if ``a < b``, 0 if equal, 1 if ``a > b``."""
    key_a, key_b = _padded(ascend_version_key(a), ascend_version_key(b))
    return (key_a > key_b) - (key_a < key_b)


def sort_versions(versions: list[str], reverse: bool = False) -> list[str]:
    """Sort version strings oldest first (newest first with ``reverse``)."""
    return sorted(versions, key=ascend_version_key, reverse=reverse)
