"""A tiny stand-in for the images' Debian base layer, so archive tests need no mmdebstrap run."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path


def fake_base(path: Path) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, data in (("etc/os-release", b'ID=debian\nVERSION_ID="12"\n'), ("usr/bin/python3", b"#!fake\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path
