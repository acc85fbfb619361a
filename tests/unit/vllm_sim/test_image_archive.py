"""The docker-archive writer and the image build cache, on a tiny fake base layer (no mmdebstrap run)."""

from __future__ import annotations

import hashlib
import io
import json
import sys
import tarfile
from pathlib import Path

import pytest
from image_fakes import fake_base
from vllm_sim_support import SANDBOX_DIR

sys.path.insert(0, str(SANDBOX_DIR))

from atlas_sim.image import build, layers  # noqa: E402
from atlas_sim.image.docker_archive import image_config, layer_from_file, write_archive  # noqa: E402


def read_member(tar: tarfile.TarFile, name: str) -> bytes:
    handle = tar.extractfile(name)
    assert handle is not None
    return handle.read()


def test_archive_structure(tmp_path: Path) -> None:
    base = layer_from_file(fake_base(tmp_path / "base.tar"), "base")
    top = layer_from_file(layers.write_sim_layer(tmp_path / "top.tar"), "sim")
    config = image_config([base, top], "amd64", build.CREATED, build.CONTAINER_CONFIG)
    out = write_archive(tmp_path / "image.tar", [base, top], config, build.REPO_TAGS)

    with tarfile.open(out) as tar:
        names = set(tar.getnames())
        (manifest,) = json.loads(read_member(tar, "manifest.json"))
        assert manifest["RepoTags"] == [
            "quay.io/ascend/vllm-ascend:v0.11.0rc1",
            "quay.io/ascend/vllm-ascend:v0.11.0rc1-openeuler",
            "quay.io/ascend/vllm-ascend:v0.11.0rc1-a3",
        ]
        assert {"index.json", "oci-layout", "repositories", manifest["Config"], *manifest["Layers"]} <= names
        cfg = json.loads(read_member(tar, manifest["Config"]))
        assert (
            "sha256:" + manifest["Config"].rsplit("/", 1)[1]
            == "sha256:" + hashlib.sha256(read_member(tar, manifest["Config"])).hexdigest()
        )
        diff_ids = [f"sha256:{hashlib.sha256(read_member(tar, p)).hexdigest()}" for p in manifest["Layers"]]
        assert cfg["rootfs"] == {"type": "layers", "diff_ids": diff_ids}
        assert cfg["architecture"] == "amd64" and cfg["os"] == "linux"
        assert cfg["config"]["WorkingDir"] == "/workspace"
        assert cfg["config"]["Cmd"] == ["/bin/bash"]
        assert not any("LD_PRELOAD" in e or "jemalloc" in e for e in cfg["config"]["Env"])
        assert len(cfg["history"]) == 2
        repos = json.loads(read_member(tar, "repositories"))
        assert set(repos["quay.io/ascend/vllm-ascend"]) == {"v0.11.0rc1", "v0.11.0rc1-openeuler", "v0.11.0rc1-a3"}
        index = json.loads(read_member(tar, "index.json"))
        assert {m["annotations"]["io.containerd.image.name"] for m in index["manifests"]} == set(build.REPO_TAGS)
        top_layer = tarfile.open(fileobj=io.BytesIO(read_member(tar, manifest["Layers"][1])))
        members = {m.name: m for m in top_layer.getmembers()}
        assert members["usr/local/bin/vllm"].mode == 0o755
        assert "vllm-workspace/vllm_sim/cli.py" in members
        assert "vllm-workspace/vllm_sim/bench/main.py" in members
        assert "workspace" in members
        assert not any("__pycache__" in n or "jemalloc" in n or "ais_bench" in n for n in members)


def test_sim_layer_is_reproducible(tmp_path: Path) -> None:
    one = layer_from_file(layers.write_sim_layer(tmp_path / "a.tar"), "x")
    two = layer_from_file(layers.write_sim_layer(tmp_path / "b.tar"), "x")
    assert one.digest == two.digest


def test_build_image_caches_layers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def fake_build_base(out: Path, progress) -> Path:
        calls.append("base")
        progress("building base layer… 1 MB")
        return fake_base(out)

    monkeypatch.setattr(layers, "build_base_layer", fake_build_base)
    messages: list[str] = []
    first = build.build_image(tmp_path, messages.append)
    assert first.name == "vllm-ascend-v0.11.0rc1.tar"
    assert any(m.startswith("building base layer") for m in messages)
    mtime = first.stat().st_mtime_ns
    messages.clear()
    assert build.build_image(tmp_path, messages.append) == first
    assert first.stat().st_mtime_ns == mtime
    assert calls == ["base"]
    assert any("up to date" in m for m in messages)

    monkeypatch.setattr(layers, "sources_hash", lambda package=layers.SIM_PACKAGE: "f" * 64)
    build.build_image(tmp_path, messages.append)
    assert calls == ["base"]  # only the simulator layer and the archive were rebuilt
    assert len(list(tmp_path.glob("vllm-sim-layer-*.tar"))) == 1
