"""What makes the simulated NPU exporter image: its name and tag, its container config and its top layer.

The real image (MindCluster v7.3.0, build/Dockerfile) is Ubuntu 22.04 with /usr/local/bin/npu-exporter, the two
metric configuration files under /usr/local, LD_LIBRARY_PATH pointing at the mounted driver and a shell-form CMD.
The twin's shares the vLLM image's Debian base layer and puts the Python simulator where the binary would be.
"""

from __future__ import annotations

from pathlib import Path

from atlas_sim.image.layer_tar import LayerContent
from atlas_sim.image.npu_exporter import RELEASE
from atlas_sim.image.npu_exporter.dcmi import IMAGE_LD_LIBRARY_PATH
from atlas_sim.image.npu_exporter.metric_config import DEFAULT_FILE

# Huawei's AscendHub repository; tags of v26.0.0 and earlier are the bare version (docker/npu-exporter/OVERVIEW.md).
REPOSITORY = "swr.cn-south-1.myhuaweicloud.com/ascendhub/npu-exporter"
TAGS = (RELEASE,)
REPO_TAGS = [f"{REPOSITORY}:{tag}" for tag in TAGS]
ARCHIVE_NAME = f"npu-exporter-{RELEASE}.tar"
# The v7.3.0 tag's commit time (012fa8e3, 2026-01-08T20:30:48+08:00).
CREATED = "2026-01-08T12:30:48Z"
TOP_CREATED_BY = (
    "COPY ./npu-exporter /usr/local/bin/; COPY ./metricConfiguration.json ./pluginConfiguration.json /usr/local/ "
    "# buildkit"
)
CONTAINER_CONFIG = {
    "Env": [
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        f"LD_LIBRARY_PATH={IMAGE_LD_LIBRARY_PATH}",
    ],
    # `CMD /usr/local/bin/npu-exporter` (shell form). Without -ip it stops at once: "the listen ip is invalid".
    "Cmd": ["/bin/sh", "-c", "/usr/local/bin/npu-exporter"],
    "Labels": {
        "org.opencontainers.image.source": "https://gitcode.com/Ascend/mind-cluster",
        "org.opencontainers.image.version": RELEASE,
    },
}

PACKAGE = Path(__file__).resolve().parent / "npu_exporter"
INSTALL_DIR = "usr/local/lib/npu-exporter"
PLUGIN_CONFIG = '[\n  {"metricsGroup": "MyPlugin", "state": "OFF"},\n  {"metricsGroup": "text", "state": "ON"}\n]'


def launcher(install_dir: str = "/" + INSTALL_DIR) -> str:
    return (
        "#!/usr/bin/python3\n"
        "# NPU exporter of MindCluster v7.3.0 (simulated for the atlas-vllm sandbox; reads the twin's driver).\n"
        "import sys\n\n"
        f"sys.path.insert(0, {install_dir!r})\n"
        "from npu_exporter.main import main\n\n"
        'if __name__ == "__main__":\n'
        "    sys.exit(main())\n"
    )


def layer_content(package: Path = PACKAGE) -> LayerContent:
    content = LayerContent()
    content.add_file("usr/local/bin/npu-exporter", launcher().encode(), 0o755)
    content.add_package(package, f"{INSTALL_DIR}/npu_exporter")
    content.add_file("usr/local/metricConfiguration.json", DEFAULT_FILE.encode(), 0o440)
    content.add_file("usr/local/pluginConfiguration.json", PLUGIN_CONFIG.encode(), 0o440)
    return content


def sources_hash() -> str:
    return layer_content().digest()


def write_layer(out: Path) -> Path:
    return layer_content().write(out)
