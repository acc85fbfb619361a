"""The AISBench kit an operator supplies to the nodes: an installable source tarball and a TextVQA archive.

``build_kit(out_dir)`` writes, deterministically (fixed mtimes and owners, sorted members):

* ``ais_bench_benchmark-<VERSION>.tar.gz``: sdist tree ``ais_bench_benchmark-<VERSION>/`` with ``pyproject.toml``,
  ``PKG-INFO``, the ``ais_bench`` package and the in-tree, stdlib-only build backend ``_build/ais_bench_build.py``,
  all from ``payload/``. ``pip install <tarball>`` provides the ``ais_bench`` command and needs no network and no
  setuptools (``requires = []``); ``--no-build-isolation --no-deps`` works the same. ``pip install -e`` of the
  extracted tree works too, as in the upstream guide.
* ``textvqa.tar.gz``: ``textvqa/train_images/*.png`` and ``textvqa/textvqa_json/textvqa_val.jsonl``, to extract
  into ``ais_bench/datasets/`` (under the working directory of the run, or next to the installed package).

CLI: ``python3 -m atlas_sim.aisbench.kit OUT_DIR`` prints the result as JSON.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import sys
import tarfile
from pathlib import Path
from types import ModuleType
from typing import Any

from . import textvqa

PAYLOAD = Path(__file__).resolve().parent / "payload"


def _backend() -> ModuleType:
    """The payload's build backend, the single source of the distribution's name, version and metadata."""
    path = PAYLOAD / "_build" / "ais_bench_build.py"
    module = ModuleType("ais_bench_build")
    module.__file__ = str(path)
    # Executed from source rather than imported, so no __pycache__ is left inside the payload tree.
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), module.__dict__)  # noqa: S102
    return module


_BACKEND = _backend()
DIST: str = _BACKEND.NAME
VERSION: str = _BACKEND.version()
# Fixed archive timestamps (2025-01-01T00:00:00Z) keep the kit byte-identical across builds.
EPOCH = 1735689600


def _payload_files() -> dict[str, bytes]:
    found = {}
    for path in sorted(PAYLOAD.rglob("*")):
        rel = path.relative_to(PAYLOAD)
        if path.is_file() and "__pycache__" not in rel.parts and not path.name.endswith((".pyc", ".pyo")):
            found[rel.as_posix()] = path.read_bytes()
    return found


def write_targz(path: Path, members: dict[str, bytes]) -> Path:
    """A reproducible .tar.gz: sorted members with parent directories, fixed mtime, root ownership."""
    dirs = sorted({str(Path(name).parents[i]) for name in members for i in range(len(Path(name).parts) - 1)})
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in dirs:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, EPOCH
            tar.addfile(info)
        for name in sorted(members):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(members[name]), 0o644, EPOCH
            tar.addfile(info, io.BytesIO(members[name]))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(buf.getvalue())
    return path


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def kit_digest() -> str:
    """Changes whenever a file the kit is built from changes: a cached kit with another digest is stale."""
    digest = hashlib.sha256()
    sources = {**_payload_files(), "textvqa.py": Path(textvqa.__file__).read_bytes()}
    for name in sorted(sources):
        digest.update(name.encode() + b"\0" + hashlib.sha256(sources[name]).digest())
    return digest.hexdigest()


def build_kit(out_dir: Path) -> dict[str, Any]:
    """Write both archives into ``out_dir``; returns their paths, sha256 and what they hold."""
    out = Path(out_dir)
    root = f"{DIST}-{VERSION}"
    members = {f"{root}/{rel}": data for rel, data in _payload_files().items()}
    members[f"{root}/PKG-INFO"] = _BACKEND.metadata().encode()
    sdist = write_targz(out / f"{root}.tar.gz", members)
    dataset = write_targz(out / "textvqa.tar.gz", textvqa.files())
    return {
        "version": VERSION,
        "sdist": str(sdist),
        "sdist_sha256": _sha256(sdist),
        "dataset": str(dataset),
        "dataset_sha256": _sha256(dataset),
        "samples": len(textvqa.ITEMS),
        "command": "ais_bench --models vllm_api_general_chat --datasets textvqa_gen_base64 --mode all",
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0].startswith("-"):
        print("usage: python3 -m atlas_sim.aisbench.kit OUT_DIR", file=sys.stderr)
        return 2
    print(json.dumps(build_kit(Path(args[0])), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
