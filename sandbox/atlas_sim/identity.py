"""OS identities a sandbox node can carry: what Ansible's fact gathering reads to name the OS."""

from __future__ import annotations

from dataclasses import dataclass

from .mirror import APT_SOURCE, DNF_REPO


@dataclass(frozen=True)
class Identity:
    name: str
    files: dict[str, str]
    # Files of the shared rootfs this identity must not have (hidden with overlay whiteouts).
    hidden: tuple[str, ...]
    # Whether `apt-get update` runs once after boot, as it has on any installed Debian-family server.
    package_lists_refresh: bool = False
    # systemd units that must not start (masked in the upper layer).
    masked_units: tuple[str, ...] = ()


UBUNTU_2204 = Identity(
    name="ubuntu22.04",
    files={
        "/etc/os-release": (
            'PRETTY_NAME="Ubuntu 22.04.4 LTS"\nNAME="Ubuntu"\nVERSION_ID="22.04"\n'
            'VERSION="22.04.4 LTS (Jammy Jellyfish)"\nVERSION_CODENAME=jammy\nID=ubuntu\nID_LIKE=debian\n'
            'HOME_URL="https://www.ubuntu.com/"\nUBUNTU_CODENAME=jammy\n'
        ),
        "/etc/lsb-release": (
            "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=22.04\nDISTRIB_CODENAME=jammy\n"
            'DISTRIB_DESCRIPTION="Ubuntu 22.04.4 LTS"\n'
        ),
        "/etc/apt/sources.list.d/atlas-mirror.list": APT_SOURCE,
    },
    # An Ubuntu host has no dnf; leaving it would let a role pass on the wrong package manager.
    hidden=("/usr/bin/dnf", "/usr/bin/dnf-3", "/usr/bin/yum"),
    package_lists_refresh=True,
)

OPENEULER_2203 = Identity(
    name="openeuler22.03",
    files={
        "/etc/os-release": (
            'NAME="openEuler"\nVERSION="22.03 LTS"\nID="openEuler"\nVERSION_ID="22.03"\n'
            'PRETTY_NAME="openEuler 22.03 LTS"\nANSI_COLOR="0;31"\n'
        ),
        "/etc/openEuler-release": "openEuler release 22.03 (LTS)\n",
        "/etc/yum.repos.d/atlas-mirror.repo": DNF_REPO,
    },
    # apt would make a RedHat-family host pass Debian-only code paths.
    hidden=("/usr/bin/apt", "/usr/bin/apt-get", "/etc/debian_version", "/etc/lsb-release"),
)

# The fleet's gateways (hosts of the vLLM router): the shared rootfs is bookworm already, so only the
# mirror source and what a plain Debian server lacks differ. A gateway runs no containers: the rootfs's
# docker and containerd are masked so they never start there.
DEBIAN_12 = Identity(
    name="debian12",
    files={
        "/etc/os-release": (
            'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\n'
            'VERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n'
            'HOME_URL="https://www.debian.org/"\n'
        ),
        "/etc/apt/sources.list.d/atlas-mirror.list": APT_SOURCE,
    },
    # Like Ubuntu: a Debian host has no dnf.
    hidden=("/usr/bin/dnf", "/usr/bin/dnf-3", "/usr/bin/yum"),
    package_lists_refresh=True,
    masked_units=("docker.service", "docker.socket", "containerd.service"),
)

IDENTITIES = {identity.name: identity for identity in (UBUNTU_2204, OPENEULER_2203, DEBIAN_12)}
# What a node (an Atlas server) may run; gateways always run GATEWAY_OS.
NODE_OS = (UBUNTU_2204.name, OPENEULER_2203.name)
DEFAULT_OS = UBUNTU_2204.name
GATEWAY_OS = DEBIAN_12.name
