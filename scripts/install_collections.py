"""Install the Ansible collections the project uses into .venv/collections, without Galaxy.

Galaxy is often unreachable from the machines that run this project (air-gapped labs, CI), but
PyPI is mirrored: the `ansible` package on PyPI carries every collection we need. We download its
wheel once and extract only the collections we use (about 15 MB instead of 550 MB), then link the
checkout itself in as atlas.vllm so playbooks resolve atlas.vllm.* without installing anything.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ANSIBLE_PACKAGE = "ansible==12.3.0"
COLLECTIONS = ("community/docker", "community/general", "community/crypto", "ansible/posix")

REPO = Path(__file__).resolve().parents[1]
TARGET = REPO / ".venv" / "collections" / "ansible_collections"
CACHE = REPO / ".cache" / "wheels"


def wheel() -> Path:
    found = sorted(CACHE.glob("ansible-12.3.0-*.whl"))
    if found:
        return found[0]
    CACHE.mkdir(parents=True, exist_ok=True)
    print(f"downloading {ANSIBLE_PACKAGE} from the package index (about 50 MB) ...", flush=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                    "-d", str(CACHE), ANSIBLE_PACKAGE], check=True)
    return sorted(CACHE.glob("ansible-12.3.0-*.whl"))[0]


def extract(source: Path) -> None:
    with zipfile.ZipFile(source) as archive:
        for collection in COLLECTIONS:
            prefix = f"ansible_collections/{collection}/"
            members = [m for m in archive.namelist() if m.startswith(prefix)]
            if not members:
                raise SystemExit(f"{source.name} has no {collection} collection")
            shutil.rmtree(TARGET / collection, ignore_errors=True)
            for member in members:
                archive.extract(member, TARGET.parent)
            print(f"installed {collection.replace('/', '.')} from {source.name}", flush=True)


def link_checkout() -> None:
    link = TARGET / "atlas" / "vllm"
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(os.path.relpath(REPO, link.parent))


def main() -> int:
    extract(wheel())
    link_checkout()
    return 0


if __name__ == "__main__":
    sys.exit(main())
