"""One sandbox host: its overlay upper layer, its launcher process and its PID-namespace init.

Safety rule: we only ever signal a process whose pid we recorded *and* whose command line is
the launcher we started for this host directory. A missing or stale pid file means "nothing to
stop", never "look the process up by name".
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

from . import paths
from .identity import Identity
from .proc import SimError, run

BOOT_SCRIPT = Path(__file__).with_name("node_boot.sh")
CGROUP_ROOT = Path("/sys/fs/cgroup/unified") if Path("/sys/fs/cgroup/unified/cgroup.procs").exists() \
    else Path("/sys/fs/cgroup")
CGROUP_PARENT = CGROUP_ROOT / "atlas-sim"


def whiteout(upper: Path, path: str) -> None:
    """Hide a lower-layer file inside this host (an overlayfs whiteout is a 0:0 character device)."""
    target = upper / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        os.mknod(target, 0o600 | 0o020000, os.makedev(0, 0))


def mask(upper: Path, unit: str) -> None:
    """Mask a systemd unit of the shared rootfs inside this host (what `systemctl mask` writes)."""
    link = upper / "etc/systemd/system" / unit
    link.parent.mkdir(parents=True, exist_ok=True)
    link.unlink(missing_ok=True)
    link.symlink_to("/dev/null")


def write(upper: Path, path: str, content: str | bytes, mode: int = 0o644) -> None:
    target = upper / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode()
    target.write_bytes(content)
    target.chmod(mode)


def prepare(name: str, ip: str, identity: Identity, hosts_file: str, pubkey: str,
            extra_files: dict[str, tuple[bytes, int]], devices: list[str]) -> Path:
    """Write the host's identity into a fresh upper layer; nothing is changed after boot from outside."""
    hdir = paths.host_dir(name)
    shutil.rmtree(hdir, ignore_errors=True)
    for sub in ("upper", "work", "merged", "docker"):
        (hdir / sub).mkdir(parents=True)
    upper = hdir / "upper"
    write(upper, "/etc/hostname", name + "\n")
    write(upper, "/etc/hosts", hosts_file)
    write(upper, "/etc/machine-id", uuid.uuid4().hex + "\n", 0o444)
    for src in (paths.run_dir() / "hostkeys" / name).iterdir():
        write(upper, f"/etc/ssh/{src.name}", src.read_bytes(), 0o600 if not src.name.endswith(".pub") else 0o644)
    write(upper, "/etc/ssh/sshd_config.d/listen.conf", f"ListenAddress {ip}\n")
    write(upper, "/root/.ssh/authorized_keys", pubkey, 0o600)
    (upper / "root/.ssh").chmod(0o700)
    for path, content in identity.files.items():
        write(upper, path, content)
    for path in identity.hidden:
        whiteout(upper, path)
    for unit in identity.masked_units:
        mask(upper, unit)
    for path, (content, mode) in extra_files.items():
        write(upper, path, content, mode)
    (hdir / "devices").write_text("".join(f"{dev} 1 3\n" for dev in devices))
    return hdir


def launch(name: str, rootfs: Path, mirror: Path) -> int:
    """Start the host detached; return the launcher's pid (recorded before anything else happens)."""
    hdir = paths.host_dir(name)
    cgroup = CGROUP_PARENT / name
    cgroup.mkdir(parents=True, exist_ok=True)
    argv = ["ip", "netns", "exec", name, "unshare", "--mount", "--uts", "--ipc", "--pid", "--cgroup", "--fork",
            "/bin/sh", str(BOOT_SCRIPT), str(hdir), str(rootfs), name, str(mirror)]
    log = open(hdir / "boot.log", "wb")  # noqa: SIM115 - handed to the child, closed below

    def enter_cgroup() -> None:
        # The node's cgroup namespace is rooted where its launcher starts, so systemd inside
        # sees only its own subtree and teardown can find everything the node created.
        (cgroup / "cgroup.procs").write_text(str(os.getpid()))

    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                            preexec_fn=enter_cgroup)
    log.close()
    (hdir / "launcher.pid").write_text(f"{proc.pid}\n")
    return proc.pid


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _is_our_launcher(pid: int, name: str) -> bool:
    cmd = _cmdline(pid)
    return pid > 1 and "unshare" in cmd and str(BOOT_SCRIPT) in cmd and str(paths.host_dir(name)) in cmd


def orphan_launchers() -> dict[str, int]:
    """Launchers of ours whose pid files are gone (a run killed mid-way, or a deleted run dir).

    A process counts as ours only if its command line is `unshare ... node_boot.sh <our host dir>`.
    """
    found = {}
    hosts_root = str(paths.run_dir() / "hosts") + "/"
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) <= 1:
            continue
        cmd = _cmdline(int(entry.name))
        if cmd[:1] == ["unshare"] and str(BOOT_SCRIPT) in cmd:
            host_dirs = [arg for arg in cmd if arg.startswith(hosts_root)]
            if host_dirs:
                found[Path(host_dirs[0]).name] = int(entry.name)
    return found


def adopt(name: str, pid: int) -> None:
    """Record an orphan launcher's pid so that stop() can verify and stop it like any other."""
    hdir = paths.host_dir(name)
    hdir.mkdir(parents=True, exist_ok=True)
    (hdir / "launcher.pid").write_text(f"{pid}\n")


def launcher_pid(name: str) -> int | None:
    pid_file = paths.host_dir(name) / "launcher.pid"
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _is_our_launcher(pid, name) else None


def init_pid(name: str) -> int | None:
    """The host's PID-namespace init: the only child of our launcher."""
    launcher = launcher_pid(name)
    if launcher is None:
        return None
    children = Path(f"/proc/{launcher}/task/{launcher}/children")
    try:
        pids = [int(p) for p in children.read_text().split()]
    except OSError:
        return None
    return pids[0] if len(pids) == 1 and pids[0] > 1 else None


def wait_for_init(name: str, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = init_pid(name)
        if pid is not None and _cmdline(pid)[:1] == ["/lib/systemd/systemd"]:
            return pid
        if launcher_pid(name) is None:
            break
        time.sleep(0.05)
    log = (paths.host_dir(name) / "boot.log")
    detail = log.read_text(errors="replace")[-2000:] if log.exists() else "no boot log"
    raise SimError(f"{name}: systemd did not start as the node's init:\n{detail}")


def stop(name: str, timeout: float = 30.0) -> None:
    """Stop the host by killing its PID-namespace init (which ends every process inside)."""
    launcher = launcher_pid(name)
    if launcher is None:
        return
    init = init_pid(name)
    if init is not None:
        os.kill(init, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _is_our_launcher(launcher, name):
        time.sleep(0.05)
    if _is_our_launcher(launcher, name):
        raise SimError(f"{name}: launcher {launcher} did not exit after its init was killed")


def remove_cgroup(name: str, timeout: float = 30.0) -> None:
    """Remove the node's cgroup tree once the kernel has reaped its last process (that takes a moment)."""
    cgroup = CGROUP_PARENT / name
    deadline = time.monotonic() + timeout
    while cgroup.is_dir():
        subtree = sorted((p for p in cgroup.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True)
        try:
            for sub in [*subtree, cgroup]:
                sub.rmdir()
        except OSError as exc:
            if time.monotonic() > deadline:
                raise SimError(f"{name}: cgroup {cgroup} still busy after {timeout:.0f}s: {exc}") from exc
            time.sleep(0.1)


def exec_argv(name: str, argv: list[str]) -> list[str]:
    pid = init_pid(name)
    if pid is None:
        raise SimError(f"{name} is not running (atlas-sim status shows the fleet)")
    return ["nsenter", "-t", str(pid), "-m", "-u", "-i", "-n", "-p", "-C", "-r", "-w", "--",
            "env", "-i", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root",
            "LANG=C.UTF-8", "TERM=" + os.environ.get("TERM", "dumb"), *argv]


def wait_running(name: str, timeout: float = 60.0) -> str:
    """Wait until systemd in the host has finished booting; return its state."""
    result = subprocess.run(
        exec_argv(name, ["timeout", str(int(timeout)), "systemctl", "is-system-running", "--wait"]),
        capture_output=True, text=True)
    state = result.stdout.strip()
    if state not in ("running", "degraded"):
        raise SimError(f"{name}: systemd state is {state or 'unknown'} after {timeout:.0f}s: {result.stderr.strip()}")
    return state


def failed_units(name: str) -> list[str]:
    result = run(exec_argv(name, ["systemctl", "list-units", "--failed", "--plain", "--no-legend"]), check=False)
    return [line.split()[0] for line in result.stdout.splitlines() if line.strip()]
