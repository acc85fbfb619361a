# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Build the fleet report from the results each stage recorded on the controller, and render it.

Each stage records ``{host, stage, recorded, data}`` per node under ``reports/results/<host>/<stage>.json``
(``verdict``, ``hccl``, ``instances``, ``benchmark``, ``accuracy``); each gateway records its fleet endpoint
(``endpoint``: ``{url, workers}``), which the report shows first. Because the records persist,
``playbooks/report.yml`` can report on runs that happened earlier.

``{{ records | atlas.vllm.fleet_report(generated) }}``  -> report dict (secrets removed)
``{{ report | atlas.vllm.fleet_report_markdown }}``     -> Markdown an ops lead reads in 30 seconds
``{{ report | atlas.vllm.fleet_report_junit(drift) }}`` -> JUnit XML for CI systems
``{{ report | atlas.vllm.fleet_report_html }}``         -> the page people look at (plugins/filter/fleet_report_html.py)
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape, quoteattr

from ansible.errors import AnsibleFilterError
from ansible_collections.atlas.vllm.plugins.module_utils.readiness.checks import SEVERITY
from ansible_collections.atlas.vllm.plugins.module_utils.redact import redact
from ansible_collections.atlas.vllm.plugins.module_utils.report_coverage import (
    RUN_STAGE,
    drop_stale,
    missing_problem,
    run_problem,
)
from ansible_collections.atlas.vllm.plugins.plugin_utils.fleet_report_views import (
    as_list,
    failing_checks,
    hccl_matrix,
    image_cell,
)

# The stage a gateway records its fleet endpoint under (playbooks/verify.yml).
ENDPOINT_STAGE = "endpoint"
# ... and the verdict on the certificate it serves (playbooks/gateway.yml).
TLS_STAGE = "tls"


def fleet_report(records: list[dict[str, Any]], generated: str, since: str | None = None,
                 nodes: list[str] | None = None, gateways: list[str] | None = None) -> dict[str, Any]:
    """``since`` (an ISO time in UTC, as the records carry) leaves out results recorded before it.

    ``nodes`` and ``gateways`` (the inventory's groups) make every one of those hosts appear: one with no result, or
    whose last run failed or did not reach it (the ``run`` record of the run_outcome callback), carries a
    ``problem`` instead of results an earlier run left.
    """
    if not isinstance(records, list):
        raise AnsibleFilterError(f"fleet_report needs a list of recorded results, got {type(records).__name__}")
    found: dict[str, dict[str, Any]] = {}
    endpoints: dict[str, dict[str, Any]] = {}
    runs: dict[str, dict[str, Any]] = {}
    for record in records:
        host = record.get("host")
        stage = record.get("stage")
        if not host or not stage or (since and str(record.get("recorded") or "") < since):
            continue
        if stage == RUN_STAGE:
            if str(record.get("recorded") or "") >= str(runs.get(host, {}).get("recorded") or ""):
                runs[host] = record
            continue
        if stage == ENDPOINT_STAGE:
            endpoints.setdefault(host, {"gateway": host}).update(redact(record.get("data")) or {})
            endpoints[host].setdefault("recorded", {})[stage] = record.get("recorded")
            continue
        if stage == TLS_STAGE:
            endpoints.setdefault(host, {"gateway": host})["tls"] = redact(record.get("data"))
            endpoints[host].setdefault("recorded", {})[stage] = record.get("recorded")
            continue
        node = found.setdefault(host, {"host": host})
        node[stage] = redact(record.get("data"))
        node.setdefault("recorded", {})[stage] = record.get("recorded")
    for host in nodes or []:
        found.setdefault(host, {"host": host})
    for host in gateways or []:
        endpoints.setdefault(host, {"gateway": host})
    for entry in [*found.values(), *endpoints.values()]:
        _judge_coverage(entry, runs.get(entry.get("host") or entry.get("gateway")), since,
                        expected=nodes is not None or gateways is not None)
    ordered = [found[host] for host in sorted(found)]
    statuses = [node.get("verdict", {}).get("status", "UNKNOWN") for node in ordered]
    instances = [i for node in ordered for i in node.get("instances", [])]
    gateways_listed = [endpoints[host] for host in sorted(endpoints)]
    return {
        "generated": generated,
        "summary": {
            "nodes": len(ordered),
            "pass": statuses.count("PASS"),
            "warning": statuses.count("WARNING"),
            "critical": statuses.count("CRITICAL"),
            "instances": len(instances),
            "instances_ready": sum(1 for i in instances if i.get("ready")),
            "incomplete": sum(1 for entry in [*ordered, *gateways_listed] if entry.get("problem")),
        },
        "endpoints": gateways_listed,
        "nodes": ordered,
        # The ping matrix of the nodes' hccl records as data, for renderers that draw it.
        "hccl_matrix": hccl_matrix(ordered),
    }


def _judge_coverage(entry: dict[str, Any], run: dict[str, Any] | None, since: str | None, expected: bool) -> None:
    """Drop what an earlier run left when the host's last run failed, and say why results are missing."""
    recorded = entry.get("recorded", {})
    for stage in drop_stale(recorded, run):
        entry.pop("tls" if stage == TLS_STAGE else stage, None)
        recorded.pop(stage, None)
        if stage == ENDPOINT_STAGE:
            for key in ("url", "workers"):
                entry.pop(key, None)
    problem = run_problem(run, recorded)
    if problem is None and expected and not recorded:
        problem = missing_problem(since)
    if problem:
        entry["problem"] = problem


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for dummy in header) + "|"]
    return lines + ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]


def fleet_report_markdown(report: dict[str, Any]) -> str:
    summary = report["summary"]
    lines = [f"# Atlas fleet report — {report['generated']}", "",
             f"**{summary['nodes']} node(s)**: {summary['pass']} PASS, {summary['warning']} WARNING, "
             f"{summary['critical']} CRITICAL; **{summary['instances_ready']}/{summary['instances']}** "
             "instance(s) ready" + (f"; **{summary['incomplete']} host(s) without results from their last run**"
                                    if summary.get("incomplete") else "") + ".", ""]
    incomplete = [[entry.get("host") or entry.get("gateway"), entry["problem"]]
                  for entry in [*report["nodes"], *(report.get("endpoints") or [])] if entry.get("problem")]
    if incomplete:
        lines += ["## Hosts without results from their last run", ""]
        lines += _table(["Host", "Problem"], incomplete) + [""]
    lines += _endpoint_lines([e for e in report.get("endpoints") or [] if e.get("url")])
    lines += _table(["Node", "Verdict", "Instances ready", "Failing checks"], [
        [node["host"], node.get("verdict", {}).get("status", "not checked"),
         f"{sum(1 for i in node.get('instances', []) if i.get('ready'))}/{len(node.get('instances', []))}",
         len(failing_checks(node))] for node in report["nodes"]])
    actions = [[node["host"], c.get("status"), c.get("device") if c.get("device") is not None else "-",
                c.get("name"), c.get("detail"), c.get("action")]
               for node in report["nodes"] for c in sorted(failing_checks(node),
                                                           key=lambda c: -SEVERITY.get(c.get("status"), 2))]
    if actions:
        lines += ["", "## What to do", ""]
        lines += _table(["Node", "Severity", "Device", "Check", "Seen", "Action"], actions)
    instances = [[node["host"], i.get("name"), i.get("url"), ",".join(str(d) for d in i.get("devices", [])),
                  i.get("state"), i.get("time_to_ready_s"), image_cell(i)]
                 for node in report["nodes"] for i in node.get("instances", [])]
    if instances:
        lines += ["", "## Instances", ""]
        lines += _table(["Node", "Instance", "Endpoint", "NPUs", "State", "Ready after (s)", "Image (digest)"],
                        instances)
    matrix = [line for node in report["nodes"] for line in node.get("hccl", {}).get("lines", [])]
    if matrix:
        lines += ["", "## NPU network (HCCL ping matrix)", ""] + [f"- {line}" for line in dict.fromkeys(matrix)]
    bench = [[node["host"], b.get("instance"), b.get("request_throughput"), b.get("output_throughput"),
              b.get("p99_ttft_ms"), b.get("p99_tpot_ms"), b.get("failed"), b.get("slo_status")]
             for node in report["nodes"] for b in as_list(node.get("benchmark"))]
    if bench:
        lines += ["", "## Performance (vllm bench serve)", ""]
        lines += _table(["Node", "Instance", "Req/s", "Output tok/s", "P99 TTFT (ms)", "P99 TPOT (ms)", "Failed",
                         "SLO"], bench)
    accuracy = [[node["host"], a.get("instance"), a.get("dataset"), a.get("accuracy"), a.get("min_accuracy"),
                 a.get("status")] for node in report["nodes"] for a in as_list(node.get("accuracy"))]
    if accuracy:
        lines += ["", "## Accuracy (AISBench)", ""]
        lines += _table(["Node", "Instance", "Dataset", "Accuracy", "Minimum", "Result"], accuracy)
    return "\n".join(lines) + "\n"


def _endpoint_lines(endpoints: list[dict[str, Any]]) -> list[str]:
    """The fleet endpoint first: the URL clients use and the instances behind it."""
    if not endpoints:
        return ["**Fleet endpoint**: none (no atlas_gateways group); clients use the instance endpoints below.", ""]
    lines = []
    for endpoint in endpoints:
        workers = endpoint.get("workers") or []
        lines.append(f"**Fleet endpoint**: {endpoint.get('url')} ({endpoint['gateway']}), {len(workers)} "
                     f"instance(s) behind it: {', '.join(workers) if workers else 'none'}")
        tls = endpoint.get("tls") or {}
        if tls:
            trust = f"; clients trust {tls['ca_file']}" if tls.get("ca_file") else ""
            lines.append(f"**Certificate** ({tls.get('source', '?')}): {tls.get('verdict', 'UNKNOWN')}, expires "
                         f"{tls.get('not_after', '?')} ({tls.get('days_left', '?')} days){trust}")
    return [*lines, ""]


def _case(classname: str, name: str, failure: str | None = None) -> str:
    head = f"    <testcase classname={quoteattr(classname)} name={quoteattr(name)}"
    if failure is None:
        return head + "/>"
    return head + f">\n      <failure message={quoteattr(failure.splitlines()[0])}>{escape(failure)}</failure>\n" \
                  "    </testcase>"


def fleet_report_junit(report: dict[str, Any], drift: dict[str, int] | None = None) -> str:
    cases: list[str] = []
    for node in report["nodes"]:
        host = node["host"]
        if "verdict" in node:
            failing = [c for c in failing_checks(node) if c.get("status") == "CRITICAL"]
            text = "\n".join(f"{c.get('name')} device={c.get('device')}: {c.get('detail')} -> {c.get('action')}"
                             for c in failing)
            cases.append(_case(host, "preflight verdict", text or None))
        for instance in node.get("instances", []):
            problem = None if instance.get("ready") else f"{instance.get('name')} is {instance.get('state')}"
            cases.append(_case(host, f"instance {instance.get('name')} ready", problem))
        for bench in as_list(node.get("benchmark")):
            problem = None if bench.get("slo_status", "PASS") == "PASS" else f"SLO breached: {bench.get('breaches')}"
            cases.append(_case(host, f"benchmark {bench.get('instance')} SLO", problem))
        for accuracy in as_list(node.get("accuracy")):
            problem = None if accuracy.get("status", "PASS") == "PASS" else (
                f"accuracy {accuracy.get('accuracy')} below {accuracy.get('min_accuracy')}")
            cases.append(_case(host, f"accuracy {accuracy.get('instance')}", problem))
        if drift is not None and host in drift:
            changed = int(drift[host])
            cases.append(_case(host, "no drift (second deploy changed nothing)",
                               f"second deploy reported changed={changed}" if changed else None))
    # Every host of the report has this case, so a host the run never reached is a failure, not an absence.
    for entry in [*report["nodes"], *(report.get("endpoints") or [])]:
        cases.append(_case(entry.get("host") or entry.get("gateway"), "results recorded by its last run",
                           entry.get("problem")))
    for endpoint in report.get("endpoints") or []:
        tls = endpoint.get("tls") or {}
        if tls:
            problem = f"the {tls.get('source')} certificate expired {tls.get('not_after')}"
            cases.append(_case(endpoint["gateway"], "fleet endpoint certificate valid",
                               problem if tls.get("verdict") == "CRITICAL" else None))
    failures = sum(1 for case in cases if "<failure" in case)
    return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            f"<testsuites name=\"atlas-vllm\" tests=\"{len(cases)}\" failures=\"{failures}\">\n"
            f"  <testsuite name=\"atlas-vllm fleet\" tests=\"{len(cases)}\" failures=\"{failures}\" "
            f"timestamp={quoteattr(report['generated'])}>\n" + "\n".join(cases) + "\n  </testsuite>\n</testsuites>\n")


class FilterModule:
    def filters(self) -> dict:
        return {"fleet_report": fleet_report, "fleet_report_markdown": fleet_report_markdown,
                "fleet_report_junit": fleet_report_junit, "fleet_redact": redact}
