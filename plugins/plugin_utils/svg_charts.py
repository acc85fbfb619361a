# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Charts as inline SVG text, drawn on the controller, so that a report page shows them with scripts disabled and
without fetching anything. Colours come from CSS classes the page defines; every value is also written as text and
in a ``<title>`` (the tooltip), so no chart relies on colour alone. Every text is escaped here.
"""

from __future__ import annotations

import math
from html import escape
from typing import NamedTuple

_LABEL_WIDTH = 250
_PLOT_WIDTH = 440
_VALUE_WIDTH = 150
_BAR_HEIGHT = 14
_BAR_GAP = 3
_GROUP_GAP = 10
_AXIS_HEIGHT = 28
_LABEL_CHARS = 38


class Bar(NamedTuple):
    """One bar: ``series`` names it within its row (``mean``, ``P99``); a None ``value`` draws ``note`` alone."""

    series: str
    value: float | None
    css_class: str
    note: str = ""


class Row(NamedTuple):
    label: str
    bars: list[Bar]


class Limit(NamedTuple):
    """A dashed line across the chart, such as a service-level objective."""

    value: float
    label: str


def number(value: float) -> str:
    """A figure as people read it: four significant digits at most (108.7, 0.114, 1,234), no trailing zeros."""
    if value == 0:
        return "0"
    digits = max(0, 3 - int(math.floor(math.log10(abs(value)))))
    return f"{value:,.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:,.0f}"


def nice_ticks(top: float, count: int = 4) -> list[float]:
    """Round axis ticks from 0 to at least ``top``."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return [step * index for index in range(math.ceil(top / step) + 1)]


def _text(x: float, y: float, content: str, css_class: str, anchor: str = "start") -> str:
    return (f'<text class="{css_class}" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">'
            f"{escape(content)}</text>")


def _short(label: str) -> str:
    return label if len(label) <= _LABEL_CHARS else label[:_LABEL_CHARS - 1] + "\u2026"


def _svg(chart_id: str, caption: str, width: int, height: int, body: list[str]) -> str:
    title_id = f"{chart_id}-title"
    return (f'<svg id="{escape(chart_id)}" class="chart" role="img" aria-labelledby="{escape(title_id)}" '
            f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
            f'<title id="{escape(title_id)}">{escape(caption)}</title>' + "".join(body) + "</svg>")


def bar_chart(chart_id: str, caption: str, rows: list[Row], unit: str, limit: Limit | None = None) -> str:
    """Horizontal bars, one group per row, on one scale from 0."""
    values = [measure.value for row in rows for measure in row.bars if measure.value is not None]
    ticks = nice_ticks(max([*values, limit.value if limit else 0, 0.0]))
    scale = _PLOT_WIDTH / ticks[-1]
    plot_left = _LABEL_WIDTH
    body: list[str] = []
    y = 6.0
    for row in rows:
        body.append(f'<g class="row"><title>{escape(row.label)}</title>')
        body.append(_text(plot_left - 8, y + _BAR_HEIGHT - 3, _short(row.label), "label", "end"))
        for measure in row.bars:
            name = f"{row.label} {measure.series}".strip()
            baseline = y + _BAR_HEIGHT - 3
            if measure.value is None:
                body.append(_text(plot_left + 4, baseline, measure.note or "no value", f"note {measure.css_class}"))
            else:
                width = max(measure.value * scale, 1.0)
                shown = f"{measure.series} {number(measure.value)} {unit}".strip()
                shown += f" ({measure.note})" if measure.note else ""
                body.append(f'<rect class="bar {escape(measure.css_class)}" x="{plot_left}" y="{y:.1f}" '
                            f'width="{width:.1f}" height="{_BAR_HEIGHT}"><title>{escape(name)}: '
                            f"{escape(number(measure.value))} {escape(unit)}</title></rect>")
                body.append(_text(plot_left + width + 4, baseline, shown, "value"))
            y += _BAR_HEIGHT + _BAR_GAP
        body.append("</g>")
        y += _GROUP_GAP - _BAR_GAP
    plot_bottom = y
    # The grid goes first, so the bars are drawn over it.
    body = _x_axis(ticks, scale, plot_left, plot_bottom, unit) + body
    if limit is not None:
        x = plot_left + limit.value * scale
        body.append(f'<line class="limit" x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{plot_bottom:.1f}">'
                    f"<title>{escape(limit.label)}</title></line>")
        body.append(_text(x + 3, 10, limit.label, "limit-label"))
    return _svg(chart_id, caption, _LABEL_WIDTH + _PLOT_WIDTH + _VALUE_WIDTH, int(plot_bottom + _AXIS_HEIGHT), body)


def _x_axis(ticks: list[float], scale: float, left: float, bottom: float, unit: str) -> list[str]:
    parts = [f'<line class="axis" x1="{left}" y1="{bottom:.1f}" x2="{left + ticks[-1] * scale:.1f}" '
             f'y2="{bottom:.1f}"/>']
    for tick in ticks:
        x = left + tick * scale
        parts.append(f'<line class="grid" x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{bottom:.1f}"/>')
        parts.append(_text(x, bottom + 14, number(tick), "tick", "middle"))
    parts.append(_text(left + ticks[-1] * scale + 14, bottom + 14, unit, "tick", "start"))
    return parts


def histogram(chart_id: str, caption: str, values: list[float], unit: str, what: str = "requests") -> str:
    """Vertical bars: how many of ``values`` fall in each of about sqrt(n) equal bins (5 to 30)."""
    width, height, left, bottom = 420, 180, 44, 150
    low, high = min(values), max(values)
    bins = min(30, max(5, math.ceil(math.sqrt(len(values))))) if high > low else 1
    span = (high - low) / bins if high > low else 1.0
    counts = [0] * bins
    for value in values:
        counts[min(int((value - low) / span), bins - 1)] += 1
    top = max(counts)
    bar_width = (width - left - 10) / bins
    body = [f'<line class="axis" x1="{left}" y1="{bottom}" x2="{width - 10}" y2="{bottom}"/>',
            f'<line class="axis" x1="{left}" y1="10" x2="{left}" y2="{bottom}"/>',
            _text(left - 4, 14, str(top), "tick", "end"), _text(left - 4, bottom, "0", "tick", "end")]
    for index, count in enumerate(counts):
        start = low + index * span
        bar_height = (bottom - 10) * count / top
        x = left + index * bar_width
        body.append(f'<rect class="bar bin" x="{x + 0.5:.1f}" y="{bottom - bar_height:.1f}" '
                    f'width="{max(bar_width - 1, 1):.1f}" height="{bar_height:.1f}"><title>'
                    f"{escape(number(start))}\u2013{escape(number(start + span))} {escape(unit)}: {count} "
                    f"{escape(what)}</title></rect>")
    body += [_text(left, bottom + 14, number(low), "tick", "start"),
             _text(width - 10, bottom + 14, f"{number(high)} {unit}", "tick", "end"),
             _text((left + width - 10) / 2, bottom + 28, f"{len(values)} {what}", "tick", "middle")]
    return _svg(chart_id, caption, width, height + 8, body)
