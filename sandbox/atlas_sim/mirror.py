"""Local package mirrors for the air-gapped nodes: an apt repo and an rpm repo, built from Debian packages.

Operators of air-gapped fleets serve jemalloc from their own mirror; the sandbox does the same.
The openEuler `jemalloc` rpm is repackaged from Debian's libjemalloc2 so that it installs the
library at openEuler's path, /usr/lib64/libjemalloc.so.2.
"""

from __future__ import annotations

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


def ensure(progress: Callable[[str], None]) -> Path:
    root = mirror_dir()
    if (root / "deb/Packages").is_file() and (root / "rpm/repodata/repomd.xml").is_file():
        return root
    progress("building the local apt and rpm mirrors (libjemalloc2, jemalloc)")
    shutil.rmtree(root, ignore_errors=True)
    deb_dir = root / "deb"
    deb_dir.mkdir(parents=True)
    deb = _download_deb("libjemalloc2", deb_dir)
    packages = run(["dpkg-scanpackages", "--multiversion", ".", "/dev/null"], check=True, cwd=deb_dir)
    (deb_dir / "Packages").write_text(packages.stdout)
    _build_rpm(deb, root / "rpm")
    run(["createrepo_c", "--quiet", str(root / "rpm")])
    progress(f"mirrors ready at {root}")
    return root


def _download_deb(package: str, dest: Path) -> Path:
    result = run(["apt-get", "download", package], check=False, cwd=dest)
    debs = sorted(dest.glob(f"{package}_*.deb"))
    if result.returncode != 0 or not debs:
        raise SimError(f"apt-get download {package} failed (run 'apt-get update' first?): {result.stderr.strip()}")
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
