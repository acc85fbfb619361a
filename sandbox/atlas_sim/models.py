"""Simulated Qwen2.5-VL weights: real metadata files, tiny but valid safetensors shards, and sha256 manifests.

What is real and what is scaled
    ``config.json`` carries the architecture values of the real checkpoints (hidden sizes, heads, layers, vocab,
    vision tower, token ids, rope, dtype). The tensor *names* and their split over shards follow the real
    checkpoints: every tensor the model has, in ``save_pretrained`` order, cut into the real number of shards by
    real bf16 byte size. Only the tensor *data* is scaled down: each tensor is stored 1-D with a few elements of
    deterministic bytes, so a model is a few MB. ``model.safetensors.index.json`` ``metadata.total_size`` is the
    real checkpoint's size (``real_total_size()``), which the vLLM simulator sizes the NPU memory plan by.

Shard counts
    3B/7B/32B/72B use the real counts (2/5/18/38). The w8a8 model has no public repository (it is produced
    locally with ModelSlim from the 32B); its shard count (10) is its int8 size divided by the bf16 checkpoint's
    bytes per shard, and its files use ModelSlim's names: ``quant_model_weight_w8a8-0000i-of-0000N.safetensors``,
    ``quant_model_weight_w8a8.safetensors.index.json`` and ``quant_model_description.json`` (the only name
    vllm-ascend's ``--quantization ascend`` accepts; ``quant_model_description_w8a8.json`` is not matched).

On-node layout (ModelScope cache)
    The vLLM image sets ``VLLM_USE_MODELSCOPE=True``; modelscope's ``snapshot_download`` stores a repository at
    ``$MODELSCOPE_CACHE/models/<owner>/<name with every '.' replaced by '___'>`` where ``MODELSCOPE_CACHE``
    defaults to ``~/.cache/modelscope/hub``. With the container's ``-v /root/.cache:/root/.cache`` that is
    ``/root/.cache/modelscope/hub/models/Qwen/Qwen2___5-VL-7B-Instruct``. Older modelscope releases used
    ``hub/<owner>/<name>``. ``cache_path()`` returns the current layout relative to ``/root/.cache/modelscope``.
    modelscope's own bookkeeping files (``.mdl``, ``.msc``, ``.mv``) are not simulated.

Manifest
    ``MANIFEST.sha256`` inside the model directory, in ``sha256sum`` format (``<hex>  <relative path>``, sorted),
    so ``cd <model dir> && sha256sum -c MANIFEST.sha256`` verifies a copy wherever it is mounted. The manifest
    itself and dot-files (download-tool state) are not listed.

CLI
    ``python3 -m atlas_sim.models write DEST REPO_ID [--shard-kb N]``  write a simulated model into DEST
    ``python3 -m atlas_sim.models manifest DIR``                       write DIR/MANIFEST.sha256 (real copies too)
    ``python3 -m atlas_sim.models verify DIR``                         check DIR against its manifest
    ``python3 -m atlas_sim.models list``                               repo ids and their cache directories
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import struct
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CACHE_ROOT = "/root/.cache/modelscope"
MANIFEST_NAME = "MANIFEST.sha256"
QUANT_DESCRIPTION_NAME = "quant_model_description.json"
DEFAULT_SHARD_KB = 160
HEAD_DIM = 128
VISION_HIDDEN = 1280
VISION_DEPTH = 32
_READ_CHUNK = 1 << 20

BOS_ID, EOS_ID = 151643, 151645
SPECIAL_TOKENS = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>",
    "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>",
    "<|image_pad|>", "<|video_pad|>", "<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>",
    "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>",
]  # fmt: skip
_NOT_SPECIAL = {"<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>",
                "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>"}  # fmt: skip

CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}<|im_start|>system\n"
    "You are a helpful assistant.<|im_end|>\n{% endif %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n{% else %}"
    "{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture {{ image_count.value }}: "
    "{% endif %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


@dataclass(frozen=True)
class ModelSpec:
    """One checkpoint. Values from the reference table of Qwen2.5-VL configs (§4)."""

    repo_id: str
    hidden_size: int
    intermediate_size: int
    num_attention_heads: int
    num_key_value_heads: int
    num_hidden_layers: int
    vocab_size: int
    tie_word_embeddings: bool
    max_window_layers: int
    vision_intermediate_size: int
    shards: int
    quant: str | None = None

    @property
    def name(self) -> str:
        return self.repo_id.split("/", 1)[1]

    @property
    def weight_prefix(self) -> str:
        return f"quant_model_weight_{self.quant}" if self.quant else "model"

    @property
    def index_name(self) -> str:
        return f"{self.weight_prefix}.safetensors.index.json"

    def shard_name(self, i: int) -> str:
        return f"{self.weight_prefix}-{i:05d}-of-{self.shards:05d}.safetensors"


_QWEN = "Qwen/Qwen2.5-VL-{}-Instruct"
MODELS: dict[str, ModelSpec] = {
    spec.repo_id: spec
    for spec in (
        ModelSpec(_QWEN.format("3B"), 2048, 11008, 16, 2, 36, 151936, True, 70, 3420, 2),
        ModelSpec(_QWEN.format("7B"), 3584, 18944, 28, 4, 28, 152064, False, 28, 3420, 5),
        # The reference has no max_window_layers for 32B; 7B and 72B use num_hidden_layers, so 32B does too.
        ModelSpec(_QWEN.format("32B"), 5120, 27648, 40, 8, 64, 152064, False, 64, 3456, 18),
        ModelSpec(_QWEN.format("72B"), 8192, 29568, 64, 8, 80, 152064, False, 80, 3456, 38),
        # No hub repository exists; the owner is kept so the cache layout is uniform. 10 shards = int8 size over
        # the bf16 32B checkpoint's ~3.7 GB per shard, rounded up.
        ModelSpec(_QWEN.format("32B") + "-w8a8", 5120, 27648, 40, 8, 64, 152064, False, 64, 3456, 10, "w8a8"),
    )
}


def get_spec(repo_id: str) -> ModelSpec:
    """Look a model up by repo id or by its bare name (``Qwen2.5-VL-7B-Instruct``)."""
    if repo_id in MODELS:
        return MODELS[repo_id]
    for spec in MODELS.values():
        if spec.name == repo_id:
            return spec
    raise KeyError(f"unknown model {repo_id!r}; known: {', '.join(MODELS)}")


def cache_path(repo_id: str) -> str:
    """Directory of ``repo_id`` relative to ``/root/.cache/modelscope`` (modelscope >= 1.x ``snapshot_download``)."""
    owner, name = repo_id.split("/", 1)
    return f"hub/models/{owner}/{name.replace('.', '___')}"


# ---------------------------------------------------------------------------------------------------------------
# Metadata files
# ---------------------------------------------------------------------------------------------------------------


def config_json(spec: ModelSpec) -> dict[str, Any]:
    return {
        "architectures": ["Qwen2_5_VLForConditionalGeneration"],
        "attention_dropout": 0.0,
        "bos_token_id": BOS_ID,
        "eos_token_id": EOS_ID,
        "vision_start_token_id": 151652,
        "vision_end_token_id": 151653,
        "vision_token_id": 151654,
        "image_token_id": 151655,
        "video_token_id": 151656,
        "hidden_act": "silu",
        "hidden_size": spec.hidden_size,
        "initializer_range": 0.02,
        "intermediate_size": spec.intermediate_size,
        "max_position_embeddings": 128000,
        "max_window_layers": spec.max_window_layers,
        "model_type": "qwen2_5_vl",
        "num_attention_heads": spec.num_attention_heads,
        "num_hidden_layers": spec.num_hidden_layers,
        "num_key_value_heads": spec.num_key_value_heads,
        "rms_norm_eps": 1e-06,
        "rope_theta": 1000000.0,
        "sliding_window": 32768,
        "tie_word_embeddings": spec.tie_word_embeddings,
        "torch_dtype": "bfloat16",
        "transformers_version": "4.49.0",
        "use_cache": True,
        "use_sliding_window": False,
        "vision_config": {
            "depth": VISION_DEPTH,
            "hidden_act": "silu",
            "hidden_size": VISION_HIDDEN,
            "intermediate_size": spec.vision_intermediate_size,
            "num_heads": 16,
            "in_chans": 3,
            "out_hidden_size": spec.hidden_size,
            "patch_size": 14,
            "spatial_merge_size": 2,
            "spatial_patch_size": 14,
            "window_size": 112,
            "fullatt_block_indexes": [7, 15, 23, 31],
            "tokens_per_second": 2,
            "temporal_patch_size": 2,
        },
        "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]},
        "vocab_size": spec.vocab_size,
    }


def _metadata_files(spec: ModelSpec) -> dict[str, Any]:
    """Every small file of the repository except the tokenizer files, as JSON-able objects or text."""
    files: dict[str, Any] = {
        "config.json": config_json(spec),
        # ModelScope repositories carry this file; vLLM ignores it.
        "configuration.json": {"framework": "pytorch", "task": "image-text-to-text", "allow_remote": True},
        "generation_config.json": {
            "bos_token_id": BOS_ID,
            "pad_token_id": BOS_ID,
            "do_sample": True,
            "eos_token_id": [EOS_ID, BOS_ID],
            "repetition_penalty": 1.05,
            "temperature": 0.1,
            "top_p": 0.001,
            "top_k": 1,
            "transformers_version": "4.49.0",
        },
        "preprocessor_config.json": {
            "min_pixels": 3136,
            "max_pixels": 12845056,
            "patch_size": 14,
            "temporal_patch_size": 2,
            "merge_size": 2,
            "image_mean": [0.48145466, 0.4578275, 0.40821073],
            "image_std": [0.26862954, 0.26130258, 0.27577711],
            "image_processor_type": "Qwen2VLImageProcessor",
            "processor_class": "Qwen2_5_VLProcessor",
        },
        "chat_template.json": {"chat_template": CHAT_TEMPLATE},
        "README.md": (
            f"# {spec.name} (atlas-sim)\n\nSimulated copy for the atlas-sim twin: real config and tokenizer metadata,"
            " tensor names and shard layout of the real checkpoint, tensor data scaled down to a few bytes.\n"
            "It cannot be used for inference.\n"
        ),
    }
    if spec.quant:
        files[QUANT_DESCRIPTION_NAME] = quant_description(spec)
    return files


def _byte_level_alphabet() -> list[str]:
    """GPT-2 byte-to-unicode table that Qwen2's byte-level BPE uses for its 256 base tokens."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    extra = 0
    chars = {}
    for b in range(256):
        if b in printable:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return [chars[b] for b in range(256)]


_MERGES = [("Ġ", "t"), ("Ġ", "a"), ("h", "e"), ("i", "n"), ("r", "e"), ("o", "n"), ("Ġt", "he"), ("e", "r"),
           ("Ġ", "s"), ("a", "t"), ("Ġ", "w"), ("Ġ", "o"), ("e", "n"), ("Ġ", "c"), ("i", "t"), ("i", "s")]  # fmt: skip


def _tokenizer_files() -> dict[str, Any]:
    """A small but well-formed Qwen2 byte-level BPE tokenizer: 256 byte tokens, a few merges, the special tokens."""
    vocab = {ch: i for i, ch in enumerate(_byte_level_alphabet())}
    for left, right in _MERGES:
        vocab.setdefault(left + right, len(vocab))
    added = [
        {"id": BOS_ID + i, "content": tok, "single_word": False, "lstrip": False, "rstrip": False,
         "normalized": False, "special": tok not in _NOT_SPECIAL}
        for i, tok in enumerate(SPECIAL_TOKENS)
    ]  # fmt: skip
    tokenizer = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|"
                                              r"\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"},
                 "behavior": "Isolated", "invert": False},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
            ],
        },
        "post_processor": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
        "model": {
            "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
            "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
            "vocab": vocab, "merges": [f"{left} {right}" for left, right in _MERGES],
        },
    }  # fmt: skip
    config = {
        "add_bos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": {str(t["id"]): {k: v for k, v in t.items() if k != "id"} for t in added},
        "additional_special_tokens": SPECIAL_TOKENS[1:14],
        "bos_token": None,
        "chat_template": CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "eos_token": "<|im_end|>",
        "errors": "replace",
        "model_max_length": 131072,
        "pad_token": "<|endoftext|>",
        "split_special_tokens": False,
        "tokenizer_class": "Qwen2Tokenizer",
        "unk_token": None,
    }
    merges = "#version: 0.2\n" + "".join(f"{left} {right}\n" for left, right in _MERGES)
    return {"tokenizer.json": tokenizer, "tokenizer_config.json": config, "vocab.json": vocab, "merges.txt": merges}


# ---------------------------------------------------------------------------------------------------------------
# Tensors
# ---------------------------------------------------------------------------------------------------------------

_ITEMSIZE = {"BF16": 2, "F32": 4, "I8": 1, "I32": 4}
_W8A8_LINEARS = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                 "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")  # fmt: skip


@dataclass(frozen=True)
class Tensor:
    name: str
    dtype: str
    shape: tuple[int, ...]

    @property
    def real_bytes(self) -> int:
        return math.prod(self.shape) * _ITEMSIZE[self.dtype]


def _bf16_plan(spec: ModelSpec) -> Iterator[tuple[str, tuple[int, ...]]]:
    """Tensor names and real shapes, in the order transformers' save_pretrained writes them (visual first)."""
    vh, vi, h, i = VISION_HIDDEN, spec.vision_intermediate_size, spec.hidden_size, spec.intermediate_size
    yield "visual.patch_embed.proj.weight", (vh, 3, 2, 14, 14)
    for b in range(VISION_DEPTH):
        p = f"visual.blocks.{b}."
        yield p + "norm1.weight", (vh,)
        yield p + "norm2.weight", (vh,)
        yield p + "attn.qkv.weight", (3 * vh, vh)
        yield p + "attn.qkv.bias", (3 * vh,)
        yield p + "attn.proj.weight", (vh, vh)
        yield p + "attn.proj.bias", (vh,)
        for proj in ("gate_proj", "up_proj"):
            yield p + f"mlp.{proj}.weight", (vi, vh)
            yield p + f"mlp.{proj}.bias", (vi,)
        yield p + "mlp.down_proj.weight", (vh, vi)
        yield p + "mlp.down_proj.bias", (vh,)
    merged = vh * 4  # spatial_merge_size ** 2 patches are concatenated before the merger MLP
    yield "visual.merger.ln_q.weight", (vh,)
    yield "visual.merger.mlp.0.weight", (merged, merged)
    yield "visual.merger.mlp.0.bias", (merged,)
    yield "visual.merger.mlp.2.weight", (h, merged)
    yield "visual.merger.mlp.2.bias", (h,)
    yield "model.embed_tokens.weight", (spec.vocab_size, h)
    kv = spec.num_key_value_heads * HEAD_DIM
    for n in range(spec.num_hidden_layers):
        p = f"model.layers.{n}."
        yield p + "input_layernorm.weight", (h,)
        for proj, out in (("q_proj", h), ("k_proj", kv), ("v_proj", kv)):
            yield p + f"self_attn.{proj}.weight", (out, h)
            yield p + f"self_attn.{proj}.bias", (out,)
        yield p + "self_attn.o_proj.weight", (h, h)
        yield p + "mlp.gate_proj.weight", (i, h)
        yield p + "mlp.up_proj.weight", (i, h)
        yield p + "mlp.down_proj.weight", (h, i)
        yield p + "post_attention_layernorm.weight", (h,)
    yield "model.norm.weight", (h,)
    if not spec.tie_word_embeddings:
        yield "lm_head.weight", (spec.vocab_size, h)


def _linear_of(name: str) -> str | None:
    """The quantised linear a tensor belongs to, or None (vision tower, norms, embeddings stay FLOAT)."""
    if not name.startswith("model.layers."):
        return None
    base = name.rsplit(".", 1)[0]
    return base if base.endswith(_W8A8_LINEARS) else None


def tensor_plan(spec: ModelSpec) -> list[Tensor]:
    """Every tensor of the checkpoint with its real dtype and shape."""
    tensors: list[Tensor] = []
    for name, shape in _bf16_plan(spec):
        linear = _linear_of(name) if spec.quant else None
        if linear is None:
            tensors.append(Tensor(name, "BF16", shape))
        elif name.endswith(".weight"):
            # W8A8 layout of vllm-ascend's w8a8.py: int8 weight plus per-tensor activation and per-channel scales.
            out = shape[0]
            tensors += [
                Tensor(name, "I8", shape),
                Tensor(linear + ".input_scale", "BF16", (1,)),
                Tensor(linear + ".input_offset", "I8", (1,)),
                Tensor(linear + ".quant_bias", "I32", (out,)),
                Tensor(linear + ".deq_scale", "F32", (out,)),
                Tensor(linear + ".weight_scale", "BF16", (out, 1)),
                Tensor(linear + ".weight_offset", "BF16", (out, 1)),
            ]
        else:
            tensors.append(Tensor(name, "BF16", shape))
    return tensors


def real_total_size(spec: ModelSpec) -> int:
    """Bytes of the real checkpoint's tensors (the real index's ``metadata.total_size``)."""
    return sum(t.real_bytes for t in tensor_plan(spec))


def quant_description(spec: ModelSpec) -> dict[str, str]:
    """ModelSlim's description: a type for every stored tensor, ``FLOAT`` where not quantised."""
    desc = {"model_quant_type": spec.quant.upper() if spec.quant else "FLOAT"}
    for t in tensor_plan(spec):
        desc[t.name] = "W8A8" if spec.quant and _linear_of(t.name) else "FLOAT"
    return desc


def _split_shards(spec: ModelSpec, tensors: list[Tensor]) -> list[list[Tensor]]:
    """Cut the ordered tensors into ``spec.shards`` runs of about equal real size, like save_pretrained does."""
    total = sum(t.real_bytes for t in tensors)
    shards: list[list[Tensor]] = [[] for _ in range(spec.shards)]
    done = 0
    for index, t in enumerate(tensors):
        k = min(spec.shards - 1, done * spec.shards // total)
        # Keep enough tensors back so that no later shard ends up empty.
        k = max(k, spec.shards - (len(tensors) - index))
        shards[k].append(t)
        done += t.real_bytes
    return shards


def _tensor_bytes(repo_id: str, name: str, nbytes: int) -> bytes:
    # Keyed by repo and tensor so identical inputs give identical files, and no two tensors share content.
    return hashlib.shake_256(f"{repo_id}:{name}".encode()).digest(nbytes)


def safetensors_bytes(entries: list[tuple[str, str, int, bytes]]) -> bytes:
    """A safetensors file: u64-LE header length, JSON header (space-padded to 8 bytes), then the tensor data."""
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, dtype, count, data in entries:
        header[name] = {"dtype": dtype, "shape": [count], "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + b"".join(e[3] for e in entries)


def read_safetensors_header(path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        (length,) = struct.unpack("<Q", fh.read(8))
        return json.loads(fh.read(length))


# ---------------------------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------------------------


def _dump(obj: Any) -> bytes:
    if isinstance(obj, str):
        return obj.encode()
    return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode()


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_model(dest_dir: Path, repo_id: str, shard_kb: int = DEFAULT_SHARD_KB) -> Path:
    """Write the simulated repository into ``dest_dir`` (created) and return it. Same inputs, same bytes.

    ``shard_kb`` is the mean tensor data per shard; shards keep the real checkpoint's relative sizes.
    """
    spec = get_spec(repo_id)
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    for name, obj in {**_metadata_files(spec), **_tokenizer_files()}.items():
        _write(dest / name, _dump(obj))

    shards = _split_shards(spec, tensor_plan(spec))
    real_total = sum(t.real_bytes for shard in shards for t in shard)
    weight_map: dict[str, str] = {}
    for number, shard in enumerate(shards, start=1):
        shard_real = sum(t.real_bytes for t in shard)
        budget = shard_kb * 1024 * spec.shards * shard_real / real_total
        entries = []
        for t in shard:
            size = _ITEMSIZE[t.dtype]
            count = max(1, int(budget * t.real_bytes / shard_real) // size)
            data = _tensor_bytes(spec.repo_id, t.name, count * size)
            entries.append((t.name, t.dtype, count, data))
            weight_map[t.name] = spec.shard_name(number)
        _write(dest / spec.shard_name(number), safetensors_bytes(entries))
    # The index states the real checkpoint's size, as the real index does: vLLM sizes its NPU memory plan by it.
    index = {"metadata": {"total_size": real_total_size(spec)}, "weight_map": dict(sorted(weight_map.items()))}
    _write(dest / spec.index_name, _dump(index))
    return dest


# ---------------------------------------------------------------------------------------------------------------
# Manifest
# ---------------------------------------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_READ_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def manifest_files(model_dir: Path) -> list[str]:
    """Relative paths the manifest covers: regular files, no dot-files or dot-dirs, not the manifest itself."""
    root = Path(model_dir)
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            rel = (Path(dirpath) / name).relative_to(root).as_posix()
            if name.startswith(".") or rel == MANIFEST_NAME:
                continue
            if "\n" in rel or "\\" in rel:
                # sha256sum escapes such names; refusing them keeps the format plain.
                raise ValueError(f"unsupported file name in manifest: {rel!r}")
            found.append(rel)
    return sorted(found)


def write_manifest(model_dir: Path) -> Path:
    """Write ``MANIFEST.sha256`` (sha256sum format, sorted) into ``model_dir`` and return its path."""
    root = Path(model_dir)
    lines = [f"{_sha256(root / rel)}  {rel}\n" for rel in manifest_files(root)]
    path = root / MANIFEST_NAME
    _write(path, "".join(lines).encode())
    return path


def verify_manifest(model_dir: Path) -> list[str]:
    """Problems found checking ``model_dir`` against its manifest (empty list: all good)."""
    root = Path(model_dir)
    problems = []
    for line in (root / MANIFEST_NAME).read_text().splitlines():
        digest, _, rel = line.partition("  ")
        target = root / rel
        if not target.is_file():
            problems.append(f"{rel}: missing")
        elif _sha256(target) != digest:
            problems.append(f"{rel}: FAILED")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m atlas_sim.models", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write", help="write a simulated model directory")
    w.add_argument("dest", type=Path)
    w.add_argument("repo_id", help=f"one of: {', '.join(MODELS)}")
    w.add_argument("--shard-kb", type=int, default=DEFAULT_SHARD_KB, help="mean tensor data per shard (KiB)")
    w.add_argument("--manifest", action="store_true", help=f"also write {MANIFEST_NAME}")
    m = sub.add_parser("manifest", help=f"write DIR/{MANIFEST_NAME} (sha256sum -c format)")
    m.add_argument("dir", type=Path)
    v = sub.add_parser("verify", help=f"check DIR against DIR/{MANIFEST_NAME}")
    v.add_argument("dir", type=Path)
    sub.add_parser("list", help="print the known repo ids and their ModelScope cache paths")
    args = parser.parse_args(argv)

    if args.cmd == "write":
        try:
            out = write_model(args.dest, args.repo_id, args.shard_kb)
        except KeyError as exc:
            parser.error(str(exc.args[0]))
        if args.manifest:
            write_manifest(out)
        print(out)
    elif args.cmd == "manifest":
        if not args.dir.is_dir():
            parser.error(f"not a directory: {args.dir}")
        print(write_manifest(args.dir))
    elif args.cmd == "verify":
        problems = verify_manifest(args.dir)
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0
    else:
        for repo in MODELS:
            print(f"{repo}\t{CACHE_ROOT}/{cache_path(repo)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
