"""Model directory resolution and the facts vLLM derives from config.json.

Repo ids are resolved only from local caches (the lab has no uplink):
- VLLM_USE_MODELSCOPE=True: modelscope's snapshot layout `${MODELSCOPE_CACHE:-~/.cache/modelscope/hub}/models/
  <org>/<name>`, where modelscope writes every `.` of the name as `___` (Qwen2.5 -> Qwen2___5). The pre-1.20 layout
  without `models/` and a literal-dot directory (a hand-copied tree) are accepted too.
- otherwise the Hugging Face hub cache `${HF_HUB_CACHE:-${HF_HOME:-~/.cache/huggingface}/hub}/models--<org>--<name>/
  snapshots/<revision>/`.

Hub access (docs/field-failures.md row 6). With `HF_HUB_OFFLINE` set, vLLM 0.11's EngineArgs replaces the model by
a local path before anything else (`get_model_path`: the path itself when it exists, else the hub library's
`snapshot_download(..., local_files_only=True)`), which fails at once when nothing is cached. Without it, a name that
is not cached is looked up on the hub; a site with name resolution but no route waits on the connection until the
client gives up, and only then does vLLM report the model as invalid. `hub_lookup()` returns that decision.
"""

from __future__ import annotations

import glob
import json
import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_LEN_KEYS = (
    "max_position_embeddings",
    "n_positions",
    "max_seq_len",
    "seq_length",
    "max_sequence_length",
    "max_seq_length",
    "seq_len",
)


class ModelNotFound(Exception):
    """Raised with vLLM's message when no local directory or cached snapshot holds the model."""


class HubOfflineMiss(Exception):
    """HF_HUB_OFFLINE is set and no cache holds the model: the hub library's own error, raised before any config."""


# How long a hub lookup without a route waits before the client gives up. The real figure depends on the
# site's firewall (a dropped SYN waits for the kernel's retries) and on the hub client's retries; the twin only
# needs it longer than any health wait that should notice the silence.
HUB_UNREACHABLE_SECONDS = 900.0

_TRUE = ("1", "ON", "YES", "TRUE")


def hub_offline(env: dict[str, str]) -> bool:
    """huggingface_hub's reading of HF_HUB_OFFLINE (constants._is_true)."""
    return env.get("HF_HUB_OFFLINE", "").upper() in _TRUE


def _uses_modelscope(env: dict[str, str]) -> bool:
    return env.get("VLLM_USE_MODELSCOPE", "").lower() in ("1", "true")


def _modelscope_candidates(repo_id: str, env: dict[str, str]) -> list[Path]:
    home = Path(env.get("HOME") or "/root")
    cache = Path(env.get("MODELSCOPE_CACHE") or home / ".cache" / "modelscope" / "hub")
    org, _, name = repo_id.partition("/")
    names = [name.replace(".", "___"), name]
    roots = [cache / "models", cache]
    return [root / org / n for root in roots for n in names]


def _hf_candidates(repo_id: str, env: dict[str, str]) -> list[Path]:
    home = Path(env.get("HOME") or "/root")
    hub = env.get("HF_HUB_CACHE") or os.path.join(env.get("HF_HOME") or str(home / ".cache" / "huggingface"), "hub")
    snapshots = Path(hub) / ("models--" + repo_id.replace("/", "--")) / "snapshots"
    if not snapshots.is_dir():
        return []
    return sorted(p for p in snapshots.iterdir() if p.is_dir())


def _looks_like_repo(model: str) -> bool:
    """An `owner/name` id rather than a path."""
    return not model.startswith(("/", ".")) and model.count("/") == 1


def _cached(model: str, env: dict[str, str], download_dir: str | None) -> Path | None:
    candidates = _modelscope_candidates(model, env) if _uses_modelscope(env) else _hf_candidates(model, env)
    if download_dir:
        candidates.insert(0, Path(download_dir) / model.replace(".", "___"))
    return next((c for c in candidates if (c / "config.json").is_file()), None)


def offline_model_path(model: str, env: dict[str, str], download_dir: str | None = None) -> str:
    """vLLM's get_model_path under HF_HUB_OFFLINE: the path as given when it exists, else the cached snapshot."""
    if os.path.exists(model):
        return model
    if _uses_modelscope(env):
        found = _cached(model, env, download_dir)
        if found is None:
            raise HubOfflineMiss(
                "ValueError: Cannot find the requested files in the cached path and outgoing traffic has been "
                "disabled. To enable look-ups and downloads online, set 'local_files_only' to False."
            )
        return str(found)
    invalid = _hf_repo_id_error(model)
    if invalid:
        raise HubOfflineMiss(invalid)
    found = _cached(model, env, download_dir)
    if found is None:
        raise HubOfflineMiss(
            "huggingface_hub.errors.LocalEntryNotFoundError: Cannot find an appropriate cached snapshot folder for "
            "the specified revision on the local disk and outgoing traffic has been disabled. To enable repo "
            "look-ups and downloads online, pass 'local_files_only=False' as input."
        )
    return str(found)


def _hf_repo_id_error(repo_id: str) -> str | None:
    """huggingface_hub's validate_repo_id, which snapshot_download runs on its argument."""
    if repo_id.count("/") > 1:
        return (
            "huggingface_hub.errors.HFValidationError: Repo id must be in the form 'repo_name' or "
            f"'namespace/repo_name': '{repo_id}'. Use `repo_type` argument if needed."
        )
    if not re.match(r"^(\b[\w\-.]+\b/)?\b[\w\-.]{1,96}\b$", repo_id) or "--" in repo_id or ".." in repo_id:
        return (
            "huggingface_hub.errors.HFValidationError: Repo id must use alphanumeric chars or '-', '_', '.', '--' "
            f"and '..' are forbidden, '-' and '.' cannot start or end the name, max length is 96: '{repo_id}'."
        )
    return None


def hub_lookup(model: str, env: dict[str, str], download_dir: str | None = None) -> bool:
    """True when vLLM would ask the hub for `model`: no local directory, no cached snapshot, not offline."""
    if hub_offline(env) or os.path.exists(model):
        return False
    return _looks_like_repo(model) and _cached(model, env, download_dir) is None


def resolve_model(model: str, env: dict[str, str], download_dir: str | None = None) -> Path:
    path = Path(model)
    if path.is_dir() and (path / "config.json").is_file():
        return path
    if _looks_like_repo(model) and not path.exists():
        found = _cached(model, env, download_dir)
        if found is not None:
            return found
    # vLLM 0.11's get_config turns every failure of the lookup (a hub that never answered included) into this.
    raise ModelNotFound(invalid_repo_message(model))


def invalid_repo_message(model: str) -> str:
    return (
        f"Invalid repository ID or local directory specified: '{model}'.\n"
        "Please verify the following requirements:\n"
        "1. Provide a valid Hugging Face repository ID.\n"
        "2. Specify a local directory that contains a recognized configuration file.\n"
        "   - For Hugging Face models: ensure the presence of a 'config.json'.\n"
        "   - For Mistral models: ensure the presence of a 'params.json'.\n"
        "3. For GGUF: pass the local path of the GGUF checkpoint.\n"
        "   Loading GGUF from a remote repo directly is not yet supported."
    )


@dataclass
class ModelInfo:
    path: Path
    config: dict[str, Any]
    architecture: str
    num_heads: int
    num_kv_heads: int
    num_layers: int
    hidden_size: int
    head_dim: int
    derived_max_len: float
    max_len_key: str
    model_max_length: int | None
    weight_bytes: int

    def kv_bytes_per_token(self, tp: int, dtype_bytes: int = 2) -> int:
        kv_heads = max(1, self.num_kv_heads // tp)
        return 2 * self.num_layers * kv_heads * self.head_dim * dtype_bytes


def _text_config(config: dict[str, Any]) -> dict[str, Any]:
    text = config.get("text_config")
    merged = dict(config)
    if isinstance(text, dict):
        merged.update(text)
    return merged


def _derive_max_len(text: dict[str, Any], path: Path) -> tuple[float, str, int | None]:
    key, derived = "max_position_embeddings", float("inf")
    for name in MAX_LEN_KEYS:
        value = text.get(name)
        if isinstance(value, (int, float)) and value < derived:
            key, derived = name, float(value)
    model_max_length: int | None = None
    tok_cfg = path / "tokenizer_config.json"
    if tok_cfg.is_file():
        try:
            model_max_length = json.loads(tok_cfg.read_text(encoding="utf-8")).get("model_max_length")
        except (OSError, json.JSONDecodeError):
            model_max_length = None
    if isinstance(model_max_length, (int, float)) and model_max_length < derived:
        derived = float(model_max_length)
    if derived == float("inf"):
        derived = 2048.0
    rope = text.get("rope_scaling") or {}
    factor = rope.get("factor", 1.0) if isinstance(rope, dict) and "mrope_section" not in rope else 1.0
    return derived * float(factor), key, model_max_length


def estimate_params(config: dict[str, Any]) -> int:
    """Parameter count from the dimensions (matches the reference's 3.75B/8.29B/33.45B/73.41B for Qwen2.5-VL)."""
    t = _text_config(config)
    hidden, inter = int(t.get("hidden_size", 4096)), int(t.get("intermediate_size", 11008))
    layers, heads = int(t.get("num_hidden_layers", 32)), int(t.get("num_attention_heads", 32))
    kv_heads = int(t.get("num_key_value_heads", heads))
    vocab = int(t.get("vocab_size", 152064))
    head_dim = hidden // heads
    attn = 2 * hidden * hidden + 2 * hidden * kv_heads * head_dim
    per_layer = attn + 3 * hidden * inter
    embed = vocab * hidden * (1 if t.get("tie_word_embeddings") else 2)
    vision = 0
    vc = config.get("vision_config")
    if isinstance(vc, dict):
        vh, vi = int(vc.get("hidden_size", 1280)), int(vc.get("intermediate_size", 3420))
        merged = vh * int(vc.get("spatial_merge_size", 2)) ** 2
        out = int(vc.get("out_hidden_size", hidden))
        vision = int(vc.get("depth", 32)) * (4 * vh * vh + 3 * vh * vi) + merged * merged + merged * out
    return embed + layers * per_layer + vision


def _weight_bytes(path: Path, config: dict[str, Any]) -> int:
    for index in sorted(path.glob("*.safetensors.index.json")):
        try:
            total = json.loads(index.read_text(encoding="utf-8")).get("metadata", {}).get("total_size")
        except (OSError, json.JSONDecodeError):
            total = None
        if isinstance(total, int) and total > 0:
            return total
    on_disk = sum(p.stat().st_blocks * 512 for p in path.glob("*.safetensors"))
    # Sparse placeholders (the twin's weights) occupy almost nothing; fall back to the model's real size.
    if on_disk > 1 << 30:
        return on_disk
    bytes_per_param = 1 if "quant" in " ".join(p.name for p in path.glob("*.safetensors")) else 2
    return estimate_params(config) * bytes_per_param


def read_model(path: Path) -> ModelInfo:
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    text = _text_config(config)
    heads = int(text.get("num_attention_heads", 32))
    hidden = int(text.get("hidden_size", 4096))
    derived, key, mml = _derive_max_len(text, path)
    archs = config.get("architectures") or ["Qwen2_5_VLForConditionalGeneration"]
    return ModelInfo(
        path=path,
        config=config,
        architecture=str(archs[0]),
        num_heads=heads,
        num_kv_heads=int(text.get("num_key_value_heads", heads)),
        num_layers=int(text.get("num_hidden_layers", 32)),
        hidden_size=hidden,
        head_dim=int(text.get("head_dim", hidden // heads)),
        derived_max_len=derived,
        max_len_key=key,
        model_max_length=mml,
        weight_bytes=_weight_bytes(path, config),
    )


def quant_config_files(path: Path) -> list[str]:
    """vLLM get_quant_config: `<model>/*.json` ending in the method's config file name."""
    return sorted(f for f in glob.glob(os.path.join(str(path), "*.json")) if f.endswith("quant_model_description.json"))


def corrupt_safetensors(path: Path) -> str | None:
    """The safetensors error a loader would hit, or None. Zero-filled (sparse) placeholders are accepted."""
    for shard in sorted(path.glob("*.safetensors")):
        try:
            with open(shard, "rb") as handle:
                head = handle.read(8)
                size = shard.stat().st_size
                if len(head) < 8:
                    continue
                (length,) = struct.unpack("<Q", head)
                if length == 0:
                    continue
                if length + 8 > size:
                    return "Error while deserializing header: MetadataIncompleteBuffer"
                json.loads(handle.read(min(length, 100 << 20)))
        except (OSError, ValueError):
            return "Error while deserializing header: InvalidHeaderDeserialization"
    return None


def default_load_seconds(info: ModelInfo, tp: int) -> float:
    """Load time when the node sets none: 12 s engine set-up + 0.5 s per rank + weights per rank at 1.5 GB/s.

    Qwen2.5-VL-7B on one NPU gives ~23 s, 72B on eight ~25 s: the order of magnitude seen on Atlas 800I A2.
    """
    return 12.0 + 0.5 * tp + (info.weight_bytes / max(tp, 1)) / 1.5e9


def gib(n: float) -> float:
    return n / float(1 << 30)
