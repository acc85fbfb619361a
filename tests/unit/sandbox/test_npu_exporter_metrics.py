"""The simulated NPU exporter's /metrics text from a twin node: healthy chips and each fault the twin can inject.

Expected lines are written out as the real exporter prints them (see fixtures_npu_exporter/README.md for where each
element comes from), not produced by the renderer under test.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from atlas_sim.image.npu_exporter import metrics, textformat
from atlas_sim.image.npu_exporter.dcmi import DCMI_INIT_FAILED, LIBRARY_NOT_FOUND, DcmiError, Driver, LibraryMissing
from npu_exporter_support import T0, ExporterNode, card_labels, read_fixture, series

STAMP = f"{int(T0 * 1000)}"


@pytest.fixture
def node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ExporterNode:
    return ExporterNode(tmp_path, monkeypatch)


def test_healthy_chip_whole_body(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    only_chip0 = ExporterNode(tmp_path, monkeypatch, visible=[0])
    assert only_chip0.cache().text() == read_fixture("chip0_healthy.prom")


def test_every_present_chip_has_one_series_per_family(node: ExporterNode) -> None:
    text = node.cache().text()
    assert series(text, "machine_npu_nums") == ["machine_npu_nums 8"]
    health = series(text, "npu_chip_info_health_status")
    assert [line.split('id="')[1].split('"')[0] for line in health] == [str(i) for i in range(8)]
    assert all(line.endswith(f" 1 {STAMP}") for line in health)
    assert series(text, "npu_chip_info_error_code") == []
    assert series(text, "npu_chip_info_hbm_total_memory")[7] == (
        f'npu_chip_info_hbm_total_memory{{container_name="",id="7",model_name="910B3-Ascend-V1",namespace="",'
        f'pcie_bus_info="0000:42:00.0",pod_name="",vdie_id="2B58E12B-9C5C6EEF-1F4E3E43-BC9935E4-C21E3A19"}} 65536 {STAMP}'
    )


def test_npu_unhealthy_fault(node: ExporterNode) -> None:
    node.fault("npu-unhealthy", 3, "Alarm")
    text = node.cache().text()
    assert f"npu_chip_info_health_status{card_labels(3)} 0 {STAMP}" in series(text, "npu_chip_info_health_status")
    # 0x80CB8009, the code npu-smi -t health shows for Alarm, as Go prints a float64 of that size.
    assert series(text, "npu_chip_info_error_code") == [f"npu_chip_info_error_code{card_labels(3)} 2.160820233e+09 {STAMP}"]
    assert "# HELP npu_chip_info_error_code the npu error code\n# TYPE npu_chip_info_error_code gauge\n" in text
    assert f"npu_chip_info_health_status{card_labels(2)} 1 {STAMP}" in text


@pytest.mark.parametrize(("level", "value"), [("Warning", "2.162169857e+09"), ("Critical", "2.162263042e+09")])
def test_every_unhealthy_level_reads_zero(node: ExporterNode, level: str, value: str) -> None:
    node.fault("npu-unhealthy", 0, level)
    text = node.cache().text()
    assert f"npu_chip_info_health_status{card_labels(0)} 0 {STAMP}" in text
    assert f"npu_chip_info_error_code{card_labels(0)} {value} {STAMP}" in text


def test_link_down_fault(node: ExporterNode) -> None:
    node.fault("link-down", 5)
    text = node.cache().text()
    assert f"npu_chip_info_link_status{card_labels(5)} 0 {STAMP}" in text
    # hccn_tool's net health follows a down link to Fault, which dcmi reports as unhealthy.
    assert f"npu_chip_info_network_status{card_labels(5)} 0 {STAMP}" in text
    assert f"npu_chip_info_link_status{card_labels(3)} 1 {STAMP}" in text
    assert f"npu_chip_info_health_status{card_labels(5)} 1 {STAMP}" in text


@pytest.mark.parametrize(("value", "expected"), [("Fault", "0"), ("Init", "1")])
def test_net_health_fault(node: ExporterNode, value: str, expected: str) -> None:
    # dcmi's network health: success (0) and init (6) both count as healthy.
    node.fault("net-health", 1, value)
    text = node.cache().text()
    assert f"npu_chip_info_network_status{card_labels(1)} {expected} {STAMP}" in text
    assert f"npu_chip_info_link_status{card_labels(1)} 1 {STAMP}" in text


def test_hbm_busy_fault(node: ExporterNode) -> None:
    node.fault("hbm-busy", 2, 20000)
    text = node.cache().text()
    assert f"npu_chip_info_hbm_used_memory{card_labels(2)} 23412 {STAMP}" in text
    assert f"npu_chip_info_hbm_total_memory{card_labels(2)} 65536 {STAMP}" in text
    process = [line for line in series(text, "npu_chip_info_process_info") if 'id="2"' in line]
    assert process == [
        'npu_chip_info_process_info{container_id="",container_name="",id="2",model_name="910B3-Ascend-V1",'
        'namespace="",pcie_bus_info="0000:41:00.0",pod_name="",process_id="1067985",'
        f'vdie_id="80C7124C-09BC2E06-92DBD243-B240BC2B-31A09C83"}} 20000 {STAMP}'
    ]


def test_registered_process(node: ExporterNode) -> None:
    driver = node.driver()
    registration = driver.twin.register_process([1], 52000, "VLLMWorker_TP")
    try:
        cache = node.cache()
        text = cache.text()
    finally:
        registration.release()
    assert f"npu_chip_info_hbm_used_memory{card_labels(1)} 55380 {STAMP}" in text
    assert (
        'npu_chip_info_process_info{container_id="",container_name="",id="1",model_name="910B3-Ascend-V1",'
        f'namespace="",pcie_bus_info="0000:01:00.0",pod_name="",process_id="{os.getpid()}",'
        f'vdie_id="DFAAEC8C-5B2083F1-9789E97E-0CA7D84A-FDDB4B3B"}} 52000 {STAMP}'
    ) in text
    idle = [line for line in series(text, "npu_chip_info_process_info") if 'id="0"' in line]
    assert idle[0].split("process_id=")[1].startswith('""') and idle[0].endswith(f" 0 {STAMP}")


def test_device_missing_chip_stays_listed_until_the_chip_list_refresh(node: ExporterNode) -> None:
    cache = node.cache(update_seconds=5)
    node.fault("device-missing", 3)
    (node.twin.dev_dir / "davinci3").unlink()
    node.clock.now = T0 + 5
    assert cache.tick()
    text = cache.text()
    # dcmi answers nothing for the chip: health reads as unhealthy, every other query fails and is left out.
    assert series(text, "machine_npu_nums") == ["machine_npu_nums 8"]
    assert f"npu_chip_info_health_status{card_labels(3)} 0 {int((T0 + 5) * 1000)}" in text
    assert not any('id="3"' in line for line in series(text, "npu_chip_info_power"))
    assert not any('id="3"' in line for line in series(text, "npu_chip_info_hbm_used_memory"))
    node.clock.now = T0 + 60
    cache.tick()
    text = cache.text()
    assert series(text, "machine_npu_nums") == ["machine_npu_nums 7"]
    assert not any('id="3"' in line for line in text.splitlines())


def test_a3_second_chip_has_no_power(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a3 = ExporterNode(tmp_path, monkeypatch, profile="a3")
    text = a3.cache().text()
    assert series(text, "machine_npu_nums") == ["machine_npu_nums 16"]
    power_ids = [line.split('id="')[1].split('"')[0] for line in series(text, "npu_chip_info_power")]
    assert power_ids == ["0", "10", "12", "14", "2", "4", "6", "8"]  # label values sort as strings
    assert 'model_name="Ascend910-Ascend-V1"' in text


def test_metric_groups_switch_families_off(node: ExporterNode) -> None:
    text = node.cache(groups={"hbm"}).text()
    names = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")}
    assert names == {"npu_chip_info_hbm_used_memory", "npu_chip_info_hbm_total_memory"}


# ---------------------------------------------------------------------------------------------------------------
# Value and text encodings
# ---------------------------------------------------------------------------------------------------------------


def test_power_is_float32_tenths_like_dcmi() -> None:
    # The Telegraf sample of the MindCluster 7.3.0 documentation reads npu_chip_info_power=73.9000015258789.
    assert textformat.go_float(metrics.power_watts(739)) == "73.9000015258789"
    assert textformat.go_float(metrics.power_watts(947)) == "94.70000457763672"


@pytest.mark.parametrize(
    ("value", "text"),
    [(8, "8"), (65536, "65536"), (0, "0"), (1, "1"), (-1, "-1"), (123456, "123456"), (1234567, "1.234567e+06"),
     (1e6, "1e+06"), (0.0001, "0.0001"), (0.00001, "1e-05"), (2162169857, "2.162169857e+09"), (54.5, "54.5"),
     (float("inf"), "+Inf"), (float("nan"), "NaN")],
)
def test_go_float(value: float, text: str) -> None:
    assert textformat.go_float(value) == text


def test_escaping_and_sorting() -> None:
    family = textformat.Family("x", 'help with \\ and\nnewline', [
        textformat.Sample({"b": "2", "a": 'quote " and \\'}, 1.5, 7),
        textformat.Sample({"b": "1", "a": 'quote " and \\'}, 2, None),
    ])
    assert textformat.render([family, textformat.Family("empty", "dropped")]) == (
        "# HELP x help with \\\\ and\\nnewline\n# TYPE x gauge\n"
        'x{a="quote \\" and \\\\",b="1"} 2\n'
        'x{a="quote \\" and \\\\",b="2"} 1.5 7\n'
    )


def test_content_type() -> None:
    assert textformat.CONTENT_TYPE == "text/plain; version=0.0.4; charset=utf-8"


# ---------------------------------------------------------------------------------------------------------------
# The driver library
# ---------------------------------------------------------------------------------------------------------------


def test_library_missing_message(tmp_path: Path) -> None:
    with pytest.raises(LibraryMissing) as caught:
        Driver.open({"LD_LIBRARY_PATH": f"{tmp_path}:/usr/local/dcmi-none"})
    assert str(caught.value) == (
        "cannot found valid driver lib, fromEnv: lib path is invalid, [], fromLdCmd: can't find valid lib: EOF"
    ) == LIBRARY_NOT_FOUND


def test_driver_without_state_or_manager(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    node = ExporterNode(tmp_path, monkeypatch)
    (node.twin.dev_dir / "davinci_manager").unlink()
    with pytest.raises(DcmiError) as caught:
        node.driver()
    assert str(caught.value) == DCMI_INIT_FAILED == "dcmi init failed, error code: -8005"
    monkeypatch.setenv("ATLAS_TWIN_STATE_DIR", str(tmp_path / "no-state"))
    with pytest.raises(DcmiError):
        Driver.open(node.environ)
