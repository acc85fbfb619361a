"""npu-smi parsers against the verbatim reference samples and synthetic edge cases."""

from __future__ import annotations

import re

import pytest
from ansible_collections.atlas.vllm.plugins.module_utils import npu_smi


def device(npu_id, chip_id, name, health, power_w, temp_c, aicore_pct, hbm, memory, bus_id):
    return {
        "npu_id": npu_id,
        "chip_id": chip_id,
        "name": name,
        "health": health,
        "power_w": power_w,
        "temp_c": temp_c,
        "aicore_pct": aicore_pct,
        "hbm_used_mb": hbm[0],
        "hbm_total_mb": hbm[1],
        "memory_used_mb": memory[0],
        "memory_total_mb": memory[1],
        "bus_id": bus_id,
    }


NO_CHIP = (None, None, None, (None, None), (None, None), None)


# --- npu-smi info: verbatim samples -------------------------------------------------------------------------


def test_info_910b3_idle(fixture_text):
    result = npu_smi.parse_info(fixture_text("npu_smi/info_910b3_idle.txt"))
    assert result == {
        "version": "24.1.0.3",
        # NPUs 1-6 are elided in the sample, so only 0 and 7 are present.
        "count": 2,
        "devices": [
            device(0, 0, "910B3", "OK", 94.7, 54, 0, (3396, 65536), (0, 0), "0000:C1:00.0"),
            device(7, 0, "910B3", "OK", 97.3, 51, 0, (3200, 65536), (0, 0), "0000:42:00.0"),
        ],
        "processes": [],
    }


def test_info_910b3_first_device_matches_documented_example(fixture_text, expected):
    first = npu_smi.parse_info(fixture_text("npu_smi/info_910b3_idle.txt"))["devices"][0]
    assert first == expected["npu_910b3_device_0"]
    assert isinstance(first["power_w"], float)


def test_info_910b2_with_processes_and_no_header(fixture_text):
    result = npu_smi.parse_info(fixture_text("npu_smi/info_910b2_processes.txt"))
    assert result["version"] is None
    assert result["count"] == 2
    assert result["devices"] == [
        # "54601/ 65536": no space before the slash in the real output.
        device(0, 0, "910B2", "OK", 92.2, 33, 0, (54601, 65536), (0, 0), "0000:C1:00.0"),
        device(4, 0, "910B2", "OK", 90.6, 37, 0, (3374, 65536), (0, 0), "0000:01:00.0"),
    ]
    assert result["processes"] == [{"npu_id": 0, "chip_id": 0, "pid": 266776, "name": "python3", "memory_mb": 51277}]


def test_info_process_row_with_empty_name(fixture_text):
    result = npu_smi.parse_info(fixture_text("npu_smi/process_row_empty_name.txt"))
    assert result["devices"] == []
    assert result["processes"] == [{"npu_id": 0, "chip_id": 0, "pid": 1067983, "name": "", "memory_mb": 56373}]


def test_info_310p3_has_no_hbm_column(fixture_text):
    result = npu_smi.parse_info(fixture_text("npu_smi/info_310p3.txt"))
    assert result == {
        "version": "25.2.0",
        "count": 1,
        "devices": [device(64, 0, "310P3", "OK", None, 32, 0, (None, None), (1526, 44280), "0000:03:00.0")],
        "processes": [],
    }


def test_info_alarm_sample_keeps_npu_without_chip_row(fixture_text):
    result = npu_smi.parse_info(fixture_text("npu_smi/info_910b2c_alarm.txt"))
    assert result["version"] == "24.1.rc2"
    assert result["count"] == 2
    assert result["devices"][0] == device(0, 0, "910B2C", "Alarm", 92.6, 50, 0, (3521, 65536), (0, 0), "0000:5A:00.0")
    # The sample ends after NPU 1's first row; its health must still be reported.
    chip_id, aicore, _, hbm, memory, bus = NO_CHIP
    assert result["devices"][1] == device(1, chip_id, "910B2C", "OK", 103.0, 53, aicore, hbm, memory, bus)


# --- npu-smi info: synthetic layouts described in the reference -------------------------------------------


def test_info_a3_two_chips_per_npu(fixture_text):
    result = npu_smi.parse_info(fixture_text("npu_smi/synthetic/info_a3.txt"))
    assert result["version"] == "25.2.0"
    assert result["count"] == 2
    assert [(d["npu_id"], d["chip_id"]) for d in result["devices"]] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert [d["power_w"] for d in result["devices"]] == [168.2, None, 171.9, None]
    assert [d["health"] for d in result["devices"]] == ["OK", "OK", "Warning", "Warning"]
    assert {d["name"] for d in result["devices"]} == {"Ascend910"}
    assert result["devices"][1] == device(0, 1, "Ascend910", "OK", None, 35, 0, (3129, 65536), (0, 0), "0000:9F:00.0")
    assert result["processes"] == [
        {"npu_id": 1, "chip_id": 1, "pid": 402117, "name": "VLLMWorker_TP", "memory_mb": 58011}
    ]


def test_info_910b4_32g_na_cells_and_empty_process_name(fixture_text):
    result = npu_smi.parse_info(fixture_text("npu_smi/synthetic/info_910b4_32g.txt"))
    assert result["version"] == "25.0.rc1.1"
    assert result["devices"] == [
        device(0, 0, "910B4", "OK", 85.1, 45, 0, (2875, 32768), (0, 0), "0000:C1:00.0"),
        device(1, 0, "910B4", "Critical", None, None, None, (None, 32768), (0, 0), "0000:C2:00.0"),
    ]
    assert result["processes"] == [
        {"npu_id": 0, "chip_id": 0, "pid": 1067983, "name": "", "memory_mb": 28011},
        {"npu_id": 0, "chip_id": 0, "pid": 1067990, "name": "rayWorkerDict", "memory_mb": 1024},
    ]


def test_info_310p_large_npu_ids(fixture_text):
    result = npu_smi.parse_info(fixture_text("npu_smi/synthetic/info_310p3_two_cards.txt"))
    assert result["count"] == 2
    assert result["devices"][1] == device(
        32832, 0, "310P3", "Alarm", None, 41, 12, (None, None), (30002, 44280), "0000:83:00.0"
    )
    assert result["processes"] == [{"npu_id": 32832, "chip_id": 0, "pid": 5110, "name": "python3", "memory_mb": 28466}]


def test_info_process_row_for_npu_3():
    row = "| 3       0                 | 1067983       |                          | 56373                   |"
    assert npu_smi.parse_info(row)["processes"] == [
        {"npu_id": 3, "chip_id": 0, "pid": 1067983, "name": "", "memory_mb": 56373}
    ]


@pytest.mark.parametrize("health", ["OK", "Warning", "Alarm", "Critical", "General Warning", "UNKNOWN"])
def test_info_any_health_word(fixture_text, health):
    text = fixture_text("npu_smi/info_910b3_idle.txt").replace("| OK            |", f"| {health:<13} |", 1)
    devices = npu_smi.parse_info(text)["devices"]
    assert [d["health"] for d in devices] == [health, "OK"]


def test_info_does_not_depend_on_column_widths(fixture_text):
    text = fixture_text("npu_smi/info_910b3_idle.txt")
    squeezed = re.sub(r" {2,}", " ", text)
    widened = text.replace("|", "   |   ")
    expected = npu_smi.parse_info(text)
    assert npu_smi.parse_info(squeezed) == expected
    assert npu_smi.parse_info(widened) == expected


def test_info_skips_unknown_lines(fixture_text):
    noise = "\n".join(
        [
            "banner: something npu-smi printed first",
            "(…)",
            "|",
            "||",
            "| not | a | known | row | shape |",
            "| x     910B3               | OK            | 1 2 3 |",
            "| 0                         | 0000:99:00.0  | 0           0    / 0          1 / 2         |",
            "| NPU     Chip              | Process id    | Process name             | Process memory(MB)      |",
            "| a       b                 | c             | d                        | e                       |",
        ]
    )
    # The orphan chip row (no NPU row before it) is dropped, and the rest of the table still parses.
    assert npu_smi.parse_info(noise + "\n" + fixture_text("npu_smi/info_910b3_idle.txt")) == npu_smi.parse_info(
        fixture_text("npu_smi/info_910b3_idle.txt")
    )


@pytest.mark.parametrize("text", ["", "\n\n", "npu-smi: command failed\n", "+-----+\n"])
def test_info_empty_or_garbage(text):
    assert npu_smi.parse_info(text) == {"version": None, "count": 0, "devices": [], "processes": []}


# --- other npu-smi commands ----------------------------------------------------------------------------------


def test_mapping_910b4(fixture_text):
    assert npu_smi.parse_mapping(fixture_text("npu_smi/info_m_910b4.txt")) == [
        {"npu_id": 0, "chip_id": 0, "chip_logic_id": 0, "chip_name": "Ascend 910B4"},
        {"npu_id": 0, "chip_id": 1, "chip_logic_id": None, "chip_name": "Mcu"},
    ]


def test_mapping_a3(fixture_text):
    rows = npu_smi.parse_mapping(fixture_text("npu_smi/synthetic/info_m_a3.txt"))
    assert [(r["npu_id"], r["chip_id"], r["chip_logic_id"]) for r in rows] == [
        (0, 0, 0),
        (0, 1, 1),
        (0, 2, None),
        (1, 0, 2),
        (1, 1, 3),
        (1, 2, None),
    ]


def test_mapping_without_header_uses_default_columns():
    text = "        3" + " " * 30 + "0" + " " * 30 + "3" + " " * 30 + "Ascend 910B3"
    assert npu_smi.parse_mapping(text) == [{"npu_id": 3, "chip_id": 0, "chip_logic_id": 3, "chip_name": "Ascend 910B3"}]


def test_list_910b4(fixture_text):
    assert npu_smi.parse_list(fixture_text("npu_smi/info_l_910b4.txt")) == {
        "total_count": 8,
        "npus": [{"npu_id": 0, "chip_count": 1}],
    }


def test_board_910a(fixture_text):
    assert npu_smi.parse_board(fixture_text("npu_smi/board_910a.txt")) == {
        "npu_id": 0,
        "software_version": "23.0.5",
        "firmware_version": "7.1.0.7.220",
        "compatibility": "OK",
        "board_id": "0x02",
        "chip_count": 1,
    }


def test_board_910b4_chip(fixture_text):
    assert npu_smi.parse_board(fixture_text("npu_smi/board_910b4_chip.txt")) == {
        "npu_id": 0,
        "chip_id": 0,
        "chip_type": "Ascend",
        "chip_name": "910B4",
    }


def test_board_value_with_colons(fixture_text):
    board = npu_smi.parse_board(fixture_text("npu_smi/synthetic/board_910b3_chip.txt"))
    assert board["pcie_bus_info"] == "0000:81:00.0"
    assert board["firmware_version"] == "7.5.0.5.220"


def test_usages_910b1(fixture_text):
    assert npu_smi.parse_usages(fixture_text("npu_smi/usages_910b1.txt")) == {
        "npu_id": 0,
        "chip_count": 1,
        "ddr_capacity_mb": 0,
        "hbm_capacity_mb": 65536,
        "hbm_usage_rate_pct": 4,
        "aicore_usage_rate_pct": 0,
        "chip_id": 0,
    }


def test_health_ok(fixture_text):
    assert npu_smi.parse_health(fixture_text("npu_smi/health_ok.txt")) == {
        "health": "OK",
        "error_code": None,
        "error_information": None,
    }


def test_health_warning(fixture_text):
    assert npu_smi.parse_health(fixture_text("npu_smi/synthetic/health_warning.txt")) == {
        "health": "Warning",
        "error_code": "80E01801",
        "error_information": "node type=SOC, sensor type=Temperature",
    }


def test_health_missing_lines():
    assert npu_smi.parse_health("garbage\n") == {"health": None, "error_code": None, "error_information": None}


@pytest.mark.parametrize(
    ("label", "key"),
    [
        ("HBM Usage Rate(%)", "hbm_usage_rate_pct"),
        ("DDR Capacity(MB)", "ddr_capacity_mb"),
        ("PCIe Bus Info", "pcie_bus_info"),
        ("  Chip Logic ID ", "chip_logic_id"),
    ],
)
def test_normalize_key(label, key):
    assert npu_smi.normalize_key(label) == key


def test_key_value_first_occurrence_wins():
    assert npu_smi.parse_key_value("Chip ID : 0\nChip ID : 1\n") == {"chip_id": "0"}


@pytest.mark.parametrize(
    ("value", "expected"), [("54", 54), (" 7 ", 7), ("NA", None), ("-", None), ("", None), ("1.5", None), (None, None)]
)
def test_to_int(value, expected):
    assert npu_smi.to_int(value) == expected


@pytest.mark.parametrize(("value", "expected"), [("94.7", 94.7), ("103.0", 103.0), ("NA", None), ("-", None)])
def test_to_float(value, expected):
    assert npu_smi.to_float(value) == expected
