"""Reproducible layer tars: fixed mtimes and owners, sorted entries, so equal content always gives the same diff_id.

Both simulated images put their top layer together here: files with their modes, every parent directory implied.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from dataclasses import dataclass, field
from pathlib import Path


def python_sources(package: Path) -> list[Path]:
    """The .py files of a package, in a stable order (caches and compiled files never reach an image)."""
    return sorted(p for p in package.rglob("*.py") if "__pycache__" not in p.parts)


def _entry(name: str, kind: bytes, mode: int, size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size, info.mtime = kind, mode, size, 0
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


@dataclass
class LayerContent:
    """Paths are relative to the image root ("usr/local/bin/x"); directories are always 0755 and root-owned."""

    dirs: set[str] = field(default_factory=set)
    files: dict[str, tuple[bytes, int]] = field(default_factory=dict)

    def add_dir(self, path: str) -> None:
        parts = path.strip("/").split("/")
        self.dirs.update("/".join(parts[: i + 1]) for i in range(len(parts)))

    def add_file(self, path: str, data: bytes, mode: int) -> None:
        path = path.strip("/")
        if "/" in path:
            self.add_dir(path.rsplit("/", 1)[0])
        self.files[path] = (data, mode)

    def add_package(self, package: Path, dest: str) -> None:
        """Every Python source of `package` under `dest`, keeping the package's own layout."""
        self.add_dir(dest)
        for source in python_sources(package):
            self.add_file(f"{dest.strip('/')}/{source.relative_to(package).as_posix()}", source.read_bytes(), 0o644)

    def digest(self) -> str:
        """A content hash that changes whenever the written tar would."""
        digest = hashlib.sha256()
        for name in sorted(self.dirs):
            digest.update(f"d {name}\0".encode())
        for name, (data, mode) in sorted(self.files.items()):
            digest.update(f"f {name} {mode:o}\0".encode() + hashlib.sha256(data).digest())
        return digest.hexdigest()

    def write(self, out: Path) -> Path:
        """Directories first, then files, each group sorted; written under a partial name, then renamed."""
        tmp = out.with_name(out.name + ".partial")
        with tarfile.open(tmp, "w", format=tarfile.GNU_FORMAT) as tar:
            for name in sorted(self.dirs):
                tar.addfile(_entry(name, tarfile.DIRTYPE, 0o755))
            for name, (data, mode) in sorted(self.files.items()):
                tar.addfile(_entry(name, tarfile.REGTYPE, mode, len(data)), io.BytesIO(data))
        tmp.replace(out)
        return out
