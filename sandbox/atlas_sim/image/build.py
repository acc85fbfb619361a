"""Build the twin's images as docker-archive tarballs: the simulated quay.io/ascend/vllm-ascend:v0.11.0rc1 and the
simulated Huawei NPU exporter (swr.cn-south-1.myhuaweicloud.com/ascendhub/npu-exporter:v7.3.0).

    python3 -m atlas_sim.image.build OUT_DIR

Caching in OUT_DIR: the base layer (base-layer.tar), shared by both images, is built once; each image's top layer
and archive are rebuilt only when their content hash (or the image's config) changes. Like the real v0.11.0rc1
image, the vLLM one carries no jemalloc and no AISBench.
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from atlas_sim.image import exporter_image, layers
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


@dataclass(frozen=True)
class Recipe:
    """One image on the shared base: what names it, how its top layer is made, and where its cache files go."""

    what: str  # the top layer in progress messages
    archive_name: str
    key_name: str  # records what the archive was built from
    layer_prefix: str  # cached top layers are <prefix>-<hash>.tar
    repo_tags: list[str]
    created: str
    container_config: dict[str, Any]
    top_created_by: str
    # Called at build time, so tests can swap the module functions behind them.
    top_hash: Callable[[], str]
    write_top: Callable[[Path], Path]


VLLM = Recipe(
    what="simulator layer",
    archive_name=ARCHIVE_NAME,
    key_name="archive.key",
    layer_prefix="vllm-sim-layer",
    repo_tags=REPO_TAGS,
    created=CREATED,
    container_config=CONTAINER_CONFIG,
    top_created_by=SIM_CREATED_BY,
    top_hash=lambda: layers.sources_hash(),
    write_top=lambda out: layers.write_sim_layer(out),
)
NPU_EXPORTER = Recipe(
    what="NPU exporter layer",
    archive_name=exporter_image.ARCHIVE_NAME,
    key_name=exporter_image.ARCHIVE_NAME.removesuffix(".tar") + ".key",
    layer_prefix="npu-exporter-layer",
    repo_tags=exporter_image.REPO_TAGS,
    created=exporter_image.CREATED,
    container_config=exporter_image.CONTAINER_CONFIG,
    top_created_by=exporter_image.TOP_CREATED_BY,
    top_hash=lambda: exporter_image.sources_hash(),
    write_top=lambda out: exporter_image.write_layer(out),
)


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


def _base_layer(build_dir: Path, progress: Callable[[str], None]) -> Layer:
    base_tar = build_dir / "base-layer.tar"
    if not base_tar.is_file():
        progress("building base layer… 0 MB")
        layers.build_base_layer(base_tar, progress)
    return _cached_layer(base_tar, BASE_CREATED_BY)


def _top_layer(recipe: Recipe, build_dir: Path, progress: Callable[[str], None]) -> Layer:
    src_hash = recipe.top_hash()
    top_tar = build_dir / f"{recipe.layer_prefix}-{src_hash[:16]}.tar"
    if not top_tar.is_file():
        progress(f"building {recipe.what} ({src_hash[:12]})")
        for stale in build_dir.glob(f"{recipe.layer_prefix}-*.tar*"):
            stale.unlink()
        recipe.write_top(top_tar)
    return _cached_layer(top_tar, recipe.top_created_by)


def assemble_recipe(recipe: Recipe, out: Path, base: Layer, top: Layer, progress: Callable[[str], None],
                    arch: str | None = None) -> Path:
    config = image_config([base, top], arch or docker_arch(), recipe.created, recipe.container_config)
    return write_archive(out, [base, top], config, recipe.repo_tags, progress)


def assemble(out: Path, base: Layer, top: Layer, progress: Callable[[str], None], arch: str | None = None) -> Path:
    return assemble_recipe(VLLM, out, base, top, progress, arch)


def archive_key(recipe: Recipe, base: Layer, top: Layer) -> str:
    """Everything the archive's bytes depend on, so an unchanged key means an unchanged archive."""
    config = hashlib.sha256(json.dumps([recipe.created, recipe.container_config], sort_keys=True).encode())
    return json.dumps({"base": base.digest, "top": top.digest, "tags": recipe.repo_tags, "arch": docker_arch(),
                       "config": config.hexdigest()})


def build_recipe(recipe: Recipe, build_dir: Path, progress: Callable[[str], None] = print) -> Path:
    """Return the archive path, building only what changed since the last call with the same build_dir."""
    build_dir = Path(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    archive = build_dir / recipe.archive_name
    key_file = build_dir / recipe.key_name
    base = _base_layer(build_dir, progress)
    top = _top_layer(recipe, build_dir, progress)
    key = archive_key(recipe, base, top)
    if archive.is_file() and key_file.is_file() and key_file.read_text(encoding="utf-8") == key:
        progress(f"image up to date: {archive}")
        return archive
    progress(f"writing {archive.name}")
    assemble_recipe(recipe, archive, base, top, progress)
    key_file.write_text(key, encoding="utf-8")
    tags = ", ".join(ref.rsplit(":", 1)[1] for ref in recipe.repo_tags)
    progress(f"image ready: {archive} ({archive.stat().st_size / 1e6:.0f} MB, tags: {tags})")
    return archive


def build_image(build_dir: Path, progress: Callable[[str], None] = print) -> Path:
    """The simulated vLLM-Ascend image."""
    return build_recipe(VLLM, build_dir, progress)


def build_exporter_image(build_dir: Path, progress: Callable[[str], None] = print) -> Path:
    """The simulated NPU exporter image (same base layer, same cache directory)."""
    return build_recipe(NPU_EXPORTER, build_dir, progress)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] in ("-h", "--help"):
        sys.stderr.write("usage: python3 -m atlas_sim.image.build OUT_DIR\n")
        return 2
    try:
        for build in (build_image, build_exporter_image):
            build(Path(args[0]), lambda msg: print(msg, flush=True))
    except RuntimeError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
