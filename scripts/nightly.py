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
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = REPO / ".venv" / "bin"
SIM = str(BIN / "atlas-sim")
RECAP = re.compile(r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
                   r"\s+failed=(?P<failed>\d+)", re.MULTILINE)


def recap(output: str) -> dict[str, dict[str, int]]:
    """Per-host counters of the last PLAY RECAP in an ansible-playbook output."""
    block = output.rsplit("PLAY RECAP", 1)[-1]
    keys = ("ok", "changed", "unreachable", "failed")
    return {m["host"]: {k: int(m[k]) for k in keys} for m in RECAP.finditer(block)}


class Runner:
    def __init__(self, inventory: str | None) -> None:
        self.inventory = inventory

    def playbook(self, label: str, *args: str) -> tuple[int, str]:
        inventory = self.inventory or subprocess.run([SIM, "inventory"], capture_output=True, text=True,
                                                     check=True).stdout.strip()
        argv = [str(BIN / "ansible-playbook"), *args, "-i", inventory]
        if self.inventory is None:
            argv = [SIM, "run", "--", *argv]
        print(f"\n=== nightly: {label} ===", flush=True)
        started = time.monotonic()
        proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env={**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1"})
        lines = []
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            lines.append(line)
        code = proc.wait()
        print(f"=== nightly: {label} finished rc={code} in {time.monotonic() - started:.0f}s ===", flush=True)
        return code, "".join(lines)


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
        second, output = runner.playbook("deploy again (must change nothing)", "deploy.yml")
        counters = {host: c for host, c in recap(output).items() if host != "localhost"}
        drift = {host: c["changed"] for host, c in counters.items()}
        if second:
            problems.append(f"second deploy failed (rc={second})")
        problems += [f"{host} drifted: the second deploy changed {n} thing(s)" for host, n in drift.items() if n]
        verify, _ = runner.playbook("verify", "playbooks/verify.yml")
        if verify:
            problems.append(f"verify failed (rc={verify})")
        drift_file = REPO / "reports" / "drift.json"
        drift_file.parent.mkdir(exist_ok=True)
        drift_file.write_text(json.dumps(drift))
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
