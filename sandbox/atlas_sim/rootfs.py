"""The shared Debian bookworm rootfs every sandbox host boots from (read-only lower layer)."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

from . import paths
from .proc import run, run_with_heartbeat

PACKAGES = [
    "python3", "openssh-server", "iproute2", "procps", "sudo", "systemd", "systemd-sysv", "dbus",
    "python3-apt", "docker.io", "python3-requests", "iputils-ping", "ca-certificates", "curl",
    # openEuler identity: Debian's dnf and rpm make Ansible see a working dnf host.
    "dnf", "python3-dnf", "rpm",
]

# Units that would reach for the machine's network, consoles or login sessions.
MASKED_UNITS = [
    "systemd-networkd.service", "systemd-networkd.socket", "systemd-resolved.service", "systemd-logind.service",
    "getty@.service", "serial-getty@.service", "console-getty.service", "systemd-timesyncd.service",
    "apt-daily.timer", "apt-daily-upgrade.timer", "e2scrub_reap.service", "systemd-journald-audit.socket",
]

SSHD_CONFIG = """\
# atlas-sim: root by key only, no passwords, no DNS lookups of clients.
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
"""

DOCKER_DAEMON = """\
{
  "iptables": false,
  "ip6tables": false,
  "storage-driver": "overlay2",
  "dns": ["127.0.0.1"],
  "insecure-registries": ["10.231.0.1:5000", "10.231.0.1:5001"]
}
"""

RECIPE_VERSION = "5"


def recipe_hash() -> str:
    digest = hashlib.sha256()
    for part in (RECIPE_VERSION, " ".join(PACKAGES), " ".join(MASKED_UNITS), SSHD_CONFIG, DOCKER_DAEMON):
        digest.update(part.encode())
    return digest.hexdigest()[:16]


def rootfs_dir() -> Path:
    return paths.cache_dir() / "rootfs"


def is_current() -> bool:
    marker = rootfs_dir() / ".atlas-sim-recipe"
    return marker.is_file() and marker.read_text().strip() == recipe_hash()


def ensure(progress: Callable[[str], None]) -> Path:
    """Build the rootfs unless a build of the same recipe is cached."""
    target = rootfs_dir()
    if is_current():
        return target
    partial = target.with_name("rootfs.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    progress(f"building the Debian bookworm rootfs ({len(PACKAGES)} packages, about 1-3 minutes)")
    run_with_heartbeat(
        ["mmdebstrap", "--variant=minbase", "--include=" + ",".join(PACKAGES), "bookworm", str(partial)],
        progress, "mmdebstrap",
    )
    progress("configuring the rootfs")
    _configure(partial)
    (partial / ".atlas-sim-recipe").write_text(recipe_hash() + "\n")
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    progress(f"rootfs ready at {target}")
    return target


def _configure(root: Path) -> None:
    for unit in MASKED_UNITS:
        link = root / "etc/systemd/system" / unit
        link.unlink(missing_ok=True)
        link.symlink_to("/dev/null")
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    (root / "etc/ssh/sshd_config.d").mkdir(exist_ok=True)
    (root / "etc/ssh/sshd_config.d/atlas-sim.conf").write_text(SSHD_CONFIG)
    (root / "etc/docker").mkdir(exist_ok=True)
    (root / "etc/docker/daemon.json").write_text(DOCKER_DAEMON)
    # The nodes have no uplink: any resolver lookup must fail at once, not time out.
    resolv = root / "etc/resolv.conf"
    resolv.unlink(missing_ok=True)
    resolv.write_text("nameserver 127.0.0.1\n")
    # Nodes reach no Debian mirror; each identity adds its local mirror at boot time.
    for source in (root / "etc/apt").glob("sources.list.d/*"):
        source.unlink()
    (root / "etc/apt/sources.list").write_text("")
    shutil.rmtree(root / "var/lib/apt/lists", ignore_errors=True)
    (root / "var/lib/apt/lists/partial").mkdir(parents=True)
    # Debian's rpm keeps its database under $HOME unless told otherwise; dnf hosts need one shared db.
    (root / "etc/rpm").mkdir(exist_ok=True)
    (root / "etc/rpm/macros.dbpath").write_text("%_dbpath /var/lib/rpm\n")
    run(["chroot", str(root), "rpmdb", "--initdb"])
    (root / "etc/dnf/vars").mkdir(parents=True, exist_ok=True)
    (root / "etc/dnf/vars/releasever").write_text("22.03\n")
    (root / "etc/machine-id").write_text("")
    run(["chroot", str(root), "systemctl", "enable", "docker.service", "ssh.service"])
