"""Build the simulated quay.io/ascend/vllm-ascend:v0.11.0rc1 image as a docker-archive tarball.

    python3 -m atlas_sim.image.build OUT_DIR

Caching in OUT_DIR: the base layer (base-layer.tar) is built once; the simulator layer and the archive are rebuilt
only when the sources' content hash changes. Like the real v0.11.0rc1 image, it carries no jemalloc and no AISBench.
"""

from __future__ import annotations

import json
import platform
import sys
from collections.abc import Callable
from pathlib import Path

from atlas_sim.image import layers
from atlas_sim.image.docker_archive import Layer, image_config, layer_from_file, write_archive

REPOSITORY = "quay.io/ascend/vllm-ascend"
TAGS = ("v0.11.0rc1", "v0.11.0rc1-openeuler", "v0.11.0rc1-a3")
REPO_TAGS = [f"{REPOSITORY}:{tag}" for tag in TAGS]
ARCHIVE_NAME = "vllm-ascend-v0.11.0rc1.tar"
# The tag's commit date (c5fe179c, 2025-11-10).
CREATED = "2025-11-10T00:00:00Z"
BASE_CREATED_BY = "mmdebstrap --variant=minbase --include=python3,ca-certificates bookworm"
SIM_CREATED_BY = "COPY vllm_sim /vllm-workspace/vllm_sim; COPY vllm /usr/local/bin/vllm # buildkit"

# The environment of the real image where it matters to callers (no CANN variables: nothing here reads them).
CONTAINER_CONFIG = {
    "Env": [
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "LANG=C.UTF-8",
        "PIP_INDEX_URL=https://pypi.org/simple",
        "COMPILE_CUSTOM_KERNELS=1",
    ],
    "Cmd": ["/bin/bash"],
    "WorkingDir": "/workspace",
    "Labels": {
        "org.opencontainers.image.source": "https://github.com/vllm-project/vllm-ascend",
        "org.opencontainers.image.version": "v0.11.0rc1",
        "org.opencontainers.image.revision": "c5fe179c",
    },
}


def docker_arch(machine: str | None = None) -> str:
    machine = (machine or platform.machine()).lower()
    return {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)


def _cached_layer(tar: Path, created_by: str) -> Layer:
    # The digest of a multi-hundred-MB base tar is kept next to it, so rebuilds only hash the small top layer.
    stamp = tar.with_name(tar.name + ".sha256")
    if stamp.is_file() and tar.is_file() and tar.stat().st_mtime <= stamp.stat().st_mtime:
        digest = stamp.read_text(encoding="utf-8").strip()
        return Layer(path=tar, digest=digest, size=tar.stat().st_size, created_by=created_by)
    layer = layer_from_file(tar, created_by)
    stamp.write_text(layer.digest + "\n", encoding="utf-8")
    return layer


def assemble(out: Path, base: Layer, top: Layer, progress: Callable[[str], None], arch: str | None = None) -> Path:
    config = image_config([base, top], arch or docker_arch(), CREATED, CONTAINER_CONFIG)
    return write_archive(out, [base, top], config, REPO_TAGS, progress)


def build_image(build_dir: Path, progress: Callable[[str], None] = print) -> Path:
    """Return the archive path, building only what changed since the last call with the same build_dir."""
    build_dir = Path(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    archive = build_dir / ARCHIVE_NAME
    key_file = build_dir / "archive.key"
    base_tar = build_dir / "base-layer.tar"
    if not base_tar.is_file():
        progress("building base layer… 0 MB")
        layers.build_base_layer(base_tar, progress)
    base = _cached_layer(base_tar, BASE_CREATED_BY)

    src_hash = layers.sources_hash()
    sim_tar = build_dir / f"vllm-sim-layer-{src_hash[:16]}.tar"
    if not sim_tar.is_file():
        progress(f"building simulator layer ({src_hash[:12]})")
        for stale in build_dir.glob("vllm-sim-layer-*.tar*"):
            stale.unlink()
        layers.write_sim_layer(sim_tar)
    top = _cached_layer(sim_tar, SIM_CREATED_BY)

    key = json.dumps({"base": base.digest, "top": top.digest, "tags": REPO_TAGS, "arch": docker_arch()})
    if archive.is_file() and key_file.is_file() and key_file.read_text(encoding="utf-8") == key:
        progress(f"image up to date: {archive}")
        return archive
    progress(f"writing {archive.name}")
    assemble(archive, base, top, progress)
    key_file.write_text(key, encoding="utf-8")
    progress(f"image ready: {archive} ({archive.stat().st_size / 1e6:.0f} MB, tags: {', '.join(TAGS)})")
    return archive


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] in ("-h", "--help"):
        sys.stderr.write("usage: python3 -m atlas_sim.image.build OUT_DIR\n")
        return 2
    try:
        build_image(Path(args[0]), lambda msg: print(msg, flush=True))
    except RuntimeError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
