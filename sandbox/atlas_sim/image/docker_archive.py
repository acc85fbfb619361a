"""Write a docker-archive tarball (what `docker save` produces and `docker load` accepts) without a daemon.

Layout: the OCI-compatible one of Docker 25+ `docker save` — `blobs/sha256/<hex>` for the config, the
uncompressed layer tars and the OCI manifest, plus `index.json`, `oci-layout`, and the Docker-specific
`manifest.json` (Config, RepoTags, Layers) and `repositories`. Layers are stored uncompressed, so each layer's
digest is also its diff_id.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Layer:
    path: Path
    digest: str  # "sha256:<hex>" of the uncompressed tar (= diff_id)
    size: int
    created_by: str


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def layer_from_file(path: Path, created_by: str) -> Layer:
    return Layer(path=path, digest=sha256_file(path), size=path.stat().st_size, created_by=created_by)


def image_config(
    layers: list[Layer], architecture: str, created: str, container_config: dict[str, Any]
) -> dict[str, Any]:
    return {
        "architecture": architecture,
        "os": "linux",
        "created": created,
        "config": container_config,
        "rootfs": {"type": "layers", "diff_ids": [layer.digest for layer in layers]},
        "history": [{"created": created, "created_by": layer.created_by} for layer in layers],
    }


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    info.mtime = 0
    tar.addfile(info, io.BytesIO(data))


def _add_dir(tar: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    info.mtime = 0
    tar.addfile(info)


def _split_tag(ref: str) -> tuple[str, str]:
    repo, _, tag = ref.rpartition(":")
    if not repo or "/" in tag:
        return ref, "latest"
    return repo, tag


def write_archive(
    out: Path,
    layers: list[Layer],
    config: dict[str, Any],
    repo_tags: list[str],
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Write the archive atomically (a partial file never carries the final name)."""
    config_bytes = _canonical(config)
    config_hex = hashlib.sha256(config_bytes).hexdigest()
    manifest_obj = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": f"sha256:{config_hex}", "size": len(config_bytes)},
        "layers": [{"mediaType": OCI_LAYER, "digest": layer.digest, "size": layer.size} for layer in layers],
    }
    manifest_bytes = _canonical(manifest_obj)
    manifest_hex = hashlib.sha256(manifest_bytes).hexdigest()
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": f"sha256:{manifest_hex}",
                "size": len(manifest_bytes),
                "annotations": {
                    "io.containerd.image.name": ref,
                    "org.opencontainers.image.ref.name": _split_tag(ref)[1],
                },
            }
            for ref in repo_tags
        ],
    }
    docker_manifest = [
        {
            "Config": f"blobs/sha256/{config_hex}",
            "RepoTags": list(repo_tags),
            "Layers": [f"blobs/sha256/{layer.digest.split(':', 1)[1]}" for layer in layers],
        }
    ]
    repositories: dict[str, dict[str, str]] = {}
    top = layers[-1].digest.split(":", 1)[1]
    for ref in repo_tags:
        repo, tag = _split_tag(ref)
        repositories.setdefault(repo, {})[tag] = top

    tmp = out.with_name(out.name + ".partial")
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
        _add_dir(tar, "blobs")
        _add_dir(tar, "blobs/sha256")
        for layer in layers:
            if progress:
                progress(f"writing layer {layer.digest[7:19]} ({layer.size / 1e6:.0f} MB)")
            info = tar.gettarinfo(str(layer.path), arcname=f"blobs/sha256/{layer.digest.split(':', 1)[1]}")
            info.mtime, info.uid, info.gid, info.uname, info.gname, info.mode = 0, 0, 0, "", "", 0o644
            with open(layer.path, "rb") as handle:
                tar.addfile(info, handle)
        _add_bytes(tar, f"blobs/sha256/{config_hex}", config_bytes)
        _add_bytes(tar, f"blobs/sha256/{manifest_hex}", manifest_bytes)
        _add_bytes(tar, "index.json", _canonical(index))
        _add_bytes(tar, "manifest.json", _canonical(docker_manifest))
        _add_bytes(tar, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        _add_bytes(tar, "repositories", _canonical(repositories))
    tmp.replace(out)
    return out
