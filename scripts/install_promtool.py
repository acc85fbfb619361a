"""Put Prometheus's `promtool` into .venv/bin, from Debian's `prometheus` package, without installing the package.

The tests check the generated scrape configuration and alert rules with the promtool the gateways get
(`check config`, `check rules`, `test rules`). Installing the package on the test machine would also start a
Prometheus server there, so only the one binary is extracted from the downloaded .deb.

    install_promtool.py [--venv .venv]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PACKAGE = "prometheus"
REPO = Path(__file__).resolve().parents[1]


def installed_version(promtool: Path) -> str | None:
    if not promtool.is_file():
        return None
    result = subprocess.run([str(promtool), "--version"], capture_output=True, text=True, check=False)
    return result.stdout.split("\n", 1)[0] if result.returncode == 0 else None


def candidate_version() -> str:
    result = subprocess.run(["apt-cache", "policy", PACKAGE], capture_output=True, text=True, check=False)
    for line in result.stdout.splitlines():
        if line.strip().startswith("Candidate:"):
            version = line.split(":", 1)[1].strip()
            if version and version != "(none)":
                return version
    sys.exit(f"install_promtool: apt has no candidate for {PACKAGE} (run 'apt-get update' as root first)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--venv", default=".venv")
    args = parser.parse_args()
    target = REPO / args.venv / "bin" / "promtool"
    stamp = target.with_name(".promtool-deb-version")
    version = candidate_version()
    if installed_version(target) and stamp.is_file() and stamp.read_text().strip() == version:
        return 0
    print(f"extracting promtool from Debian's {PACKAGE} {version} into {target.parent}")
    with tempfile.TemporaryDirectory(prefix="atlas-promtool-") as tmp:
        work = Path(tmp)
        download = subprocess.run(["apt-get", "download", f"{PACKAGE}={version}"], cwd=work,
                                  capture_output=True, text=True, check=False)
        debs = sorted(work.glob(f"{PACKAGE}_*.deb"))
        if download.returncode != 0 or not debs:
            sys.exit(f"install_promtool: apt-get download {PACKAGE} failed: {download.stderr.strip()}")
        subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(work / "root")], check=True)
        shutil.copy2(work / "root/usr/bin/promtool", target)
    target.chmod(0o755)
    stamp.write_text(version + "\n")
    print(f"promtool: {installed_version(target)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
