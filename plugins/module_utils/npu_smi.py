# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Pure parsers for ``npu-smi`` output.

Nothing here runs commands or touches files, so the parsers can be tested against recorded output alone.

The ``npu-smi info`` table is parsed by its ``|``-separated cells rather than by byte offsets: the 910B, A3 and
310P layouts use different column widths, and real output has irregular spacing such as ``54601/ 65536``.
"""

from __future__ import annotations

import re
from typing import Any

# Values npu-smi prints when a metric does not apply or is unavailable.
_MISSING = {"", "NA", "N/A", "-", "--"}

# Chip rows carry the PCI address in their second cell; this is what tells them apart from NPU rows.
_BUS_ID_RE = re.compile(r"^[0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-7]$")
_VERSION_RE = re.compile(r"Version:\s*(\S+)")
_SLASH_RE = re.compile(r"\s*/\s*")
_INT_RE = re.compile(r"^-?\d+$")
_KEY_VALUE_RE = re.compile(r"^\s*([^:]+?)\s*:\s?(.*)$")

# Used when the table header is absent (e.g. output that was cut), matching the 910B layout.
_DEFAULT_NPU_ROW_HEADER = ["Power(W)", "Temp(C)", "Hugepages-Usage(page)"]
_DEFAULT_CHIP_ROW_HEADER = ["AICore(%)", "Memory-Usage(MB)", "HBM-Usage(MB)"]

_MAPPING_DEFAULT_HEADER = ["NPU ID", "Chip ID", "Chip Logic ID", "Chip Name"]


def to_int(value: str | None) -> int | None:
    """Return ``value`` as int, or None for NA/``-``/unparsable cells."""
    if value is None:
        return None
    text = value.strip()
    if text in _MISSING or not _INT_RE.match(text):
        return None
    return int(text)


def to_float(value: str | None) -> float | None:
    """Return ``value`` as float, or None for NA/``-``/unparsable cells."""
    if value is None or value.strip() in _MISSING:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None


def none_if_missing(value: str | None) -> str | None:
    """Map npu-smi's placeholders (NA, ``-``) to None and strip anything else."""
    if value is None:
        return None
    text = value.strip()
    return None if text in _MISSING else text


def split_cells(line: str) -> list[str] | None:
    """Split a ``| a | b |`` table row into stripped cells; None for lines that are not table rows."""
    text = line.strip()
    if len(text) < 2 or not text.startswith("|") or not text.endswith("|"):
        return None
    return [cell.strip() for cell in text[1:-1].split("|")]


def _metric_tokens(cell: str) -> list[str]:
    """Split a metrics cell into tokens, keeping ``used / total`` pairs together as ``used/total``."""
    return _SLASH_RE.sub("/", cell).split()


def _metric_name(header_token: str) -> str | None:
    token = header_token.lower()
    for marker, name in (
        ("power", "power_w"),
        ("temp", "temp_c"),
        ("hugepages", "hugepages"),
        ("aicore", "aicore_pct"),
        ("hbm", "hbm"),
        ("memory", "memory"),
    ):
        if marker in token:
            return name
    return None


def _named_metrics(cell: str, header: list[str]) -> dict[str, str]:
    """Pair each value token of a metrics cell with the metric named by the header token above it."""
    metrics: dict[str, str] = {}
    # Short rows are normal (a column the layout lacks), and strict= needs Python 3.10 on the managed node.
    for header_token, value in zip(header, _metric_tokens(cell)):  # noqa: B905
        name = _metric_name(header_token)
        if name is not None:
            metrics[name] = value
    return metrics


def _usage_pair(value: str | None) -> tuple[int | None, int | None]:
    if value is None or "/" not in value:
        return None, None
    used, dummy, total = value.partition("/")
    return to_int(used), to_int(total)


def _empty_device(npu_id: int, name: str, health: str, npu_metrics: dict[str, str]) -> dict[str, Any]:
    return {
        "npu_id": npu_id,
        "chip_id": None,
        "name": name,
        "health": health,
        "power_w": to_float(npu_metrics.get("power_w")),
        "temp_c": to_int(npu_metrics.get("temp_c")),
        "aicore_pct": None,
        "hbm_used_mb": None,
        "hbm_total_mb": None,
        "memory_used_mb": None,
        "memory_total_mb": None,
        "bus_id": None,
    }


def _fill_chip(device: dict[str, Any], chip_cells: list[str], header: list[str]) -> None:
    ids = chip_cells[0].split()
    device["chip_id"] = to_int(ids[0]) if ids else None
    device["bus_id"] = none_if_missing(chip_cells[1])
    metrics = _named_metrics(chip_cells[2], header) if len(chip_cells) > 2 else {}
    device["aicore_pct"] = to_int(metrics.get("aicore_pct"))
    device["memory_used_mb"], device["memory_total_mb"] = _usage_pair(metrics.get("memory"))
    device["hbm_used_mb"], device["hbm_total_mb"] = _usage_pair(metrics.get("hbm"))


def _parse_npu_row(cells: list[str]) -> tuple[int, str] | None:
    """Return (npu_id, name) when the first cell looks like ``<int> <name>``."""
    parts = cells[0].split(None, 1)
    if len(parts) != 2 or to_int(parts[0]) is None:
        return None
    return int(parts[0]), parts[1].strip()


def _parse_process_row(cells: list[str]) -> dict[str, Any] | None:
    ids = cells[0].split()
    if len(ids) < 2 or to_int(ids[0]) is None or to_int(ids[1]) is None or to_int(cells[1]) is None:
        return None
    return {
        "npu_id": int(ids[0]),
        "chip_id": int(ids[1]),
        "pid": int(cells[1]),
        "name": cells[2],
        "memory_mb": to_int(cells[3]),
    }


def parse_info(text: str) -> dict[str, Any]:
    """Parse ``npu-smi info``.

    Returns ``{"version", "count", "devices", "processes"}`` with one device entry per chip. An NPU row whose
    chip row is missing (truncated output) still yields an entry, with the chip-level fields set to None,
    so its health is not lost. Lines that are not recognised are skipped.
    """
    version: str | None = None
    npu_header = list(_DEFAULT_NPU_ROW_HEADER)
    chip_header = list(_DEFAULT_CHIP_ROW_HEADER)
    devices: list[dict[str, Any]] = []
    processes: list[dict[str, Any]] = []
    # The NPU row seen last, waiting for its chip row.
    pending: dict[str, Any] | None = None

    for line in text.splitlines():
        cells = split_cells(line)
        if cells is None:
            continue
        if len(cells) == 1:
            found = _VERSION_RE.search(cells[0])
            if found and version is None:
                version = found.group(1)
            continue
        if len(cells) == 3:
            first = cells[0].split()
            if first and first[0] == "NPU" and "Name" in cells[0]:
                npu_header = cells[2].split()
                continue
            if first and first[0] == "Chip" and "Bus-Id" in cells[1]:
                chip_header = cells[2].split()
                continue
            if _BUS_ID_RE.match(cells[1]):
                if pending is not None:
                    _fill_chip(pending, cells, chip_header)
                    pending = None
                continue
            npu_row = _parse_npu_row(cells)
            if npu_row is not None:
                npu_id, name = npu_row
                pending = _empty_device(npu_id, name, cells[1], _named_metrics(cells[2], npu_header))
                devices.append(pending)
            continue
        if len(cells) == 4:
            process = _parse_process_row(cells)
            if process is not None:
                processes.append(process)
    return {
        "version": version,
        "count": len({device["npu_id"] for device in devices}),
        "devices": devices,
        "processes": processes,
    }


def parse_mapping(text: str) -> list[dict[str, Any]]:
    """Parse ``npu-smi info -m`` into ``[{npu_id, chip_id, chip_logic_id, chip_name}]``.

    Columns are separated by runs of two or more spaces, so names such as ``Ascend 910B4`` stay whole.
    The Mcu row has ``-`` as its logic id, which becomes None.
    """
    header = list(_MAPPING_DEFAULT_HEADER)
    rows: list[dict[str, Any]] = []
    for line in text.splitlines():
        fields = re.split(r"\s{2,}", line.strip())
        if len(fields) < 2:
            continue
        if fields[0] == "NPU ID":
            header = fields
            continue
        if to_int(fields[0]) is None:
            continue
        named = dict(zip(header, fields))  # noqa: B905 - rows may be shorter than the header
        rows.append(
            {
                "npu_id": to_int(named.get("NPU ID")),
                "chip_id": to_int(named.get("Chip ID")),
                "chip_logic_id": to_int(named.get("Chip Logic ID")),
                "chip_name": none_if_missing(named.get("Chip Name")),
            }
        )
    return rows


def normalize_key(key: str) -> str:
    """Turn an npu-smi label such as ``HBM Usage Rate(%)`` into ``hbm_usage_rate_pct``."""
    text = key.strip().lower().replace("(%)", "_pct").replace("(mb)", "_mb").replace("(c)", "_c").replace("(w)", "_w")
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def parse_key_value_pairs(text: str) -> list[tuple[str, str]]:
    """Return the ``Key : Value`` pairs of colon-format output in order, keys as printed.

    Only the first colon separates key and value, so values such as ``0000:C1:00.0`` survive.
    """
    pairs = []
    for line in text.splitlines():
        if not line.strip() or line.strip().startswith("("):
            continue
        match = _KEY_VALUE_RE.match(line)
        if match:
            pairs.append((match.group(1), match.group(2).strip()))
    return pairs


def parse_key_value(text: str) -> dict[str, str]:
    """Parse colon-format output into ``{normalized_key: value}``; the first occurrence of a key wins."""
    result: dict[str, str] = {}
    for key, value in parse_key_value_pairs(text):
        result.setdefault(normalize_key(key), value)
    return result


def _coerce(key: str, value: str) -> Any:
    # Version strings like "25" must stay strings; every other all-digit value is a count or an id.
    if "version" not in key and _INT_RE.match(value):
        return int(value)
    return value


def parse_board(text: str) -> dict[str, Any]:
    """Parse ``npu-smi info -t board -i N [-c C]``; all-digit values become ints (except versions)."""
    return {key: _coerce(key, value) for key, value in parse_key_value(text).items()}


def parse_usages(text: str) -> dict[str, Any]:
    """Parse ``npu-smi info -t usages -i N``; numeric values become ints, NA becomes None."""
    result: dict[str, Any] = {}
    for key, value in parse_key_value(text).items():
        result[key] = None if value in _MISSING else _coerce(key, value)
    return result


def parse_health(text: str) -> dict[str, str | None]:
    """Parse ``npu-smi info -t health -i N [-c C]`` into ``{health, error_code, error_information}``."""
    values = parse_key_value(text)
    return {
        "health": none_if_missing(values.get("health_status")),
        "error_code": none_if_missing(values.get("error_code")),
        "error_information": none_if_missing(values.get("error_information")),
    }


def parse_list(text: str) -> dict[str, Any]:
    """Parse ``npu-smi info -l`` into ``{"total_count": int, "npus": [{npu_id, chip_count, ...}]}``.

    Each ``NPU ID`` line starts a new entry; other keys in the block are added to that entry.
    """
    total: int | None = None
    npus: list[dict[str, Any]] = []
    for key, value in parse_key_value_pairs(text):
        name = normalize_key(key)
        if name == "total_count":
            total = to_int(value)
        elif name == "npu_id":
            npus.append({"npu_id": to_int(value)})
        elif npus:
            npus[-1][name] = _coerce(name, value)
    return {"total_count": total, "npus": npus}


def chips_per_npu(devices: list[dict[str, Any]]) -> int:
    """Chips per NPU id in parsed ``devices``: 2 on A3 (two chips per NPU id), 1 on A2."""
    per_npu: dict[Any, int] = {}
    for device in devices:
        per_npu[device.get("npu_id")] = per_npu.get(device.get("npu_id"), 0) + 1
    return max(per_npu.values(), default=1)


def device_logic_id(device: dict[str, Any], chips: int) -> int:
    """A parsed device's logic id (the N of /dev/davinciN): ``npu-smi info -m``'s when known, else the usual
    numbering, NPU id x chips per NPU + chip id."""
    if device.get("logic_id") is not None:
        return int(device["logic_id"])
    return int(device["npu_id"]) * chips + int(device.get("chip_id") or 0)
