# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Pure parser for the Prometheus text exposition format (version 0.0.4), as vLLM serves it on ``/metrics``.

Nothing here does I/O. A sample line is ``name{label="value",...} value [timestamp]``; ``# HELP`` and ``# TYPE``
lines and other comments are skipped. Label values may hold escaped quotes (``\\"``), backslashes (``\\\\``),
newlines (``\\n``), commas and braces. Values may be ``+Inf``, ``-Inf`` or ``NaN``.
"""

from __future__ import annotations

import re

_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}

Sample = tuple[str, dict[str, str], float]


def _skip_blanks(line: str, pos: int) -> int:
    while pos < len(line) and line[pos] in " \t":
        pos += 1
    return pos


def _parse_labels(line: str, pos: int, number: int) -> tuple[dict[str, str], int]:
    """Labels starting after ``{``; returns them and the position after ``}``."""
    labels: dict[str, str] = {}
    while True:
        pos = _skip_blanks(line, pos)
        if pos < len(line) and line[pos] == "}":
            return labels, pos + 1
        match = _LABEL_RE.match(line, pos)
        if not match:
            raise ValueError(f"line {number}: expected a label name at column {pos + 1}: {line!r}")
        name = match.group(0)
        pos = _skip_blanks(line, match.end())
        if pos >= len(line) or line[pos] != "=":
            raise ValueError(f"line {number}: expected '=' after label {name!r}: {line!r}")
        pos = _skip_blanks(line, pos + 1)
        if pos >= len(line) or line[pos] != '"':
            raise ValueError(f"line {number}: the value of label {name!r} is not quoted: {line!r}")
        pos += 1
        chars: list[str] = []
        while True:
            if pos >= len(line):
                raise ValueError(f"line {number}: unterminated value of label {name!r}: {line!r}")
            char = line[pos]
            if char == "\\":
                if pos + 1 >= len(line):
                    raise ValueError(f"line {number}: unterminated value of label {name!r}: {line!r}")
                escaped = line[pos + 1]
                # Unknown escapes are kept as written, as Prometheus' own parser does.
                chars.append(_ESCAPES.get(escaped, "\\" + escaped))
                pos += 2
                continue
            if char == '"':
                pos += 1
                break
            chars.append(char)
            pos += 1
        labels[name] = "".join(chars)
        pos = _skip_blanks(line, pos)
        if pos < len(line) and line[pos] == ",":
            pos += 1
            continue
        if pos < len(line) and line[pos] == "}":
            return labels, pos + 1
        raise ValueError(f"line {number}: expected ',' or '}}' after label {name!r}: {line!r}")


def _parse_value(text: str, number: int, line: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"line {number}: value {text!r} is not a number: {line!r}") from None


def parse_prometheus_text(text: str) -> list[Sample]:
    """Every sample of a Prometheus text exposition as ``(name, labels, value)``, in order.

    An optional timestamp after the value is accepted and dropped. ValueError names the line number and the line
    when a line is not a comment, blank, or a valid sample.
    """
    samples: list[Sample] = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _NAME_RE.match(line)
        if not match:
            raise ValueError(f"line {number}: expected a metric name: {line!r}")
        name = match.group(0)
        pos = match.end()
        brace = _skip_blanks(line, pos)
        labels: dict[str, str] = {}
        if brace < len(line) and line[brace] == "{":
            labels, pos = _parse_labels(line, brace + 1, number)
        rest = line[pos:].split()
        if not rest or line[pos] not in " \t":
            raise ValueError(f"line {number}: expected a value after {name!r}: {line!r}")
        if len(rest) > 2:
            raise ValueError(f"line {number}: unexpected text after the value: {line!r}")
        value = _parse_value(rest[0], number, line)
        if len(rest) == 2:
            try:
                int(rest[1])
            except ValueError:
                raise ValueError(f"line {number}: timestamp {rest[1]!r} is not an integer: {line!r}") from None
        samples.append((name, labels, value))
    return samples


def gauge_sum(samples: list[Sample], name: str) -> float | None:
    """Sum of the values of all samples called ``name`` (every label set, e.g. every engine); None when absent."""
    values = [value for sample_name, _labels, value in samples if sample_name == name]
    return sum(values) if values else None
