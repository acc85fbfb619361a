"""The fleet report as an HTML page: every node in the grid, colours with text, values escaped, nothing fetched."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.atlas.vllm.plugins.filter.fleet_report import fleet_report
from ansible_collections.atlas.vllm.plugins.filter.fleet_report_html import fleet_report_html
from ansible_collections.atlas.vllm.plugins.module_utils.readiness.ping_matrix import hccl_network_ping_matrix

GENERATED = "2026-11-29T22:00:00Z"
LINK_DOWN = {"name": "npu_link", "status": "CRITICAL", "device": 3, "detail": "link status: DOWN",
             "action": "check the optical module of NPU 3 and its switch port (400GE1/1/2:4)"}
BENCH = {"instance": "vllm-0", "request_throughput": 3.2, "output_throughput": 410.5, "failed": 0,
         "mean_ttft_ms": 120.0, "median_ttft_ms": 110.0, "p99_ttft_ms": 180.0, "mean_tpot_ms": 28.0,
         "median_tpot_ms": 27.5, "p99_tpot_ms": 31.0, "slo_status": "PASS",
         "slo_checks": [{"key": "p99_ttft_ms", "limit": 500, "measured": 180.0, "ok": True}]}


def records(benchmark: dict | None = BENCH) -> list[dict]:
    """Two nodes as the existing report tests record them: atlas-01 PASS and serving, atlas-02 CRITICAL on NPU 3."""
    recorded = [
        {"host": "atlas-02", "stage": "verdict", "recorded": GENERATED,
         "data": {"status": "CRITICAL", "checks": [LINK_DOWN, {"name": "npu_health", "status": "PASS",
                                                                "device": 0, "detail": "OK", "action": ""}]}},
        {"host": "atlas-01", "stage": "verdict", "recorded": GENERATED, "data": {"status": "PASS", "checks": []}},
        {"host": "atlas-01", "stage": "instances", "recorded": GENERATED,
         "data": [{"name": "vllm-0", "url": "http://10.231.0.11:8000", "port": 8000, "devices": [0, 1],
                   "state": "ready", "ready": True, "time_to_ready_s": 21.4},
                  {"name": "vllm-1", "url": "http://10.231.0.11:8001", "port": 8001, "devices": [2, 3],
                   "state": "loading", "ready": False}]},
    ]
    if benchmark is not None:
        recorded.append({"host": "atlas-01", "stage": "benchmark", "recorded": GENERATED, "data": [benchmark]})
    return recorded


def page(recorded: list[dict] | None = None, nodes: list[str] | None = None, **options) -> str:
    report = fleet_report(records() if recorded is None else recorded, GENERATED,
                          nodes=nodes or ["atlas-01", "atlas-02", "atlas-03"])
    return fleet_report_html(report, **options)


class Element:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Element | None) -> None:
        self.tag, self.attrs, self.parent = tag, attrs, parent
        # Text and child elements in document order.
        self.content: list[str | Element] = []

    @property
    def children(self) -> list[Element]:
        return [item for item in self.content if isinstance(item, Element)]

    def iter(self):
        yield self
        for child in self.children:
            yield from child.iter()

    def all_text(self) -> str:
        return "".join(item if isinstance(item, str) else item.all_text() for item in self.content)

    def find(self, **attrs: str) -> list[Element]:
        return [e for e in self.iter() if all(e.attrs.get(k.rstrip("_")) == v for k, v in attrs.items())]

    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())


class Dom(HTMLParser):
    """Enough of a DOM to find elements by attribute; also keeps every text node and every attribute."""

    VOID = {"meta", "input", "br", "img", "link", "hr", "line", "rect"}

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#root", {}, None)
        self.current = self.root
        self.texts: list[str] = []
        self.attributes: list[tuple[str, str, str]] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        element = Element(tag, dict(attrs), self.current)
        self.current.content.append(element)
        self.attributes += [(tag, name, value or "") for name, value in attrs]
        if tag not in self.VOID:
            self.current = element

    def handle_startendtag(self, tag, attrs):
        self.current.content.append(Element(tag, dict(attrs), self.current))
        self.attributes += [(tag, name, value or "") for name, value in attrs]

    def handle_endtag(self, tag):
        node = self.current
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self.current = node.parent

    def handle_data(self, data):
        self.current.content.append(data)
        self.texts.append(data)

    def one(self, **attrs: str) -> Element:
        found = self.root.find(**attrs)
        assert len(found) == 1, f"{attrs}: {len(found)} elements"
        return found[0]


def test_every_node_is_a_row_of_the_grid_and_a_node_without_results_says_so() -> None:
    dom = Dom(page())
    grid = dom.one(id="node-grid")
    rows = {row.attrs["data-node"]: row for row in grid.iter() if row.tag == "tr" and "data-node" in row.attrs}
    assert list(rows) == ["atlas-01", "atlas-02", "atlas-03"]
    assert [rows[h].attrs["data-verdict"] for h in rows] == ["PASS", "CRITICAL", "NONE"]
    silent = rows["atlas-03"]
    assert "no result" in silent.all_text() and "incomplete" in silent.all_text()
    assert {cell.attrs["data-status"] for cell in silent.iter() if "npu" in cell.classes()} == {"NONE"}
    assert "3 node(s)" in dom.one(id="summary").all_text()
    assert "1 host(s) without results" in dom.one(id="summary").all_text()
    assert dom.one(id="incomplete-table").find(**{"data-host": "atlas-03"})


def test_each_npu_is_coloured_by_its_own_verdict_with_the_reason_as_text() -> None:
    dom = Dom(page())
    row = dom.one(id="node-grid").find(**{"data-node": "atlas-02"})[0]
    cells = {int(c.attrs["data-device"]): c for c in row.iter() if "npu" in c.classes()}
    assert len(cells) == 8
    assert "status-critical" in cells[3].classes() and "\u2717" in cells[3].all_text()
    assert "link status: DOWN" in cells[3].attrs["title"]
    assert "status-pass" in cells[0].classes() and "\u2713" in cells[0].all_text()
    verdict = next(c for c in row.iter() if "verdict" in c.classes())
    assert "status-critical" in verdict.classes() and "CRITICAL" in verdict.all_text()
    serving = dom.one(id="node-grid").find(**{"data-node": "atlas-01"})[0]
    npu0 = next(c for c in serving.iter() if c.attrs.get("data-device") == "0")
    assert "serves vllm-0 (ready)" in npu0.attrs["title"]
    # The failing check is in "What to do" too.
    assert "check the optical module of NPU 3" in dom.one(id="actions").all_text()


def test_a_node_driver_that_does_not_answer_colours_every_npu() -> None:
    dead = {"name": "npu_smi", "status": "CRITICAL", "device": None, "detail": "npu-smi info failed",
            "action": "reboot"}
    dom = Dom(page([{"host": "atlas-01", "stage": "verdict", "recorded": GENERATED,
                     "data": {"status": "CRITICAL", "checks": [dead]}}], nodes=["atlas-01"]))
    cells = [c for c in dom.one(id="node-grid").iter() if "npu" in c.classes()]
    assert len(cells) == 8 and all(c.attrs["data-status"] == "CRITICAL" for c in cells)


def test_npus_per_node_follow_the_given_counts() -> None:
    dom = Dom(page(npus={"atlas-01": 16}))
    counts = {row.attrs["data-node"]: sum(1 for c in row.iter() if "npu" in c.classes())
              for row in dom.one(id="node-grid").iter() if "data-node" in row.attrs}
    assert counts == {"atlas-01": 16, "atlas-02": 8, "atlas-03": 8}
    with pytest.raises(AnsibleFilterError, match="npus must be a number"):
        page(npus="eight")


HOSTILE = "atlas-<img src=x onerror=alert(1)>\"'&"


def test_names_and_messages_are_escaped() -> None:
    recorded = [{"host": HOSTILE, "stage": "verdict", "recorded": GENERATED,
                 "data": {"status": "WARNING", "checks": [{"name": "x", "status": "WARNING", "device": 1,
                                                           "detail": "</script><script>alert(2)</script>",
                                                           "action": "<b>bold</b>"}]}}]
    text = page(recorded, nodes=[HOSTILE])
    assert "<img" not in text and "<script>alert" not in text and "<b>" not in text
    dom = Dom(text)
    assert [row.attrs["data-node"] for row in dom.one(id="node-grid").iter() if "data-node" in row.attrs] == [HOSTILE]
    assert HOSTILE in dom.one(id="node-grid").all_text()
    # The page has exactly one script, its own.
    assert [e.tag for e in dom.root.iter()].count("script") == 1


GATEWAY = [{"host": "atlas-gw-01", "stage": "endpoint", "recorded": GENERATED,
            "data": {"url": "https://10.231.0.201:8443", "workers": ["http://10.231.0.11:8000"]}},
           {"host": "atlas-gw-01", "stage": "tls", "recorded": GENERATED,
            "data": {"verdict": "OK", "days_left": 300, "not_after": "2027-09-25T10:00:00+00:00", "source": "fleet CA"}}]


def test_the_fleet_endpoint_and_its_certificate_come_first() -> None:
    dom = Dom(page([*records(), *GATEWAY]))
    endpoint = dom.one(id="endpoint")
    assert "https://10.231.0.201:8443 (atlas-gw-01), 1 instance(s) behind it" in endpoint.all_text()
    verdict = next(e for e in endpoint.iter() if e.tag == "span")
    assert verdict.all_text() == "OK" and "status-pass" in verdict.classes()


def test_the_page_references_nothing_outside_itself() -> None:
    text = page([*records(), *GATEWAY])
    dom = Dom(text)
    tags = {e.tag for e in dom.root.iter()}
    assert not tags & {"link", "iframe", "object", "embed", "base", "form", "audio", "video", "source", "img"}
    for tag, name, value in dom.attributes:
        assert not name.startswith("on"), f"<{tag} {name}>: inline handlers are not used"
        if name in ("href", "xlink:href"):
            assert value.startswith("#"), f"<{tag} {name}={value!r}>"
        if name in ("src", "srcset", "action", "formaction", "poster", "data"):
            assert value.startswith("data:"), f"<{tag} {name}={value!r}>"
        assert not re.search(r"https?://|url\(|//", value, re.IGNORECASE) or name == "title", f"<{tag} {name}={value!r}>"
    style = "".join(e.all_text() for e in dom.root.iter() if e.tag == "style")
    script = "".join(e.all_text() for e in dom.root.iter() if e.tag == "script")
    assert "url(" not in style and "@import" not in style and "http" not in style
    assert not re.search(r"fetch|XMLHttpRequest|import\(|http|src|WebSocket|EventSource", script)
    # URLs appear only as text people read (the instance endpoints), never as something to load.
    outside_text = text
    for piece in sorted(set(dom.texts), key=len, reverse=True):
        outside_text = outside_text.replace(piece, "")
    assert "http" not in outside_text.replace("http-equiv", "")
    assert "default-src 'none'" in dom.one(**{"http-equiv": "Content-Security-Policy"}).attrs["content"]


def test_charts_are_drawn_from_the_benchmark_figures_and_say_they_are_summaries() -> None:
    dom = Dom(page())
    for chart in ("readiness-chart", "ttft-chart", "tpot-chart"):
        svg = dom.one(id=chart)
        assert svg.tag == "svg" and svg.attrs["role"] == "img"
    ttft = dom.one(id="ttft-chart")
    assert any(e.tag == "rect" for e in ttft.iter())
    assert {"mean 120 ms", "median 110 ms", "P99 180 ms"} <= {e.all_text() for e in ttft.iter() if e.tag == "text"}
    assert "P99 objective 500 ms" in ttft.all_text()
    assert "summary figures only" in dom.one(id="benchmark-summary-only").all_text()
    readiness = dom.one(id="readiness-chart").all_text()
    assert "atlas-01 vllm-0 :8000" in readiness and "21.4 s" in readiness
    assert "not ready: loading" in readiness
    assert dom.one(id="benchmark-table").find(**{"data-node": "atlas-01"})


def test_per_request_times_become_histograms() -> None:
    detailed = {**BENCH, "request_ttft_ms": [100 + i for i in range(40)], "request_tpot_ms": [29.7] * 40}
    dom = Dom(page(records(detailed)))
    histogram = dom.one(id="ttft-histogram-0")
    assert sum(1 for e in histogram.iter() if e.tag == "rect") >= 5
    assert "40 requests" in histogram.all_text()
    assert dom.one(id="tpot-histogram-0")
    assert not dom.root.find(id="benchmark-summary-only")


def test_without_a_benchmark_the_page_says_none_was_recorded() -> None:
    dom = Dom(page(records(benchmark=None)))
    assert "No benchmark recorded" in dom.one(id="benchmark-none").all_text()
    assert not dom.root.find(id="ttft-chart")
    assert not dom.root.find(id="hccl-grid") and dom.one(id="hccl-none")


def _ping_nodes(failing: dict[tuple[str, str, int], float]) -> list[dict]:
    """Three nodes of two devices each, as hccl_network shares them, every device pinging every peer."""
    hosts = ["atlas-01", "atlas-02", "atlas-03"]
    devices = {h: [{"device": d, "ip": f"10.232.{i}.{d + 2}", "usable": True} for d in range(2)]
               for i, h in enumerate(hosts, start=1)}
    return [{"host": h, "devices": devices[h],
             "pings": [{"device": d, "address": item["ip"], "loss_pct": failing.get((h, peer, d), 0.0)}
                       for peer in hosts if peer != h for d, item in enumerate(devices[peer])]}
            for h in hosts]


def test_the_ping_matrix_lines_preflight_records_become_the_grid() -> None:
    matrix = hccl_network_ping_matrix(_ping_nodes({("atlas-01", "atlas-02", 1): 100.0}),
                                      {"mode": "all", "max_loss_pct": 0})
    recorded = [{"host": h, "stage": "hccl", "recorded": GENERATED, "data": {"lines": matrix["lines"]}}
                for h in ("atlas-01", "atlas-02", "atlas-03")]
    report = fleet_report(recorded, GENERATED)
    assert {"source": "atlas-01", "target": "atlas-02", "devices_tested": 2, "devices_ok": 1,
            "failing_devices": [1]} in report["hccl_matrix"]["pairs"]
    assert len(report["hccl_matrix"]["pairs"]) == 6
    dom = Dom(fleet_report_html(report, npus=2))
    grid = dom.one(id="hccl-grid")
    cells = {(row.attrs["data-source"], int(row.attrs["data-device"]), cell.attrs["data-target"]):
             cell.attrs["data-result"]
             for row in grid.iter() if row.tag == "tr" and "data-source" in row.attrs
             for cell in row.children if "data-target" in cell.attrs}
    assert cells[("atlas-01", 1, "atlas-02")] == "failed"
    assert cells[("atlas-01", 0, "atlas-02")] == "ok"
    assert set(cells.values()) == {"ok", "failed"} and len(cells) == 12
    failed = next(c for row in grid.iter() if row.attrs.get("data-source") == "atlas-01"
                  and row.attrs.get("data-device") == "1" for c in row.children
                  if c.attrs.get("data-target") == "atlas-02")
    assert "\u2717" in failed.all_text() and "atlas-01 NPU 1 -> atlas-02 NPU 1: failed" in failed.attrs["title"]


def test_ring_mode_leaves_unpaired_nodes_blank_and_skipped_devices_marked() -> None:
    lines = ["atlas-01 -> atlas-02: 1/1 device pairs OK", "atlas-02 -> atlas-01: 1/1 device pairs OK",
             "not pinged (cause named in atlas-02's npu_network check): atlas-02 NPU 0",
             "cross-node note that is not a pair"]
    recorded = [{"host": "atlas-01", "stage": "hccl", "recorded": GENERATED, "data": {"lines": lines}}]
    dom = Dom(page(recorded, nodes=["atlas-01", "atlas-02"], npus=2))
    results = {(r.attrs["data-source"], r.attrs["data-device"]): [c.attrs.get("data-result") for c in r.children
                                                                   if "data-target" in c.attrs]
               for r in dom.one(id="hccl-grid").iter() if "data-source" in r.attrs}
    assert results == {("atlas-01", "0"): ["not pinged"], ("atlas-01", "1"): ["ok"],
                       ("atlas-02", "0"): ["not pinged"], ("atlas-02", "1"): ["ok"]}
    assert "cross-node note that is not a pair" in dom.one(id="hccl-notes").all_text()


def test_a_report_without_its_matrix_key_still_draws_the_grid() -> None:
    report = fleet_report([{"host": "atlas-01", "stage": "hccl", "recorded": GENERATED,
                            "data": {"lines": ["atlas-01 -> atlas-02: 8/8 device pairs OK"]}}], GENERATED)
    del report["hccl_matrix"]
    assert Dom(fleet_report_html(report)).one(id="hccl-grid")


def test_anything_but_a_report_is_refused() -> None:
    with pytest.raises(AnsibleFilterError, match="needs a report of atlas.vllm.fleet_report"):
        fleet_report_html([{"host": "atlas-01"}])
