# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Views of the fleet report data that more than one renderer (Markdown, JUnit, HTML) reads.

The report itself is built by ``plugins/filter/fleet_report.py``; these functions only look at it: the checks that
did not pass, the state of each NPU of a node, the HCCL ping matrix as pairs of nodes, and the latencies a benchmark
recorded.
"""

from __future__ import annotations

import re
from typing import Any

from ansible_collections.atlas.vllm.plugins.module_utils.readiness.checks import worst

# The lines plugins/module_utils/readiness/ping_matrix.py writes, the only form in which preflight records the matrix.
_PAIR_LINE = re.compile(r"^(?P<source>\S+) -> (?P<target>\S+): (?P<ok>\d+)/(?P<tested>\d+) device pairs OK"
                        r"(?:, failing devices \[(?P<failing>[\d, ]*)\])?$")
_NOT_PINGED_LINE = re.compile(r"^not pinged \(cause named in (?P<host>\S+)'s npu_network check\): (?P=host) "
                              r"(?P<labels>.+)$")
_PLAIN_LABEL = re.compile(r"^NPU (\d+)$")


def as_list(value: Any) -> list[dict[str, Any]]:
    """A stage recorded as one dict or as a list of them (benchmark, accuracy), as a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def failing_checks(node: dict[str, Any]) -> list[dict[str, Any]]:
    checks = node.get("verdict", {}).get("checks", [])
    return [c for c in checks if c.get("status") != "PASS"]


def image_cell(instance: dict[str, Any]) -> str:
    """The build an instance runs: its registry digest, else (an image loaded from an archive) its image ID."""
    digests = instance.get("image_digests") or []
    if digests:
        return ", ".join(digests)
    return f"{instance['image_id']} (no registry digest)" if instance.get("image_id") else "-"


def node_npu_count(node: dict[str, Any], expected: int) -> int:
    """How many NPUs to show for a node: the expected count, or more when the report names a higher device."""
    seen = [c.get("device") for c in node.get("verdict", {}).get("checks", [])]
    seen += [d for i in node.get("instances", []) for d in i.get("devices") or []]
    ids = [int(d) for d in seen if isinstance(d, int) and not isinstance(d, bool)]
    return max([expected, *(d + 1 for d in ids)])


def npu_states(node: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """One entry per NPU: ``{device, status, checks, instances}``.

    ``status`` is the worst of the checks that name the device and of the node-wide checks (a driver that does not
    answer concerns every NPU), or None when the node has no verdict. ``checks`` are those that did not pass.
    """
    verdict = node.get("verdict")
    checks = (verdict or {}).get("checks", [])
    node_wide = [c for c in checks if c.get("device") is None]
    states = []
    for device in range(count):
        own = [c for c in checks if c.get("device") == device]
        concerned = own + node_wide
        states.append({
            "device": device,
            "status": worst([c.get("status") for c in concerned]) if verdict else None,
            "checks": [c for c in concerned if c.get("status") != "PASS"],
            "instances": [i for i in node.get("instances", []) if device in (i.get("devices") or [])],
        })
    return states


def hccl_matrix(nodes: list[dict[str, Any]]) -> dict[str, Any]:
    """The ping matrix the nodes' ``hccl`` records carry, as data: ``{pairs, not_pinged, notes}``.

    ``pairs``: ``[{source, target, devices_tested, devices_ok, failing_devices}]``, sorted; ``not_pinged``: node to
    the labels of its devices that were not pinged; ``notes``: the other lines. Every node records the lines of the
    whole play, so when runs disagree (a ``--limit`` preflight) the most recent record wins.
    """
    ordered = sorted((n for n in nodes if n.get("hccl")),
                     key=lambda n: str((n.get("recorded") or {}).get("hccl") or ""))
    pairs: dict[tuple[str, str], dict[str, Any]] = {}
    not_pinged: dict[str, list[str]] = {}
    notes: dict[str, None] = {}
    for node in ordered:
        for line in node["hccl"].get("lines") or []:
            pair = _PAIR_LINE.match(line)
            skipped = _NOT_PINGED_LINE.match(line)
            if pair:
                failing = sorted(int(d) for d in (pair["failing"] or "").split(",") if d.strip())
                pairs[(pair["source"], pair["target"])] = {
                    "source": pair["source"], "target": pair["target"], "devices_tested": int(pair["tested"]),
                    "devices_ok": int(pair["ok"]), "failing_devices": failing}
            elif skipped:
                not_pinged[skipped["host"]] = [label.strip() for label in skipped["labels"].split(",")]
            else:
                notes[line] = None
    return {"pairs": [pairs[key] for key in sorted(pairs)], "not_pinged": not_pinged, "notes": list(notes)}


def ping_results(matrix: dict[str, Any], counts: dict[str, int]) -> dict[tuple[str, int, str], str]:
    """What the matrix says of each device of each planned pair: ``(source, device, target)`` to a result.

    ``ok``, ``failed``, ``not pinged`` (an end was already known bad) or ``unknown`` (the pair was tested but the
    lines do not say which devices were). Pairs that were not planned (ring mode pings one peer per node) are absent.
    ``counts``: the NPUs of each source node.
    """
    results = {}
    for pair in matrix.get("pairs") or []:
        source, target = pair["source"], pair["target"]
        count = counts[source]
        skipped = _plain_devices(matrix, source) | _plain_devices(matrix, target)
        # The lines give counts, not device lists: only when the count matches the devices left is each one known.
        known = pair["devices_tested"] == count - len({d for d in skipped if d < count})
        for device in range(count):
            if device in pair["failing_devices"]:
                result = "failed"
            elif device in skipped:
                result = "not pinged"
            else:
                result = "ok" if known else "unknown"
            results[(source, device, target)] = result
    return results


def _plain_devices(matrix: dict[str, Any], host: str) -> set[int]:
    """The devices of ``host`` that were not pinged, when their labels are plain (A2: NPU 3; not A3 chip labels)."""
    found = (_PLAIN_LABEL.match(label) for label in (matrix.get("not_pinged") or {}).get(host, []))
    return {int(match.group(1)) for match in found if match}


def latency_samples(bench: dict[str, Any], metric: str) -> list[float]:
    """Per-request times in ms: ``request_ttft_ms`` / ``request_tpot_ms``, which ``bench_result`` keeps from
    ``vllm bench serve --save-detailed``. Empty when only the summary figures were recorded.
    """
    if metric not in ("ttft", "tpot"):
        raise ValueError(f"no per-request samples for {metric!r}; known: ttft, tpot")
    return [float(value) for value in bench.get(f"request_{metric}_ms") or [] if _is_number(value)]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
