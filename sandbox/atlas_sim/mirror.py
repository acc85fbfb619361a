"""Local package mirrors for the air-gapped nodes: an apt repo and an rpm repo, built from Debian packages.

Operators of air-gapped fleets serve jemalloc from their own mirror; the sandbox does the same.
The openEuler `jemalloc` rpm is repackaged from Debian's libjemalloc2 so that it installs the
library at openEuler's path, /usr/lib64/libjemalloc.so.2. The apt repo also carries python3-venv
and what it needs on a bookworm host, and nginx: the automation installs both from the site's repositories
(the gateways' router runs in a venv, behind nginx), so the rootfs must not have them. Prometheus, for the gateways'
metrics, comes the same way.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from . import paths
from .proc import SimError, run

MIRROR_IN_NODE = "/srv/atlas-mirror"
APT_SOURCE = f"deb [trusted=yes] file:{MIRROR_IN_NODE}/deb ./\n"
DNF_REPO = f"""\
[atlas-mirror]
name=atlas-sim local mirror
baseurl=file://{MIRROR_IN_NODE}/rpm
enabled=1
gpgcheck=0
"""

# Debs of the apt repo, downloaded from the machine's own apt sources (the rootfs is built from them too).
DEBS = (
    "libjemalloc2",
    "python3-venv", "python3.11-venv", "python3-pip-whl", "python3-setuptools-whl",
    "python3-distutils", "python3-lib2to3",
    "nginx", "nginx-common",
    # Prometheus on the gateways, with what it depends on that a minbase bookworm lacks (its web UI's scripts).
    "prometheus", "fonts-glyphicons-halflings", "javascript-common", "libjs-bootstrap", "libjs-bootstrap4",
    "libjs-d3", "libjs-eonasdan-bootstrap-datetimepicker", "libjs-jquery", "libjs-jquery-hotkeys", "libjs-moment",
    "libjs-moment-timezone", "libjs-mustache", "libjs-popper.js", "libjs-rickshaw",
)
# Debs that depend on the exact version of a rootfs package (python3.11-venv on python3.11, python3-venv
# on python3): they are downloaded at the version the rootfs has, or apt on the hosts refuses them.
PINNED_TO_ROOTFS = {"python3-venv": "python3", "python3.11-venv": "python3.11"}
# Bump when what the mirrors hold changes: a cached mirror of another recipe is rebuilt.
RECIPE_VERSION = "4"

RPM_SPEC = """\
Name:           jemalloc
Version:        {version}
Release:        1.oe2203
Summary:        General-purpose scalable concurrent malloc implementation
License:        BSD
AutoReq:        no
Provides:       libjemalloc.so.2()(64bit)

%description
jemalloc {version}, repackaged for the atlas-sim air-gapped openEuler mirror.

%install
mkdir -p %{{buildroot}}/usr/lib64
install -m 0755 {library} %{{buildroot}}/usr/lib64/libjemalloc.so.2

%files
/usr/lib64/libjemalloc.so.2
"""


def mirror_dir() -> Path:
    return paths.cache_dir() / "mirror"


def rootfs_versions(rootfs: Path) -> dict[str, str]:
    """The versions PINNED_TO_ROOTFS debs must have: those of their packages installed in the rootfs."""
    versions = {}
    for deb, installed in PINNED_TO_ROOTFS.items():
        result = run(["dpkg-query", f"--admindir={rootfs / 'var/lib/dpkg'}", "-W", "-f=${Version}", installed],
                     check=False)
        if result.returncode != 0 or not result.stdout.strip():
            raise SimError(f"the rootfs at {rootfs} has no {installed}, which {deb} needs")
        versions[deb] = result.stdout.strip()
    return versions


def recipe_hash(versions: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for part in (RECIPE_VERSION, " ".join(DEBS), RPM_SPEC, *(f"{k}={v}" for k, v in sorted(versions.items()))):
        digest.update(part.encode())
    return digest.hexdigest()[:16]


def ensure(progress: Callable[[str], None], rootfs: Path) -> Path:
    """Build the mirrors unless a build of the same recipe, for this rootfs's python3, is cached."""
    root = mirror_dir()
    versions = rootfs_versions(rootfs)
    recipe = recipe_hash(versions)
    marker = root / ".atlas-sim-recipe"
    if (root / "deb/Packages").is_file() and (root / "rpm/repodata/repomd.xml").is_file() \
            and marker.is_file() and marker.read_text().strip() == recipe:
        return root
    progress(f"building the local apt and rpm mirrors ({', '.join(DEBS)}; jemalloc rpm)")
    shutil.rmtree(root, ignore_errors=True)
    deb_dir = root / "deb"
    deb_dir.mkdir(parents=True)
    debs = {package: _download_deb(package, deb_dir, versions.get(package)) for package in DEBS}
    packages = run(["dpkg-scanpackages", "--multiversion", ".", "/dev/null"], check=True, cwd=deb_dir)
    (deb_dir / "Packages").write_text(packages.stdout)
    _build_rpm(debs["libjemalloc2"], root / "rpm")
    run(["createrepo_c", "--quiet", str(root / "rpm")])
    marker.write_text(recipe + "\n")
    progress(f"mirrors ready at {root}")
    return root


def _download_deb(package: str, dest: Path, version: str | None = None) -> Path:
    wanted = f"{package}={version}" if version else package
    result = run(["apt-get", "download", wanted], check=False, cwd=dest)
    debs = sorted(dest.glob(f"{package}_*.deb"))
    if result.returncode != 0 or not debs:
        # A pinned version missing from the machine's apt lists: the lists or the rootfs are out of date.
        hint = "run 'apt-get update', or rebuild the rootfs to match" if version else "run 'apt-get update' first?"
        raise SimError(f"apt-get download {wanted} failed ({hint}): {result.stderr.strip()}")
    return debs[0]


def _build_rpm(deb: Path, rpm_dir: Path) -> None:
    version = re.match(r"[^_]+_([0-9.]+)", deb.name)
    if not version:
        raise SimError(f"cannot read a version from {deb.name}")
    with tempfile.TemporaryDirectory(prefix="atlas-rpm-") as tmp:
        work = Path(tmp)
        run(["dpkg-deb", "-x", str(deb), str(work / "extract")])
        libraries = sorted((work / "extract").glob("usr/lib/*/libjemalloc.so.2"))
        if not libraries:
            raise SimError(f"{deb.name} holds no libjemalloc.so.2")
        spec = work / "jemalloc.spec"
        spec.write_text(RPM_SPEC.format(version=version.group(1), library=libraries[0]))
        run(["rpmbuild", "--quiet", "-bb", "--define", f"_topdir {work / 'top'}",
             "--define", "_build_id_links none", str(spec)])
        rpm_dir.mkdir(parents=True, exist_ok=True)
        for rpm in (work / "top/RPMS").rglob("*.rpm"):
            shutil.copy2(rpm, rpm_dir / rpm.name)
