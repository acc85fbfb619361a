"""The layers of the simulated images: a Debian bookworm base with python3 (shared by both images), and the `vllm`
simulator on top of it for the vLLM-Ascend image.

The base comes from mmdebstrap (the machine's apt sources, no daemon). The simulator layer is a reproducible tar
(layer_tar), so equal sources always give the same diff_id.
"""

from __future__ import annotations

import hashlib
import platform
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from atlas_sim.image.layer_tar import LayerContent, python_sources

SIM_PACKAGE = Path(__file__).resolve().parent / "vllm_sim"
SIM_DEST = "vllm-workspace/vllm_sim"
# Bumped when the layer's layout (not the sources) changes, so cached layers are rebuilt.
LAYOUT_VERSION = "2"

# The CANN toolkit's own record of its release, where the real image keeps it (vllm-ascend #1696 shows the file;
# v0.11.0rc1 builds on CANN 8.3.RC1, whose inner version vllm-ascend #4148 shows). The simulator reads it back.
TOOLKIT_DIR = f"usr/local/Ascend/ascend-toolkit/latest/{platform.machine()}-linux"
TOOLKIT_INFO = (
    "package_name=Ascend-cann-toolkit\n"
    "version=8.3.RC1\n"
    "innerversion=V100R001C23SPC001B235\n"
)

LAUNCHER = """#!/usr/bin/python3
# vLLM 0.11.0 command-line entry point (simulated engine of the atlas-vllm sandbox).
import sys

sys.path.insert(0, "/vllm-workspace")
from vllm_sim.cli import main

if __name__ == "__main__":
    sys.exit(main())
"""


def sim_sources(package: Path = SIM_PACKAGE) -> list[Path]:
    return python_sources(package)


def sources_hash(package: Path = SIM_PACKAGE) -> str:
    digest = hashlib.sha256(f"layout={LAYOUT_VERSION}\n".encode())
    digest.update(LAUNCHER.encode())
    digest.update(f"{TOOLKIT_DIR}\n{TOOLKIT_INFO}".encode())
    for path in sim_sources(package):
        digest.update(str(path.relative_to(package)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def write_sim_layer(out: Path, package: Path = SIM_PACKAGE) -> Path:
    """Tar of /usr/local/bin/vllm, /vllm-workspace/vllm_sim, the CANN toolkit record and the /workspace directory."""
    content = LayerContent()
    content.add_file("usr/local/bin/vllm", LAUNCHER.encode(), 0o755)
    content.add_file(f"{TOOLKIT_DIR}/ascend_toolkit_install.info", TOOLKIT_INFO.encode(), 0o644)
    content.add_package(package, SIM_DEST)
    content.add_dir("workspace")
    return content.write(out)


def build_base_layer(out: Path, progress: Callable[[str], None], suite: str = "bookworm") -> Path:
    """Debian minbase + python3 + ca-certificates as a tar; progress shows the growing size while mmdebstrap runs."""
    tmp = out.with_name(out.name + ".partial")
    cmd = [
        "mmdebstrap",
        "--variant=minbase",
        "--include=python3,ca-certificates",
        "--format=tar",
        "--quiet",
        suite,
        str(tmp),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    done = threading.Event()

    started = time.monotonic()

    def _report() -> None:
        # mmdebstrap fills its chroot first and writes the tar at the end, so show elapsed time alongside the size.
        while not done.wait(3.0):
            size = tmp.stat().st_size if tmp.exists() else 0
            progress(f"building base layer… {size / 1e6:.0f} MB ({time.monotonic() - started:.0f} s)")

    reporter = threading.Thread(target=_report, daemon=True)
    reporter.start()
    output, _ = proc.communicate()
    done.set()
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"mmdebstrap failed (exit {proc.returncode}): {output.strip()[-2000:]}")
    tmp.replace(out)
    progress(f"building base layer… {out.stat().st_size / 1e6:.0f} MB (done)")
    return out
