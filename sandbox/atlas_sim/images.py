"""The twin's images: built once, pushed to the lab registry through one node's dockerd.

The simulated vLLM-Ascend image is also loaded into every node's dockerd (the serving role may find it there); the
simulated NPU exporter image is only pushed, so a role on the nodes pulls it from the registry as it would from
AscendHub.
"""

from __future__ import annotations

import hashlib
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import host, labsvc, paths
from .image.build import NPU_EXPORTER, REPO_TAGS, build_exporter_image, build_image
from .proc import SimError

Progress = Callable[[str], None]


def ensure_archive(progress: Progress) -> Path:
    return build_image(paths.cache_dir() / "image", progress)


def ensure_exporter_archive(progress: Progress) -> Path:
    return build_exporter_image(paths.cache_dir() / "image", progress)


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
    """Put every vLLM tag into the lab registry (once per image build), using one node's dockerd as the client."""
    _push(via, archive, REPO_TAGS, ".atlas-sim-image", "the image", _digest(archive), loaded, progress)


def push_exporter(via: str, archive: Path, progress: Progress) -> None:
    """Put the NPU exporter image into the lab registry (once per image build); no node keeps it loaded."""
    # The build's key names everything the archive is made of: hashing it spares reading the whole base layer again.
    identity = hashlib.sha256((archive.parent / NPU_EXPORTER.key_name).read_bytes()).hexdigest()
    _push(via, archive, NPU_EXPORTER.repo_tags, ".atlas-sim-npu-exporter", "the NPU exporter image", identity,
          False, progress)


def registry_ref(tag: str) -> str:
    """Where a tag lives in the lab registry: the upstream host replaced by the registry's address."""
    return f"{labsvc.REGISTRY}/{tag.split('/', 1)[1]}"


def _push(via: str, archive: Path, tags: list[str], marker_name: str, what: str, identity: str, loaded: bool,
          progress: Progress) -> None:
    marker = labsvc.registry_storage() / marker_name
    if marker.is_file() and marker.read_text().strip() == identity:
        return
    progress(f"pushing {what} to the lab registry {labsvc.REGISTRY} through {via}")
    if not loaded:
        load_into(via, archive)
    for tag in tags:
        mirror_tag = registry_ref(tag)
        for argv in (["docker", "tag", tag, mirror_tag], ["docker", "push", "--quiet", mirror_tag],
                     ["docker", "rmi", mirror_tag]):
            result = subprocess.run(host.exec_argv(via, argv), capture_output=True, text=True)
            if result.returncode != 0:
                raise SimError(f"{via}: {' '.join(argv)} failed: {result.stderr.strip()}")
        progress(f"pushed {mirror_tag}")
    if not loaded:
        subprocess.run(host.exec_argv(via, ["docker", "rmi", *tags]), capture_output=True)
    marker.write_text(identity + "\n")
