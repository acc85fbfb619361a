"""Simulated model weights: every model on the lab mirror, the default model in each node's cache."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

from . import labsvc, models

DEFAULT_MODEL = "Qwen/Qwen2.5-VL-7B-Instruct"
NODE_CACHE_ROOT = "/root/.cache/modelscope"

Progress = Callable[[str], None]


def mirror_model_dir(repo_id: str) -> Path:
    return labsvc.models_root() / repo_id


def _recipe() -> str:
    return hashlib.sha256(Path(models.__file__).read_bytes()).hexdigest()[:16]


def ensure_mirror(progress: Progress) -> None:
    """Write each model (deterministic bytes) and its sha256 manifest once; rewrite them when the recipe changed."""
    marker = labsvc.models_root() / ".atlas-sim-recipe"
    if labsvc.models_root().is_dir() and (not marker.is_file() or marker.read_text().strip() != _recipe()):
        progress("the simulated weights' recipe changed; rewriting the lab mirror")
        shutil.rmtree(labsvc.models_root())
    for repo_id in models.MODELS:
        target = mirror_model_dir(repo_id)
        if (target / models.MANIFEST_NAME).is_file():
            continue
        progress(f"writing simulated weights of {repo_id} to the lab mirror")
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        models.write_model(partial, repo_id)
        models.write_manifest(partial)
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)
    marker.write_text(_recipe() + "\n")


def node_files(repo_id: str = DEFAULT_MODEL) -> dict[str, tuple[bytes, int]]:
    """The default model's files as they sit in a node's ModelScope cache."""
    source = mirror_model_dir(repo_id)
    base = f"{NODE_CACHE_ROOT}/{models.cache_path(repo_id)}"
    return {f"{base}/{path.relative_to(source)}": (path.read_bytes(), 0o644)
            for path in sorted(source.rglob("*")) if path.is_file()}
