# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""The fleet report as one self-contained HTML page, from the data of ``atlas.vllm.fleet_report``.

``{{ report | atlas.vllm.fleet_report_html(npus) }}`` -> the page (str)

Operators often open it from a file on an air-gapped machine, so the page fetches nothing: styles and the one small
script are inline, charts are SVG drawn here, and a Content-Security-Policy forbids any other source. Every grid and
chart is in the HTML itself; the script only adds a filter of the node grid. Each value is escaped, since node names
come from inventories and messages from tool output.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.atlas.vllm.plugins.module_utils.readiness.checks import SEVERITY
from ansible_collections.atlas.vllm.plugins.plugin_utils.fleet_report_views import (
    as_list,
    failing_checks,
    hccl_matrix,
    latency_samples,
    node_npu_count,
    npu_states,
    ping_results,
)
from ansible_collections.atlas.vllm.plugins.plugin_utils.svg_charts import Bar, Limit, Row, bar_chart, histogram, number

# Atlas 800I A2: 8 NPUs per node.
DEFAULT_NPUS = 8
_MARK = {"PASS": "\u2713", "WARNING": "!", "CRITICAL": "\u2717", None: "\u2013"}
_PING_MARK = {"ok": "\u2713", "failed": "\u2717", "not pinged": "\u2013", "unknown": "?"}
_LATENCIES = (("ttft", "TTFT", "time to first token"), ("tpot", "TPOT", "time per output token"))
# How many of an NPU's checks its tooltip lists; the "What to do" section has them all.
_TOOLTIP_CHECKS = 6

_STYLE = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1200px;
padding:0 16px 32px;color:#1b1b1b;background:#fff}
h1{font-size:22px;margin:16px 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ccc}
nav a{margin-right:12px}.summary{font-size:16px}.note,.none{color:#444;font-style:italic}
table{border-collapse:collapse;margin:6px 0}th,td{border:1px solid #bbb;padding:2px 6px;text-align:left}
thead th{background:#f0f0f0}.grid td.npu,.grid td.ping{text-align:center;min-width:30px;white-space:nowrap}
.grid tbody+tbody{border-top:3px solid #555}.wrap{overflow-x:auto}
.status-pass{background:#c8e6c9}.status-warning{background:#ffe082}.status-critical{background:#ef9a9a}
.status-none{background:#e0e0e0;color:#555}.npu-absent{background:#fafafa}
.ping-ok{background:#c8e6c9}.ping-failed{background:#ef9a9a}.ping-not-pinged{background:#e0e0e0}
.ping-unknown{background:#fff3c4}.ping-unplanned{background:#fafafa}.ping-self{background:#555}
.legend span{display:inline-block;padding:0 8px;margin-right:6px;border:1px solid #bbb}
#node-grid.attention-only tr.node:not(.needs-attention){display:none}
details{margin:4px 0}summary{cursor:pointer}.wrap td:first-child{white-space:nowrap}
svg.chart{max-width:100%;height:auto;display:block;margin:6px 0}
svg .label,svg .value,svg .tick,svg .note,svg .limit-label{font-size:11px;fill:#1b1b1b}
svg .grid{stroke:#e4e4e4}svg .axis{stroke:#555}svg .limit{stroke:#c62828;stroke-dasharray:4 3;stroke-width:1.5}
svg .limit-label{fill:#c62828}svg .bar.ready{fill:#43a047}svg .note.not-ready{fill:#c62828}
svg .bar.mean{fill:#90caf9}svg .bar.median{fill:#42a5f5}svg .bar.p99{fill:#1565c0}svg .bar.bin{fill:#1e88e5}
.histograms{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0}figcaption{font-size:12px;color:#333}
"""

# Only adds a filter of the node grid; the page is complete without it. It marks the body so that a test can tell
# it ran.
_SCRIPT = """
(function () {
  var grid = document.getElementById("node-grid");
  var filter = document.getElementById("attention-filter");
  var toggle = document.getElementById("attention-only");
  if (grid && filter && toggle) {
    filter.hidden = false;
    toggle.addEventListener("change", function () {
      grid.classList.toggle("attention-only", toggle.checked);
    });
  }
  document.body.setAttribute("data-script", "ran");
})();
"""

# The browser enforces what the page promises: nothing but its own inline styles, script and data: images.
_POLICY = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _status_class(status: str | None) -> str:
    if status is None:
        return "status-none"
    # A certificate's verdict says OK where a check says PASS.
    if status == "OK":
        return "status-pass"
    # An unknown status is as bad as CRITICAL, as the verdict treats it.
    return f"status-{status.lower()}" if status in SEVERITY else "status-critical"


def _npu_counts(npus: Any) -> Callable[[str], int]:
    """``npus``: one count for every node, or node name to its count; missing nodes have DEFAULT_NPUS."""
    if npus is None:
        return lambda host: DEFAULT_NPUS
    try:
        if isinstance(npus, dict):
            counts = {str(host): int(count) for host, count in npus.items()}
            return lambda host: counts.get(host, DEFAULT_NPUS)
        count = int(npus)
    except (TypeError, ValueError) as error:
        raise AnsibleFilterError(f"fleet_report_html: npus must be a number or a mapping of node to number, got "
                                 f"{npus!r}") from error
    return lambda host: count


def fleet_report_html(report: dict[str, Any], npus: Any = None) -> str:
    if not isinstance(report, dict) or not isinstance(report.get("nodes"), list) or "summary" not in report:
        raise AnsibleFilterError("fleet_report_html needs a report of atlas.vllm.fleet_report, got "
                                 f"{type(report).__name__}")
    expected = _npu_counts(npus)
    counts = {node["host"]: node_npu_count(node, expected(node["host"])) for node in report["nodes"]}
    matrix = report.get("hccl_matrix") or hccl_matrix(report["nodes"])
    generated = _e(report.get("generated"))
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        f'<head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="{_POLICY}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Atlas fleet report \u2014 {generated}</title><style>{_STYLE}</style></head>",
        "<body>",
        f'<header><h1>Atlas fleet report</h1><p id="generated">Generated {generated}</p>{_summary(report)}</header>',
        '<nav><a href="#nodes">Nodes and NPUs</a><a href="#hccl">NPU network</a>'
        '<a href="#readiness">Instance readiness</a><a href="#benchmark">Benchmark</a></nav>',
        _incomplete(report),
        _endpoints(report),
        _node_grid(report, counts),
        _actions(report),
        _ping_grid(matrix, counts),
        _readiness(report),
        _benchmark(report),
        _accuracy(report),
        f"<script>{_SCRIPT}</script>",
        "</body>",
        "</html>",
        "",
    ])


def _summary(report: dict[str, Any]) -> str:
    summary = report["summary"]
    return (f'<p id="summary" class="summary"><strong>{_e(summary["nodes"])} node(s)</strong>: '
            f'<span class="status-pass">{_e(summary["pass"])} PASS</span>, '
            f'<span class="status-warning">{_e(summary["warning"])} WARNING</span>, '
            f'<span class="status-critical">{_e(summary["critical"])} CRITICAL</span>; '
            f'<strong>{_e(summary["instances_ready"])}/{_e(summary["instances"])}</strong> instance(s) ready; '
            f'<span id="incomplete-count">{_e(summary.get("incomplete", 0))} host(s) without results from their '
            "last run</span>.</p>")


def _table(table_id: str, header: list[str], rows: list[str]) -> str:
    head = "".join(f'<th scope="col">{_e(name)}</th>' for name in header)
    return f'<div class="wrap"><table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}' \
           "</tbody></table></div>"


def _cells(values: list[Any]) -> str:
    return "".join(f"<td>{_e(value)}</td>" for value in values)


def _incomplete(report: dict[str, Any]) -> str:
    entries = [entry for entry in [*report["nodes"], *(report.get("endpoints") or [])] if entry.get("problem")]
    if not entries:
        return ""
    rows = [f'<tr data-host="{_e(entry.get("host") or entry.get("gateway"))}">'
            f'{_cells([entry.get("host") or entry.get("gateway"), entry["problem"]])}</tr>' for entry in entries]
    return ('<section id="incomplete"><h2>Hosts without results from their last run</h2>'
            + _table("incomplete-table", ["Host", "Problem"], rows) + "</section>")


def _endpoints(report: dict[str, Any]) -> str:
    endpoints = [e for e in report.get("endpoints") or [] if e.get("url")]
    if not endpoints:
        return ('<section id="endpoint"><p><strong>Fleet endpoint</strong>: none (no atlas_gateways group); clients '
                "use the instance endpoints.</p></section>")
    lines = []
    for endpoint in endpoints:
        workers = endpoint.get("workers") or []
        lines.append(f'<p data-gateway="{_e(endpoint["gateway"])}"><strong>Fleet endpoint</strong>: '
                     f"<code>{_e(endpoint['url'])}</code> ({_e(endpoint['gateway'])}), {len(workers)} instance(s) "
                     "behind it</p>")
        tls = endpoint.get("tls") or {}
        if tls:
            status = tls.get("verdict")
            lines.append(f'<p><strong>Certificate</strong> ({_e(tls.get("source", "?"))}): '
                         f'<span class="{_status_class(status)}">{_e(status or "UNKNOWN")}</span>, expires '
                         f'{_e(tls.get("not_after", "?"))} ({_e(tls.get("days_left", "?"))} days)</p>')
    return '<section id="endpoint">' + "".join(lines) + "</section>"


def _verdict_text(node: dict[str, Any]) -> tuple[str | None, str]:
    status = node.get("verdict", {}).get("status")
    if status:
        return status, status
    return None, "no result" if node.get("problem") else "not checked"


def _npu_title(host: str, state: dict[str, Any], verdict_text: str) -> str:
    label = f"{host} NPU {state['device']}"
    if state["status"] is None:
        return f"{label}: {verdict_text}"
    lines = [f"{label}: {state['status']}"]
    checks = sorted(state["checks"], key=lambda c: -SEVERITY.get(c.get("status"), 2))
    lines += [f"{c.get('status')} {c.get('name')}: {c.get('detail')}" for c in checks[:_TOOLTIP_CHECKS]]
    if len(checks) > _TOOLTIP_CHECKS:
        lines.append(f"and {len(checks) - _TOOLTIP_CHECKS} more (see What to do)")
    lines += [f"serves {i.get('name')} ({i.get('state')})" for i in state["instances"]]
    return "\n".join(lines)


def _node_grid(report: dict[str, Any], counts: dict[str, int]) -> str:
    width = max(counts.values(), default=DEFAULT_NPUS)
    rows = []
    for node in report["nodes"]:
        host = node["host"]
        status, text = _verdict_text(node)
        attention = status != "PASS" or bool(node.get("problem"))
        cells = []
        for state in npu_states(node, counts[host]):
            cells.append(f'<td class="npu {_status_class(state["status"])}" data-device="{state["device"]}" '
                         f'data-status="{_e(state["status"] or "NONE")}" title="{_e(_npu_title(host, state, text))}">'
                         f'{state["device"]} {_MARK.get(state["status"], _MARK["CRITICAL"])}</td>')
        cells += ['<td class="npu-absent"></td>'] * (width - counts[host])
        instances = node.get("instances", [])
        ready = f"{sum(1 for i in instances if i.get('ready'))}/{len(instances)}"
        last_run = (f'<td class="last-run status-critical" title="{_e(node["problem"])}">incomplete</td>'
                    if node.get("problem") else '<td class="last-run">complete</td>')
        row_class = f"node verdict-{(status or 'none').lower()}" + (" needs-attention" if attention else "")
        rows.append(f'<tr class="{_e(row_class)}" data-node="{_e(host)}" data-verdict="{_e(status or "NONE")}">'
                    f'<th scope="row">{_e(host)}</th>'
                    f'<td class="verdict {_status_class(status)}">{_MARK.get(status, _MARK["CRITICAL"])} '
                    f"{_e(text)}</td>{''.join(cells)}<td class=\"ready\">{ready}</td>{last_run}</tr>")
    legend = "".join(f'<span class="{_status_class(s)}">{_MARK[s]} {label}</span>' for s, label in (
        ("PASS", "PASS"), ("WARNING", "WARNING"), ("CRITICAL", "CRITICAL"), (None, "no result")))
    return ('<section id="nodes"><h2>Nodes and NPUs</h2>'
            "<p>One row per node, one cell per NPU (its device id), coloured by the worst check that names the NPU "
            "or the whole node; hover a cell for the checks and the instance it serves.</p>"
            f'<p class="legend">{legend}</p>'
            '<p><label id="attention-filter" hidden><input type="checkbox" id="attention-only"> Only nodes that need '
            "attention</label></p>"
            '<div class="wrap"><table id="node-grid" class="grid"><thead><tr><th scope="col">Node</th>'
            f'<th scope="col">Verdict</th><th scope="col" colspan="{width}">NPUs</th>'
            '<th scope="col">Instances ready</th><th scope="col">Last run</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div></section>')


def _actions(report: dict[str, Any]) -> str:
    blocks = []
    for index, node in enumerate(report["nodes"]):
        checks = sorted(failing_checks(node), key=lambda c: -SEVERITY.get(c.get("status"), 2))
        if not checks:
            continue
        tally = ", ".join(f"{sum(1 for c in checks if c.get('status') == s)} {s}" for s in ("CRITICAL", "WARNING"))
        rows = [f'<tr class="{_status_class(c.get("status"))}">'
                + _cells([c.get("status"), "-" if c.get("device") is None else c.get("device"), c.get("name"),
                          c.get("detail"), c.get("action")]) + "</tr>" for c in checks]
        blocks.append(f'<details data-node="{_e(node["host"])}"><summary>{_e(node["host"])}: {_e(tally)}</summary>'
                      + _table(f"actions-{index}", ["Severity", "Device", "Check", "Seen", "Action"], rows)
                      + "</details>")
    if not blocks:
        return '<section id="actions"><h2>What to do</h2><p class="none">Every check passed.</p></section>'
    return '<section id="actions"><h2>What to do</h2>' + "".join(blocks) + "</section>"


def _ping_grid(matrix: dict[str, Any], counts: dict[str, int]) -> str:
    pairs = matrix.get("pairs") or []
    notes = [*matrix.get("notes", []), *(f"not pinged on {host}: {', '.join(labels)} (see its npu_network check)"
                                         for host, labels in sorted((matrix.get("not_pinged") or {}).items()))]
    notes_html = "".join(f"<li>{_e(note)}</li>" for note in notes)
    notes_html = f'<ul id="hccl-notes">{notes_html}</ul>' if notes_html else ""
    if not pairs:
        return ('<section id="hccl"><h2>NPU network (HCCL ping matrix)</h2><p id="hccl-none" class="none">No ping '
                f"matrix recorded (preflight with more than one node records it).</p>{notes_html}</section>")
    hosts = sorted({p["source"] for p in pairs} | {p["target"] for p in pairs})
    counts = {host: counts.get(host, DEFAULT_NPUS) for host in hosts}
    results = ping_results(matrix, counts)
    head = "".join(f'<th scope="col" data-target="{_e(h)}">{_e(h)}</th>' for h in hosts)
    groups = []
    for source in hosts:
        count = counts[source]
        rows = []
        for device in range(count):
            cells = []
            for target in hosts:
                if target == source:
                    cells.append('<td class="ping ping-self"></td>')
                    continue
                result = results.get((source, device, target))
                shown = result or "unplanned"
                title = f"{source} NPU {device} -> {target} NPU {device}: " + (
                    result or "not planned (the ping mode does not pair these nodes)")
                cells.append(f'<td class="ping ping-{shown.replace(" ", "-")}" data-target="{_e(target)}" '
                             f'data-result="{_e(shown)}" title="{_e(title)}">{_PING_MARK.get(result, "")}</td>')
            first = f'<th scope="rowgroup" rowspan="{count}">{_e(source)}</th>' if device == 0 else ""
            rows.append(f'<tr class="ping-row" data-source="{_e(source)}" data-device="{device}">{first}'
                        f'<th scope="row">{device}</th>{"".join(cells)}</tr>')
        groups.append(f"<tbody>{''.join(rows)}</tbody>")
    legend = "".join(f'<span class="ping-{cls}">{mark} {label}</span>' for cls, mark, label in (
        ("ok", _PING_MARK["ok"], "reached"), ("failed", _PING_MARK["failed"], "loss above the limit"),
        ("not-pinged", _PING_MARK["not pinged"], "not pinged (an end is known bad)"),
        ("unknown", "?", "pair tested, device not recorded"), ("unplanned", "", "not paired by the ping mode")))
    return ('<section id="hccl"><h2>NPU network (HCCL ping matrix)</h2>'
            "<p>Rows: the node and NPU that sent the ping; columns: the node whose same-index NPU it pinged.</p>"
            f'<p class="legend">{legend}</p><div class="wrap"><table id="hccl-grid" class="grid"><thead><tr>'
            f'<th scope="col">Source</th><th scope="col">NPU</th>{head}</tr></thead>{"".join(groups)}</table></div>'
            f"{notes_html}</section>")


def _port(instance: dict[str, Any]) -> str:
    if instance.get("port") is not None:
        return f":{instance['port']}"
    url = str(instance.get("url") or "")
    tail = url.rsplit(":", 1)[-1].split("/")[0] if url.count(":") >= 2 else ""
    return f":{tail}" if tail.isdigit() else ""


def _readiness(report: dict[str, Any]) -> str:
    rows = []
    for node in report["nodes"]:
        for instance in node.get("instances", []):
            label = f"{node['host']} {instance.get('name')} {_port(instance)}".strip()
            seconds = instance.get("time_to_ready_s")
            if instance.get("ready") and isinstance(seconds, int | float):
                rows.append(Row(label, [Bar("", float(seconds), "ready")]))
            elif instance.get("ready"):
                rows.append(Row(label, [Bar("", None, "ready", "ready, time not recorded")]))
            else:
                rows.append(Row(label, [Bar("", None, "not-ready", f"not ready: {instance.get('state')}")]))
    if not rows:
        return ('<section id="readiness"><h2>Instance readiness</h2><p id="readiness-none" class="none">No instance '
                "recorded.</p></section>")
    chart = bar_chart("readiness-chart", "Seconds until each instance was ready", rows, "s")
    return ('<section id="readiness"><h2>Instance readiness</h2><p>Seconds from the start of the health wait of the '
            "run that started or checked each instance to its first healthy answer.</p>"
            f"<figure>{chart}<figcaption>Time to ready per instance</figcaption></figure></section>")


def _benchmark(report: dict[str, Any]) -> str:
    runs = [(node["host"], bench) for node in report["nodes"] for bench in as_list(node.get("benchmark"))]
    if not runs:
        return ('<section id="benchmark"><h2>Benchmark (vllm bench serve)</h2><p id="benchmark-none" class="none">'
                "No benchmark recorded (playbooks/benchmark.yml records one).</p></section>")
    rows = [f'<tr data-node="{_e(host)}">' + _cells([
        host, b.get("instance"), b.get("request_throughput"), b.get("output_throughput"), b.get("median_ttft_ms"),
        b.get("p99_ttft_ms"), b.get("median_tpot_ms"), b.get("p99_tpot_ms"), b.get("failed"), b.get("slo_status")])
        + "</tr>" for host, b in runs]
    parts = [_table("benchmark-table", ["Node", "Instance", "Req/s", "Output tok/s", "Median TTFT (ms)",
                                        "P99 TTFT (ms)", "Median TPOT (ms)", "P99 TPOT (ms)", "Failed", "SLO"], rows)]
    detailed = False
    for metric, name, meaning in _LATENCIES:
        parts.append(f"<h3>{name} ({meaning})</h3>")
        samples = [(host, b, latency_samples(b, metric)) for host, b in runs]
        figures = [_histogram_figure(f"{metric}-histogram-{index}", f"{name} of {host} {b.get('instance')}", values)
                   for index, (host, b, values) in enumerate(samples) if values]
        if figures:
            detailed = True
            parts.append(f'<div class="histograms" id="{metric}-histograms">{"".join(figures)}</div>')
        parts.append(f"<figure>{_percentile_chart(metric, name, runs)}<figcaption>{name} per instance: mean, "
                     "median and P99</figcaption></figure>")
    if not detailed:
        parts.insert(1, '<p id="benchmark-summary-only" class="note">The benchmark recorded summary figures only '
                        "(mean, median and P99 per instance), not per-request times: the charts show those.</p>")
    return '<section id="benchmark"><h2>Benchmark (vllm bench serve)</h2>' + "".join(parts) + "</section>"


def _histogram_figure(chart_id: str, caption: str, values: list[float]) -> str:
    return (f"<figure>{histogram(chart_id, caption, values, 'ms')}"
            f"<figcaption>{_e(caption)} per request</figcaption></figure>")


def _percentile_chart(metric: str, name: str, runs: list[tuple[str, dict[str, Any]]]) -> str:
    rows = []
    for host, bench in runs:
        bars = [Bar(label, bench.get(f"{stat}_{metric}_ms"), stat)
                for stat, label in (("mean", "mean"), ("median", "median"), ("p99", "P99"))]
        rows.append(Row(f"{host} {bench.get('instance')}", [
            measure if isinstance(measure.value, int | float)
            else measure._replace(value=None, note=f"{measure.series}: not recorded") for measure in bars]))
    limits = {c.get("limit") for _host, b in runs for c in b.get("slo_checks") or []
              if c.get("key") == f"p99_{metric}_ms" and isinstance(c.get("limit"), int | float)}
    # Nodes may have different objectives; one line only when they agree.
    limit = None
    if len(limits) == 1:
        value = float(next(iter(limits)))
        limit = Limit(value, f"P99 objective {number(value)} ms")
    return bar_chart(f"{metric}-chart", f"{name} per instance: mean, median and P99 (ms)", rows, "ms", limit)


def _accuracy(report: dict[str, Any]) -> str:
    rows = [f'<tr data-node="{_e(node["host"])}" class="{_status_class(a.get("status"))}">' + _cells([
        node["host"], a.get("instance"), a.get("dataset"), a.get("accuracy"), a.get("min_accuracy"), a.get("status")])
        + "</tr>" for node in report["nodes"] for a in as_list(node.get("accuracy"))]
    if not rows:
        return ""
    return ('<section id="accuracy"><h2>Accuracy (AISBench)</h2>'
            + _table("accuracy-table", ["Node", "Instance", "Dataset", "Accuracy", "Minimum", "Result"], rows)
            + "</section>")


class FilterModule:
    def filters(self) -> dict:
        return {"fleet_report_html": fleet_report_html}
