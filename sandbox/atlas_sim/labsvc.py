"""Services of the lab network: an image registry (Debian's docker-registry), a read-only second registry serving
the same images (a site's registry mirror) and a model mirror.

All run inside the lab netns on 10.231.0.1, as an operator's own registry mirror and model mirror
would, started detached with their pids recorded; stop() signals only a recorded pid whose command
line is the one started here (never a process found by name). `registry-down` stops (SIGSTOP) the first
registry: connections are still accepted by the kernel but never answered, as with a registry that hangs.
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
REGISTRY_MIRROR_PORT = 5001
MIRROR_PORT = 8090
REGISTRY = f"{net.LAB_MGMT_IP}:{REGISTRY_PORT}"
REGISTRY_MIRROR = f"{net.LAB_MGMT_IP}:{REGISTRY_MIRROR_PORT}"
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
  maintenance:
    readonly:
      enabled: {readonly}
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
    """The registry images are pushed to, and the read-only mirror of it on the next port."""
    registry_storage().mkdir(parents=True, exist_ok=True)
    pid = 0
    for name, addr, port, readonly in (("registry", REGISTRY, REGISTRY_PORT, "false"),
                                       ("registry-mirror", REGISTRY_MIRROR, REGISTRY_MIRROR_PORT, "true")):
        config = _svc_dir() / f"{name}.yml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(REGISTRY_CONFIG.format(root=registry_storage(), addr=addr, readonly=readonly))
        started = _start(name, ["docker-registry", "serve", str(config)], port)
        pid = pid or started
    return pid


def _recorded(name: str, marker: str) -> int | None:
    try:
        pid = int((_svc_dir() / f"{name}.pid").read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _ours(pid, marker) else None


def set_registry_down(down: bool) -> None:
    """Hang (SIGSTOP) or resume (SIGCONT) the first lab registry; the mirror keeps serving."""
    pid = _recorded("registry", str(_svc_dir() / "registry.yml"))
    if pid is None:
        raise SimError("the lab registry is not running (is the fleet up?)")
    os.kill(pid, signal.SIGSTOP if down else signal.SIGCONT)


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
    markers = {"registry": str(svc / "registry.yml"), "registry-mirror": str(svc / "registry-mirror.yml"),
               "mirror": str(models_root())}
    for name, marker in markers.items():
        # nsenter execs the service, so the recorded pid is the service itself.
        pid = _recorded(name, marker)
        if pid is not None:
            # A registry left stopped by registry-down must run again to act on SIGTERM.
            os.kill(pid, signal.SIGCONT)
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and _ours(pid, marker):
                time.sleep(0.05)
            if _ours(pid, marker):
                os.kill(pid, signal.SIGKILL)


def lab_http_ok(url: str) -> bool:
    probe = ["nsenter", f"--net={net.NETNS_DIR / net.LAB}", "--", "curl", "-fsS", "-o", "/dev/null", url]
    return subprocess.run(probe, capture_output=True).returncode == 0

