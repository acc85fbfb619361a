"""In-tree PEP 517/660 build backend using only the standard library.

Why not setuptools: the nodes are air-gapped. An isolated build would have to download setuptools, and the
setuptools already present is often unusable for a ``pyproject.toml``-only project: Ubuntu 22.04 ships 59.6
(no PEP 621 metadata; openEuler 22.03's is as old), and a fresh venv has 65.x, which cannot build wheels
without the separate ``wheel`` package. With ``requires = []`` this backend needs nothing beyond pip, with or without
``--no-build-isolation``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile
from pathlib import Path

NAME = "ais_bench_benchmark"
SUMMARY = "AISBench-compatible accuracy runner for OpenAI-compatible vLLM servers (TextVQA), stdlib only"
SCRIPTS = {"ais_bench": "ais_bench.benchmark.cli:main"}
ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "ais_bench"
_ZIP_TIME = (2025, 1, 1, 0, 0, 0)


def version() -> str:
    text = (ROOT / PACKAGE / "benchmark" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    if not match:
        raise RuntimeError("ais_bench/benchmark/__init__.py has no __version__")
    return match.group(1)


def metadata() -> str:
    return (
        f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {version()}\nSummary: {SUMMARY}\n"
        "License: Apache-2.0\nRequires-Python: >=3.9\n"
    )


def _dist_info() -> str:
    return f"{NAME}-{version()}.dist-info"


def _dist_info_files() -> dict[str, bytes]:
    scripts = "".join(f"{name} = {target}\n" for name, target in SCRIPTS.items())
    wheel = "Wheel-Version: 1.0\nGenerator: ais_bench_build\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    return {
        "METADATA": metadata().encode(),
        "WHEEL": wheel.encode(),
        "entry_points.txt": f"[console_scripts]\n{scripts}".encode(),
        "top_level.txt": f"{PACKAGE}\n".encode(),
    }


def _package_files() -> dict[str, bytes]:
    found = {}
    for path in sorted((ROOT / PACKAGE).rglob("*")):
        rel = path.relative_to(ROOT)
        if path.is_file() and "__pycache__" not in rel.parts and path.suffix not in (".pyc", ".pyo"):
            found[rel.as_posix()] = path.read_bytes()
    return found


def _write_wheel(directory: str, files: dict[str, bytes]) -> str:
    info = _dist_info()
    files = {**files, **{f"{info}/{name}": data for name, data in _dist_info_files().items()}}
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    filename = f"{NAME}-{version()}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(directory, filename), "w", zipfile.ZIP_DEFLATED) as whl:
        for name, data in files.items():
            entry = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            entry.external_attr = 0o644 << 16
            whl.writestr(entry, data, zipfile.ZIP_DEFLATED)
    return filename


# -- PEP 517 / 660 hooks ----------------------------------------------------------------------------------------


def get_requires_for_build_wheel(config_settings: dict | None = None) -> list[str]:
    return []


def get_requires_for_build_sdist(config_settings: dict | None = None) -> list[str]:
    return []


def get_requires_for_build_editable(config_settings: dict | None = None) -> list[str]:
    return []


def build_wheel(wheel_directory: str, config_settings: dict | None = None, metadata_directory: str | None = None) -> str:
    return _write_wheel(wheel_directory, _package_files())


def build_editable(
    wheel_directory: str, config_settings: dict | None = None, metadata_directory: str | None = None
) -> str:
    # `pip install -e .` (as in the upstream install guide): a .pth file puts this source tree on sys.path.
    return _write_wheel(wheel_directory, {f"{NAME}.pth": f"{ROOT}\n".encode()})


def build_sdist(sdist_directory: str, config_settings: dict | None = None) -> str:
    base = f"{NAME}-{version()}"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(ROOT.rglob("*")):
            rel = path.relative_to(ROOT)
            skipped = "__pycache__" in rel.parts or rel.parts[0] in ("build", "dist") or rel.as_posix() == "PKG-INFO"
            if path.is_file() and not skipped:
                tar.add(path, arcname=f"{base}/{rel.as_posix()}", recursive=False)
        data = metadata().encode()
        info = tarfile.TarInfo(f"{base}/PKG-INFO")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    name = f"{base}.tar.gz"
    Path(sdist_directory, name).write_bytes(buf.getvalue())
    return name
