"""Prometheus text exposition format 0.0.4, byte for byte as the real exporter's client libraries write it.

The exporter is built with client_golang v1.15.0 and prometheus/common v0.42.0: families sorted by name and empty
ones dropped, label pairs sorted by name, samples sorted by their label values, HELP and label values escaped,
values printed with Go's strconv.FormatFloat(v, 'g', -1, 64) and timestamps in milliseconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True)
class Sample:
    labels: dict[str, str]
    value: float
    timestamp_ms: int | None = None


@dataclass
class Family:
    name: str
    help: str
    samples: list[Sample] = field(default_factory=list)
    type: str = "gauge"


def go_float(value: float) -> str:
    """strconv.FormatFloat(value, 'g', -1, 64) after expfmt's shortcuts for 1, 0, -1, NaN and the infinities."""
    if value == 1:
        return "1"
    if value == 0:
        return "0"
    if value == -1:
        return "-1"
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    # repr() gives the shortest digits that round-trip, which is what Go's precision -1 picks as well.
    sign, digits_tuple, exponent = Decimal(repr(float(value))).normalize().as_tuple()
    digits = "".join(map(str, digits_tuple))
    point = len(digits) + int(exponent)  # position of the decimal point after the first digit's place
    exp10 = point - 1
    prefix = "-" if sign else ""
    if exp10 < -4 or exp10 >= 6:  # Go switches to %e at exponent 6 when the precision is the shortest one
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if exp10 < 0 else '+'}{abs(exp10):02d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return prefix + digits + "0" * (point - len(digits))
    return f"{prefix}{digits[:point]}.{digits[point:]}"


def escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def escape_label_value(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _sort_key(sample: Sample) -> tuple:
    # client_golang's metricSorter: fewer labels first, then label values in label-name order, then timestamps
    # (a sample without one sorts last).
    values = tuple(sample.labels[name] for name in sorted(sample.labels))
    stamp = (1, 0) if sample.timestamp_ms is None else (0, sample.timestamp_ms)
    return (len(values), values, stamp)


def _sample_line(name: str, sample: Sample) -> str:
    line = name
    if sample.labels:
        pairs = ",".join(f'{key}="{escape_label_value(sample.labels[key])}"' for key in sorted(sample.labels))
        line += "{" + pairs + "}"
    line += " " + go_float(sample.value)
    if sample.timestamp_ms is not None:
        line += f" {sample.timestamp_ms}"
    return line + "\n"


def render(families: list[Family]) -> str:
    out: list[str] = []
    for family in sorted((f for f in families if f.samples), key=lambda f: f.name):
        out.append(f"# HELP {family.name} {escape_help(family.help)}\n")
        out.append(f"# TYPE {family.name} {family.type}\n")
        out.extend(_sample_line(family.name, sample) for sample in sorted(family.samples, key=_sort_key))
    return "".join(out)
