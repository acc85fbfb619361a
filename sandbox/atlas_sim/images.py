"""The simulated vLLM-Ascend image: built once, loaded into the nodes' dockerd, pushed to the lab registry."""

from __future__ import annotations

import hashlib
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import host, labsvc, paths
from .image.build import REPO_TAGS, build_image
from .proc import SimError

Progress = Callable[[str], None]


def ensure_archive(progress: Progress) -> Path:
    return build_image(paths.cache_dir() / "image", progress)


def load_into(name: str, archive: Path) -> float:
    started = time.monotonic()
    with archive.open("rb") as stream:
        result = subprocess.run(host.exec_argv(name, ["docker", "load", "--quiet"]), stdin=stream,
                                capture_output=True, text=True)
    if result.returncode != 0:
        raise SimError(f"{name}: docker load failed: {result.stderr.strip()}")
    return time.monotonic() - started


def load_all(names: list[str], archive: Path, progress: Progress) -> None:
    size_mb = archive.stat().st_size / 1e6
    progress(f"loading the vLLM-Ascend image ({size_mb:.0f} MB) into {len(names)} node(s)")
    # dockerd unpacking is disk- and CPU-bound; a few at a time keeps a 2-core machine responsive.
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(load_into, name, archive) for name in names}
        for done, (name, future) in enumerate(futures.items(), start=1):
            progress(f"image loaded on {name} ({done}/{len(names)}, {future.result():.1f}s)")


def _digest(archive: Path) -> str:
    digest = hashlib.sha256()
    with archive.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def push_to_registry(via: str, archive: Path, loaded: bool, progress: Progress) -> None:
    """Put every tag into the lab registry (once per image build), using one node's dockerd as the client."""
    marker = labsvc.registry_storage() / ".atlas-sim-image"
    digest = _digest(archive)
    if marker.is_file() and marker.read_text().strip() == digest:
        return
    progress(f"pushing the image to the lab registry {labsvc.REGISTRY} through {via}")
    if not loaded:
        load_into(via, archive)
    for tag in REPO_TAGS:
        mirror_tag = f"{labsvc.REGISTRY}/{tag.split('/', 1)[1]}"
        for argv in (["docker", "tag", tag, mirror_tag], ["docker", "push", "--quiet", mirror_tag],
                     ["docker", "rmi", mirror_tag]):
            result = subprocess.run(host.exec_argv(via, argv), capture_output=True, text=True)
            if result.returncode != 0:
                raise SimError(f"{via}: {' '.join(argv)} failed: {result.stderr.strip()}")
    if not loaded:
        subprocess.run(host.exec_argv(via, ["docker", "rmi", *REPO_TAGS]), capture_output=True)
    marker.write_text(digest + "\n")
