"""Finding and reading the Python config files (``models = [...]``, ``<name>_datasets = [...]``)."""

from __future__ import annotations

import hashlib
import json
import runpy
from pathlib import Path
from typing import Any

CONFIG_ROOT = Path(__file__).resolve().parent / "configs"


class ConfigError(Exception):
    pass


def find_config(kind: str, name: str) -> Path:
    """``name`` is a path to a .py file or a config name searched under ``configs/<kind>/``."""
    if name.endswith(".py") and Path(name).is_file():
        return Path(name)
    stem = Path(name).stem if name.endswith(".py") else name
    hits = sorted((CONFIG_ROOT / kind).rglob(f"{stem}.py"))
    if not hits:
        raise ConfigError(f"{kind} config {name!r} not found under {CONFIG_ROOT / kind}")
    if len(hits) > 1:
        raise ConfigError(f"{kind} config {name!r} is ambiguous: {', '.join(map(str, hits))}")
    return hits[0]


def _run(path: Path) -> dict[str, Any]:
    # Config files are Python, as in AISBench: they import the classes they name, so executing them is the parser.
    try:
        return runpy.run_path(str(path), run_name="__ais_bench_config__")
    except Exception as exc:
        raise ConfigError(f"cannot load {path}: {exc!r}") from exc


def load_models(names: list[str]) -> list[dict[str, Any]]:
    models: list[dict[str, Any]] = []
    for name in names:
        path = find_config("models", name)
        found = _run(path).get("models")
        if not isinstance(found, list) or not found:
            raise ConfigError(f"{path} defines no `models` list")
        models += [dict(m, _config=str(path)) for m in found]
    return models


def load_datasets(names: list[str]) -> list[dict[str, Any]]:
    datasets: list[dict[str, Any]] = []
    for name in names:
        path = find_config("datasets", name)
        found = [v for k, v in _run(path).items() if k.endswith("_datasets") and isinstance(v, list)]
        if not found:
            raise ConfigError(f"{path} defines no `*_datasets` list")
        datasets += [dict(d, _config=str(path)) for group in found for d in group]
    return datasets


def describe(obj: Any) -> Any:
    """JSON-able copy of a config: classes and functions become their dotted names."""
    if isinstance(obj, dict):
        return {k: describe(v) for k, v in obj.items() if not k.startswith("_")}
    if isinstance(obj, (list, tuple)):
        return [describe(v) for v in obj]
    if callable(obj):
        return f"{obj.__module__}.{obj.__qualname__}"
    return obj


def dataset_version(cfg: dict[str, Any]) -> str:
    """Six hex digits identifying what the dataset config asks for (prompt, reader, evaluator), not its paths."""
    stable = {k: v for k, v in describe(cfg).items() if k not in ("path", "image_root")}
    return hashlib.sha256(json.dumps(stable, sort_keys=True).encode()).hexdigest()[:6]
