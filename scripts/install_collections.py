"""Install the Ansible collections the project uses into .venv/collections, without Galaxy.

Galaxy is often unreachable from the machines that run this project (air-gapped labs, CI), but
PyPI is mirrored: the `ansible` package on PyPI carries every collection we need. We download its
wheel once and extract only the collections we use (about 15 MB instead of 550 MB), then link the
checkout itself in as atlas.vllm so playbooks resolve atlas.vllm.* without installing anything.

    install_collections.py                                       # .venv: the newest supported ansible-core
    install_collections.py --venv .venv-oldest --ansible 9.13.0  # the collections of the oldest (2.16)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

# The ansible package whose collections go with the newest supported ansible-core (12.x ships with 2.19).
ANSIBLE_VERSION = "12.3.0"
COLLECTIONS = ("community/docker", "community/general", "community/crypto", "ansible/posix")

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / ".cache" / "wheels"


def wheel(version: str) -> Path:
    found = sorted(CACHE.glob(f"ansible-{version}-*.whl"))
    if found:
        return found[0]
    CACHE.mkdir(parents=True, exist_ok=True)
    print(f"downloading ansible=={version} from the package index (about 50 MB) ...", flush=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                    "-d", str(CACHE), f"ansible=={version}"], check=True)
    return sorted(CACHE.glob(f"ansible-{version}-*.whl"))[0]


def extract(source: Path, target: Path) -> None:
    with zipfile.ZipFile(source) as archive:
        for collection in COLLECTIONS:
            prefix = f"ansible_collections/{collection}/"
            members = [m for m in archive.namelist() if m.startswith(prefix)]
            if not members:
                raise SystemExit(f"{source.name} has no {collection} collection")
            shutil.rmtree(target / collection, ignore_errors=True)
            for member in members:
                archive.extract(member, target.parent)
            print(f"installed {collection.replace('/', '.')} from {source.name}", flush=True)


def link_checkout(target: Path) -> None:
    link = target / "atlas" / "vllm"
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(os.path.relpath(REPO, link.parent))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", default=".venv", help="the virtualenv whose collections/ to fill")
    parser.add_argument("--ansible", default=ANSIBLE_VERSION, help="the ansible package to take them from")
    args = parser.parse_args()
    target = REPO / args.venv / "collections" / "ansible_collections"
    extract(wheel(args.ansible), target)
    link_checkout(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
