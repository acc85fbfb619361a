"""The simulated NPU exporter image: archive layout, cache, and a top layer that runs on its own."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from atlas_sim.image import build, exporter_image, layers
from image_fakes import fake_base

# build/metricConfiguration.json of MindCluster v7.3.0, as the real image carries it in /usr/local.
REAL_METRIC_CONFIGURATION = """[
  {"metricsGroup": "ddr", "state": "ON"},
  {"metricsGroup": "hccs", "state": "ON"},
  {"metricsGroup": "npu", "state": "ON"},
  {"metricsGroup": "network", "state": "ON"},
  {"metricsGroup": "pcie", "state": "ON"},
  {"metricsGroup": "roce", "state": "ON"},
  {"metricsGroup": "sio", "state": "ON"},
  {"metricsGroup": "vnpu", "state": "ON"},
  {"metricsGroup": "version", "state": "ON"},
  {"metricsGroup": "optical", "state": "ON"},
  {"metricsGroup": "hbm", "state": "ON"}
]"""


@pytest.fixture
def base_builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []

    def fake_build_base(out: Path, progress) -> Path:
        calls.append("base")
        return fake_base(out)

    monkeypatch.setattr(layers, "build_base_layer", fake_build_base)
    return calls


def member(tar: tarfile.TarFile, name: str) -> bytes:
    handle = tar.extractfile(name)
    assert handle is not None
    return handle.read()


def test_archive_layout(tmp_path: Path, base_builds: list[str]) -> None:
    archive = build.build_exporter_image(tmp_path, lambda _msg: None)
    assert archive.name == "npu-exporter-v7.3.0.tar"
    with tarfile.open(archive) as tar:
        (manifest,) = json.loads(member(tar, "manifest.json"))
        assert manifest["RepoTags"] == ["swr.cn-south-1.myhuaweicloud.com/ascendhub/npu-exporter:v7.3.0"]
        config = json.loads(member(tar, manifest["Config"]))
        assert config["config"]["Cmd"] == ["/bin/sh", "-c", "/usr/local/bin/npu-exporter"]
        assert (
            "LD_LIBRARY_PATH=/usr/local/Ascend/driver/lib64/driver:/usr/local/Ascend/driver/lib64/common:"
            "/usr/local/Ascend/add-ons:/usr/local/Ascend/driver/lib64:/usr/local/dcmi"
        ) in config["config"]["Env"]
        repositories = json.loads(member(tar, "repositories"))
        assert list(repositories["swr.cn-south-1.myhuaweicloud.com/ascendhub/npu-exporter"]) == ["v7.3.0"]
        top = tarfile.open(fileobj=io.BytesIO(member(tar, manifest["Layers"][1])))
    members = {m.name: m for m in top.getmembers()}
    exporter = members["usr/local/bin/npu-exporter"]
    assert exporter.isfile() and exporter.mode == 0o755 and (exporter.uid, exporter.gid) == (0, 0)
    assert member(top, "usr/local/bin/npu-exporter").startswith(b"#!/usr/bin/python3\n")
    assert "usr/local/lib/npu-exporter/npu_exporter/main.py" in members
    assert member(top, "usr/local/metricConfiguration.json").decode() == REAL_METRIC_CONFIGURATION
    assert members["usr/local/metricConfiguration.json"].mode == 0o440
    assert not any("__pycache__" in name for name in members)


def test_shares_the_vllm_base_layer_and_caches(tmp_path: Path, base_builds: list[str]) -> None:
    messages: list[str] = []
    vllm = build.build_image(tmp_path, messages.append)
    exporter = build.build_exporter_image(tmp_path, messages.append)
    assert base_builds == ["base"]
    layer_lists = []
    for archive in (vllm, exporter):
        with tarfile.open(archive) as tar:
            layer_lists.append(json.loads(member(tar, "manifest.json"))[0]["Layers"])
    assert layer_lists[0][0] == layer_lists[1][0] and layer_lists[0][1] != layer_lists[1][1]
    messages.clear()
    assert build.build_exporter_image(tmp_path, messages.append) == exporter
    assert messages == [f"image up to date: {exporter}"]
    assert len(list(tmp_path.glob("npu-exporter-layer-*.tar"))) == 1


def test_layer_is_reproducible(tmp_path: Path) -> None:
    one = exporter_image.write_layer(tmp_path / "a.tar").read_bytes()
    two = exporter_image.write_layer(tmp_path / "b.tar").read_bytes()
    assert one == two
    assert exporter_image.sources_hash() == exporter_image.layer_content().digest()


def test_top_layer_runs_on_its_own(tmp_path: Path) -> None:
    with tarfile.open(exporter_image.write_layer(tmp_path / "top.tar")) as tar:
        tar.extractall(tmp_path / "root", filter="data")
    lib = tmp_path / "root" / exporter_image.INSTALL_DIR
    code = f"import sys; sys.path.insert(0, {str(lib)!r}); from npu_exporter.main import main; sys.exit(main())"
    done = subprocess.run([sys.executable, "-I", "-c", code, "-version"], capture_output=True, text=True, timeout=60,
                          check=False, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("NPU-exporter version: v7.3.0_linux-")
