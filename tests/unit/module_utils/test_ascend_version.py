"""Ordering of Ascend driver versions."""

from __future__ import annotations

import itertools
import random

import pytest
from ansible_collections.atlas.vllm.plugins.module_utils.ascend_version import (
    ascend_version_key,
    compare_versions,
    sort_versions,
)

# The order the readiness checks rely on; every version here appears in the reference or its sources.
ORDERED = ["24.1.rc2", "24.1.0", "24.1.0.3", "25.0.rc1", "25.0.rc1.1", "25.2.0", "25.3.rc1", "25.3.rc1.b061"]


@pytest.mark.parametrize(("older", "newer"), list(itertools.combinations(ORDERED, 2)))
def test_every_pair_is_ordered(older, newer):
    assert compare_versions(older, newer) == -1
    assert compare_versions(newer, older) == 1


@pytest.mark.parametrize("version", ORDERED)
def test_equal_to_itself(version):
    assert compare_versions(version, version) == 0


def test_sort_restores_order():
    shuffled = ORDERED[:]
    random.Random(4).shuffle(shuffled)
    assert sort_versions(shuffled) == ORDERED
    assert sorted(shuffled, key=ascend_version_key) == ORDERED
    assert sort_versions(shuffled, reverse=True) == ORDERED[::-1]


@pytest.mark.parametrize(
    ("a", "b"),
    [("24.1.RC2", "24.1.rc2"), ("25.3.RC1.B061", "25.3.rc1.b061"), ("v25.2.0", "25.2.0"), ("24.1", "24.1.0")],
)
def test_equivalent_spellings(a, b):
    assert compare_versions(a, b) == 0


@pytest.mark.parametrize(
    ("older", "newer"),
    [
        ("24.1.rc1", "24.1.rc2"),
        ("24.1.rc2", "24.1.rc10"),
        ("23.0.5", "24.1.rc1"),
        ("24.1.rc3", "24.1"),
        ("8.3.RC1", "8.3.RC2"),
        ("8.3.RC2.alpha003", "8.3.RC2"),
        ("25.3.rc1.b061", "25.3.rc1.b100"),
        ("9.0.0", "10.0.0"),
    ],
)
def test_more_orderings(older, newer):
    assert compare_versions(older, newer) == -1


def test_unusual_components_do_not_raise():
    assert compare_versions("25.x.0", "25.x.0") == 0
    assert compare_versions("25.2.0", "25.2.0-hotfix") in (-1, 1)


def test_long_versions_compare_beyond_key_width():
    assert compare_versions("1.2.3.4.5.6.7.8.9", "1.2.3.4.5.6.7.8.10") == -1
