"""The exporter serves its cache: a fault shows at the first collection after it, every -updateTime seconds."""

from __future__ import annotations

from pathlib import Path

import pytest
from npu_exporter_support import T0, ExporterNode, card_labels, series


@pytest.fixture
def node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ExporterNode:
    return ExporterNode(tmp_path, monkeypatch)


def health_of_chip3(text: str) -> str:
    (line,) = [line for line in series(text, "npu_chip_info_health_status") if card_labels(3) in line]
    return line.split("} ", 1)[1]


def test_fault_shows_at_the_next_update_not_before(node: ExporterNode) -> None:
    cache = node.cache(update_seconds=5)
    node.fault("npu-unhealthy", 3, "Critical")
    node.clock.now = T0 + 4.999
    assert not cache.tick()
    assert health_of_chip3(cache.text()) == f"1 {int(T0 * 1000)}"
    node.clock.now = T0 + 5
    assert cache.tick()
    assert health_of_chip3(cache.text()) == f"0 {int((T0 + 5) * 1000)}"


def test_update_time_sets_the_period(node: ExporterNode) -> None:
    cache = node.cache(update_seconds=60)
    node.fault("link-down", 3)
    node.clock.now = T0 + 59
    assert not cache.tick()
    assert f"npu_chip_info_link_status{card_labels(3)} 1 " in cache.text()
    node.clock.now = T0 + 60
    assert cache.tick()
    assert f"npu_chip_info_link_status{card_labels(3)} 0 " in cache.text()


def test_ticks_keep_their_phase_and_late_ones_are_dropped(node: ExporterNode) -> None:
    cache = node.cache(update_seconds=5)
    node.clock.now = T0 + 17  # ticks at +5, +10 and +15 were missed: one collection, next due at +20
    assert cache.tick()
    assert not cache.tick()
    assert cache.seconds_to_next() == pytest.approx(3)
    node.clock.now = T0 + 20
    assert cache.tick()


def test_scrapes_do_not_collect(node: ExporterNode) -> None:
    cache = node.cache(update_seconds=5)
    first = cache.text()
    node.fault("hbm-busy", 0, 1000)
    node.clock.now = T0 + 3
    assert cache.text() == first


def test_readings_expire_after_100_seconds_without_a_collection(node: ExporterNode) -> None:
    cache = node.cache(update_seconds=5)
    node.clock.now = T0 + 100
    assert series(cache.text(), "npu_chip_info_health_status")
    node.clock.now = T0 + 100.5
    text = cache.text()
    assert series(text, "npu_chip_info_health_status") == []
    assert series(text, "machine_npu_nums") == ["machine_npu_nums 8"]
