"""Services of the lab network: an image registry (Debian's docker-registry) and a model mirror.

Both run inside the lab netns on 10.231.0.1, as an operator's own registry mirror and model mirror
would, started detached with their pids recorded; stop() signals only a recorded pid whose command
line is the one started here (never a process found by name).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from . import net, paths
from .proc import SimError

REGISTRY_PORT = 5000
MIRROR_PORT = 8090
REGISTRY = f"{net.LAB_MGMT_IP}:{REGISTRY_PORT}"
MIRROR_URL = f"http://{net.LAB_MGMT_IP}:{MIRROR_PORT}"

REGISTRY_CONFIG = """\
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: {addr}
"""


def _svc_dir() -> Path:
    return paths.run_dir() / "lab"


def registry_storage() -> Path:
    return paths.cache_dir() / "registry"


def models_root() -> Path:
    return paths.cache_dir() / "models"


def _start(name: str, argv: list[str], port: int) -> int:
    svc = _svc_dir()
    svc.mkdir(parents=True, exist_ok=True)
    log = open(svc / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(["nsenter", f"--net={net.NETNS_DIR / net.LAB}", "--", *argv], stdin=subprocess.DEVNULL,
                            stdout=log, stderr=log, start_new_session=True)
    log.close()
    (svc / f"{name}.pid").write_text(f"{proc.pid}\n")
    _wait_port(name, port, proc)
    return proc.pid


def _wait_port(name: str, port: int, proc: subprocess.Popen, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    probe = ["nsenter", f"--net={net.NETNS_DIR / net.LAB}", "--", sys.executable, "-c",
             "import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 1).close()",
             net.LAB_MGMT_IP, str(port)]
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SimError(f"lab {name} exited with {proc.returncode}; see {_svc_dir() / (name + '.log')}")
        if subprocess.run(probe, capture_output=True).returncode == 0:
            return
        time.sleep(0.1)
    raise SimError(f"lab {name} did not listen on port {port} within {timeout:.0f}s")


def start_registry() -> int:
    registry_storage().mkdir(parents=True, exist_ok=True)
    config = _svc_dir() / "registry.yml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(REGISTRY_CONFIG.format(root=registry_storage(), addr=REGISTRY))
    return _start("registry", ["docker-registry", "serve", str(config)], REGISTRY_PORT)


def start_mirror() -> int:
    models_root().mkdir(parents=True, exist_ok=True)
    script = Path(__file__).with_name("mirror_http.py")
    argv = [sys.executable, str(script), "--bind", net.LAB_MGMT_IP, "--port", str(MIRROR_PORT),
            "--root", str(models_root())]
    return _start("mirror", argv, MIRROR_PORT)


def _ours(pid: int, marker: str) -> bool:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    return pid > 1 and marker in cmd


def stop_all() -> None:
    svc = _svc_dir()
    markers = {"registry": str(svc / "registry.yml"), "mirror": str(models_root())}
    for name, marker in markers.items():
        try:
            pid = int((svc / f"{name}.pid").read_text().strip())
        except (OSError, ValueError):
            continue
        # nsenter execs the service, so the recorded pid is the service itself.
        if _ours(pid, marker):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and _ours(pid, marker):
                time.sleep(0.05)
            if _ours(pid, marker):
                os.kill(pid, signal.SIGKILL)


def lab_http_ok(url: str) -> bool:
    probe = ["nsenter", f"--net={net.NETNS_DIR / net.LAB}", "--", "curl", "-fsS", "-o", "/dev/null", url]
    return subprocess.run(probe, capture_output=True).returncode == 0

