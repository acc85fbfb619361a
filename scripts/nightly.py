"""The nightly run: deploy, deploy again and fail on any change (drift), verify, report with JUnit.

    make nightly                       # on a fresh sandbox fleet (booted here, stopped at the end)
    make nightly INVENTORY=atlas_hosts # against a real fleet, no sandbox

Exit status: 0 when both deploys and the verify pass and the second deploy changed nothing on any node;
1 otherwise. The report (JSON, Markdown, JUnit) is written under reports/<timestamp>/ either way.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = REPO / ".venv" / "bin"
SIM = str(BIN / "atlas-sim")
# Per-host counters of each run, as the recap has them, recorded by the collection's callback.
STATS_CALLBACK = "atlas.vllm.host_stats"
# ... and, as ansible.cfg enables it (the variable above replaces that list), the hosts a run failed or missed.
OUTCOME_CALLBACK = "atlas.vllm.run_outcome"


def drift(counters: dict[str, dict[str, int]]) -> dict[str, int]:
    """Changes per node of a run that must change nothing (the controller's own plays are not a node)."""
    return {host: c["changed"] for host, c in counters.items() if host != "localhost"}


class Runner:
    def __init__(self, inventory: str | None) -> None:
        self.inventory = inventory

    def playbook(self, label: str, *args: str) -> tuple[int, dict[str, dict[str, int]]]:
        """Run one playbook, its output shown as it comes; returns its exit code and per-host counters."""
        inventory = self.inventory or subprocess.run([SIM, "inventory"], capture_output=True, text=True,
                                                     check=True).stdout.strip()
        argv = [str(BIN / "ansible-playbook"), *args, "-i", inventory]
        if self.inventory is None:
            argv = [SIM, "run", "--", *argv]
        print(f"\n=== nightly: {label} ===", flush=True)
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="atlas-nightly-") as scratch:
            stats = Path(scratch) / "host-stats.json"
            env = {**os.environ, "ANSIBLE_CALLBACKS_ENABLED": f"{STATS_CALLBACK},{OUTCOME_CALLBACK}",
                   "ATLAS_HOST_STATS_FILE": str(stats)}
            code = subprocess.run(argv, cwd=REPO, env=env, check=False).returncode
            # A run that stopped before its recap (a syntax error, say) has no counters: its exit code says why.
            counters = json.loads(stats.read_text()) if stats.exists() else {}
        print(f"=== nightly: {label} finished rc={code} in {time.monotonic() - started:.0f}s ===", flush=True)
        return code, counters


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inventory", default=os.environ.get("INVENTORY") or None)
    parser.add_argument("--nodes", default="2")
    parser.add_argument("--os", default="ubuntu22.04,openeuler22.03")
    parser.add_argument("--load-seconds", default="5")
    parser.add_argument("--keep", action="store_true", default=os.environ.get("KEEP") == "1")
    args = parser.parse_args()
    sandbox = args.inventory is None
    if sandbox:
        subprocess.run([SIM, "up", "--nodes", args.nodes, "--os", args.os, "--load-seconds", args.load_seconds],
                       check=True)
    runner = Runner(args.inventory)
    problems: list[str] = []
    # Results recorded before this run (an earlier benchmark, say) stay on disk but not in tonight's report.
    since = datetime.now(UTC).replace(tzinfo=None).isoformat()
    try:
        first, _ = runner.playbook("deploy", "deploy.yml")
        if first:
            problems.append(f"first deploy failed (rc={first})")
        second, counters = runner.playbook("deploy again (must change nothing)", "deploy.yml")
        changes = drift(counters)
        if second:
            problems.append(f"second deploy failed (rc={second})")
        problems += [f"{host} drifted: the second deploy changed {n} thing(s)" for host, n in changes.items() if n]
        verify, _ = runner.playbook("verify", "playbooks/verify.yml")
        if verify:
            problems.append(f"verify failed (rc={verify})")
        drift_file = REPO / "reports" / "drift.json"
        drift_file.parent.mkdir(exist_ok=True)
        drift_file.write_text(json.dumps(changes))
        report, _ = runner.playbook("report", "playbooks/report.yml", "-e", f"atlas_report_drift_file={drift_file}",
                                    "-e", f"atlas_report_since={since}")
        if report:
            problems.append(f"report failed (rc={report})")
    finally:
        if sandbox and not args.keep:
            subprocess.run([SIM, "down"], check=False)
    print("\n=== nightly result ===")
    for problem in problems:
        print(f"FAIL: {problem}")
    print("PASS: no drift, every node verified" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
