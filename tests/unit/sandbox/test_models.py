"""Simulated Qwen2.5-VL weights: reference config values, valid safetensors, index, manifest and determinism."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
if str(REPO / "sandbox") not in sys.path:
    sys.path.insert(0, str(REPO / "sandbox"))

from atlas_sim import models  # noqa: E402

# Reference §4 table: hidden, intermediate, heads, kv heads, layers, vocab, tie, vision intermediate, bf16 bytes, shards.
REFERENCE = {
    "3B": (2048, 11008, 16, 2, 36, 151936, True, 3420, 7_509_245_952, 2),
    "7B": (3584, 18944, 28, 4, 28, 152064, False, 3420, 16_584_333_312, 5),
    "32B": (5120, 27648, 40, 8, 64, 152064, False, 3456, 66_905_436_672, 18),
    "72B": (8192, 29568, 64, 8, 80, 152064, False, 3456, 146_821_554_688, 38),
}
W8A8 = "Qwen/Qwen2.5-VL-32B-Instruct-w8a8"
ITEMSIZE = {"BF16": 2, "F32": 4, "I8": 1, "I32": 4}


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    return {repo: models.write_model(root / models.get_spec(repo).name, repo, shard_kb=32) for repo in models.MODELS}


def test_catalogue_has_the_five_models() -> None:
    assert set(models.MODELS) == {f"Qwen/Qwen2.5-VL-{s}-Instruct" for s in REFERENCE} | {W8A8}
    assert models.get_spec("Qwen2.5-VL-7B-Instruct") is models.MODELS["Qwen/Qwen2.5-VL-7B-Instruct"]
    with pytest.raises(KeyError):
        models.get_spec("Qwen/Qwen2-VL-7B-Instruct")


@pytest.mark.parametrize("size", list(REFERENCE))
def test_config_matches_reference(size: str, written: dict[str, Path]) -> None:
    hidden, inter, heads, kv, layers, vocab, tie, vis_inter, _, _ = REFERENCE[size]
    cfg = json.loads((written[f"Qwen/Qwen2.5-VL-{size}-Instruct"] / "config.json").read_text())
    assert cfg["architectures"] == ["Qwen2_5_VLForConditionalGeneration"]
    assert cfg["model_type"] == "qwen2_5_vl"
    assert (cfg["hidden_size"], cfg["intermediate_size"]) == (hidden, inter)
    assert (cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["num_hidden_layers"]) == (heads, kv, layers)
    assert (cfg["vocab_size"], cfg["tie_word_embeddings"]) == (vocab, tie)
    assert cfg["hidden_size"] // cfg["num_attention_heads"] == 128
    assert cfg["max_position_embeddings"] == 128000
    assert (cfg["sliding_window"], cfg["use_sliding_window"]) == (32768, False)
    assert (cfg["hidden_act"], cfg["rms_norm_eps"], cfg["rope_theta"]) == ("silu", 1e-06, 1000000.0)
    assert cfg["torch_dtype"] == "bfloat16"
    assert cfg["rope_scaling"] == {"type": "mrope", "mrope_section": [16, 24, 24]}
    ids = {k: cfg[k] for k in ("bos_token_id", "eos_token_id", "vision_start_token_id", "vision_end_token_id")}
    assert ids == {"bos_token_id": 151643, "eos_token_id": 151645, "vision_start_token_id": 151652,
                   "vision_end_token_id": 151653}  # fmt: skip
    assert (cfg["vision_token_id"], cfg["image_token_id"], cfg["video_token_id"]) == (151654, 151655, 151656)
    vc = cfg["vision_config"]
    assert (vc["depth"], vc["num_heads"], vc["hidden_size"], vc["in_chans"]) == (32, 16, 1280, 3)
    assert (vc["patch_size"], vc["spatial_patch_size"], vc["spatial_merge_size"]) == (14, 14, 2)
    assert (vc["temporal_patch_size"], vc["window_size"], vc["tokens_per_second"]) == (2, 112, 2)
    assert vc["fullatt_block_indexes"] == [7, 15, 23, 31]
    assert (vc["intermediate_size"], vc["out_hidden_size"]) == (vis_inter, hidden)


@pytest.mark.parametrize("size", list(REFERENCE))
def test_real_tensor_plan_adds_up_to_reference_bytes(size: str) -> None:
    # The tensor names and shapes are the real ones: their bf16 bytes equal the reference's index total_size.
    assert models.real_total_size(models.get_spec(f"Qwen2.5-VL-{size}-Instruct")) == REFERENCE[size][8]


def test_tokenizer_and_processor_files(written: dict[str, Path]) -> None:
    for model_dir in written.values():
        tok = json.loads((model_dir / "tokenizer.json").read_text())
        assert tok["model"]["type"] == "BPE"
        assert {t["content"]: t["id"] for t in tok["added_tokens"]}["<|image_pad|>"] == 151655
        vocab = json.loads((model_dir / "vocab.json").read_text())
        assert vocab == tok["model"]["vocab"] and len(vocab) >= 256
        merges = (model_dir / "merges.txt").read_text().splitlines()
        assert merges[0] == "#version: 0.2" and merges[1:] == tok["model"]["merges"]
        tcfg = json.loads((model_dir / "tokenizer_config.json").read_text())
        # vLLM derives max_model_len = min(max_position_embeddings, model_max_length) = 128000.
        assert (tcfg["model_max_length"], tcfg["eos_token"], tcfg["tokenizer_class"]) == (
            131072,
            "<|im_end|>",
            "Qwen2Tokenizer",
        )
        assert (
            "<|vision_start|><|image_pad|><|vision_end|>"
            in json.loads((model_dir / "chat_template.json").read_text())["chat_template"]
        )
        pre = json.loads((model_dir / "preprocessor_config.json").read_text())
        assert (pre["patch_size"], pre["merge_size"], pre["temporal_patch_size"]) == (14, 2, 2)
        gen = json.loads((model_dir / "generation_config.json").read_text())
        assert gen["eos_token_id"] == [151645, 151643]


def _parse_safetensors(path: Path) -> tuple[dict, int]:
    blob = path.read_bytes()
    (length,) = struct.unpack("<Q", blob[:8])
    assert length % 8 == 0
    header = json.loads(blob[8 : 8 + length])
    data_len = len(blob) - 8 - length
    spans = sorted(tuple(v["data_offsets"]) for k, v in header.items() if k != "__metadata__")
    assert spans[0][0] == 0 and spans[-1][1] == data_len
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False)), "data must be contiguous"
    for key, value in header.items():
        if key == "__metadata__":
            assert value == {"format": "pt"}
            continue
        count = 1
        for dim in value["shape"]:
            count *= dim
        start, end = value["data_offsets"]
        assert end - start == count * ITEMSIZE[value["dtype"]] > 0
    return header, data_len


@pytest.mark.parametrize("repo", list(models.MODELS))
def test_shards_index_and_sizes(repo: str, written: dict[str, Path]) -> None:
    spec = models.get_spec(repo)
    model_dir = written[repo]
    shards = sorted(p.name for p in model_dir.glob("*.safetensors"))
    prefix = "quant_model_weight_w8a8" if spec.quant else "model"
    count = 10 if spec.quant else REFERENCE[spec.name.split("-")[2]][9]
    assert shards == [f"{prefix}-{i:05d}-of-{count:05d}.safetensors" for i in range(1, count + 1)]
    index = json.loads((model_dir / f"{prefix}.safetensors.index.json").read_text())
    assert set(index["weight_map"].values()) == set(shards)
    total = 0
    seen: dict[str, str] = {}
    for shard in shards:
        header, data_len = _parse_safetensors(model_dir / shard)
        total += data_len
        seen.update({name: shard for name in header if name != "__metadata__"})
    assert seen == index["weight_map"]
    assert 0 < total < index["metadata"]["total_size"] == models.real_total_size(spec)
    assert set(seen) == {t.name for t in models.tensor_plan(spec)}
    size = sum(p.stat().st_size for p in model_dir.iterdir())
    assert 50_000 < size < 8_000_000
    if spec.tie_word_embeddings:
        assert "lm_head.weight" not in seen
    else:
        assert "lm_head.weight" in seen


def test_default_sizes_stay_small(tmp_path: Path) -> None:
    out = models.write_model(tmp_path / "m", "Qwen/Qwen2.5-VL-72B-Instruct")
    size = sum(p.stat().st_size for p in out.iterdir())
    assert 1_000_000 < size < 8_000_000


def test_w8a8_description_is_what_vllm_ascend_reads(written: dict[str, Path]) -> None:
    model_dir = written[W8A8]
    # vLLM globs *.json for names ending in quant_model_description.json and wants exactly one.
    matches = [p.name for p in model_dir.glob("*.json") if p.name.endswith("quant_model_description.json")]
    assert matches == ["quant_model_description.json"]
    desc = json.loads((model_dir / "quant_model_description.json").read_text())
    cfg = json.loads((model_dir / "config.json").read_text())
    assert "quantization_config" not in cfg and cfg["num_attention_heads"] == 40
    assert desc["model_quant_type"] == "W8A8"
    for layer in range(64):
        for linear in ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                       "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"):  # fmt: skip
            assert desc[f"model.layers.{layer}.{linear}.weight"] == "W8A8"
    assert desc["model.embed_tokens.weight"] == desc["lm_head.weight"] == "FLOAT"
    assert desc["visual.blocks.0.attn.qkv.weight"] == "FLOAT"
    assert set(desc.values()) <= {"W8A8", "FLOAT"}
    weight_map = json.loads((model_dir / "quant_model_weight_w8a8.safetensors.index.json").read_text())["weight_map"]
    assert set(weight_map) == set(desc) - {"model_quant_type"}
    header, _ = _parse_safetensors(model_dir / weight_map["model.layers.0.self_attn.q_proj.weight"])
    assert header["model.layers.0.self_attn.q_proj.weight"]["dtype"] == "I8"
    header, _ = _parse_safetensors(model_dir / weight_map["model.layers.0.self_attn.q_proj.deq_scale"])
    assert header["model.layers.0.self_attn.q_proj.deq_scale"]["dtype"] == "F32"


def test_cache_path_is_modelscope_layout() -> None:
    assert models.cache_path("Qwen/Qwen2.5-VL-7B-Instruct") == "hub/models/Qwen/Qwen2___5-VL-7B-Instruct"
    assert models.cache_path(W8A8) == "hub/models/Qwen/Qwen2___5-VL-32B-Instruct-w8a8"


def _digests(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def test_deterministic(tmp_path: Path, written: dict[str, Path]) -> None:
    repo = "Qwen/Qwen2.5-VL-7B-Instruct"
    again = models.write_model(tmp_path / "again", repo, shard_kb=32)
    assert _digests(again) == _digests(written[repo])
    other = models.write_model(tmp_path / "bigger", repo, shard_kb=64)
    assert _digests(other)["config.json"] == _digests(again)["config.json"]
    assert _digests(other)["model-00001-of-00005.safetensors"] != _digests(again)["model-00001-of-00005.safetensors"]


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="coreutils sha256sum not installed")
def test_manifest_verifies_with_sha256sum(tmp_path: Path) -> None:
    model_dir = models.write_model(tmp_path / "m", "Qwen/Qwen2.5-VL-3B-Instruct", shard_kb=16)
    (model_dir / ".msc").write_bytes(b"download tool state")
    manifest = models.write_manifest(model_dir)
    assert manifest == model_dir / "MANIFEST.sha256"
    lines = manifest.read_text().splitlines()
    paths = [line.split("  ", 1)[1] for line in lines]
    assert paths == sorted(paths) and "MANIFEST.sha256" not in paths and ".msc" not in paths
    assert all(len(line.split("  ", 1)[0]) == 64 for line in lines)
    ok = subprocess.run(["sha256sum", "-c", "--strict", "MANIFEST.sha256"], cwd=model_dir, capture_output=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert models.verify_manifest(model_dir) == []
    assert models.write_manifest(model_dir).read_bytes() == manifest.read_bytes()

    shard = model_dir / "model-00002-of-00002.safetensors"
    blob = bytearray(shard.read_bytes())
    blob[-1] ^= 0xFF
    shard.write_bytes(bytes(blob))
    bad = subprocess.run(["sha256sum", "-c", "--quiet", "MANIFEST.sha256"], cwd=model_dir, capture_output=True)
    assert bad.returncode == 1 and b"model-00002-of-00002.safetensors: FAILED" in bad.stdout
    assert models.verify_manifest(model_dir) == ["model-00002-of-00002.safetensors: FAILED"]


def test_cli_write_manifest_verify(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO / "sandbox")}
    run = [sys.executable, "-m", "atlas_sim.models"]
    dest = tmp_path / "Qwen2.5-VL-7B-Instruct"
    out = subprocess.run([*run, "write", str(dest), "Qwen/Qwen2.5-VL-7B-Instruct", "--shard-kb", "8"], env=env,
                         capture_output=True, text=True)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert (dest / "model-00005-of-00005.safetensors").is_file()
    out = subprocess.run([*run, "manifest", str(dest)], env=env, capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == str(dest / "MANIFEST.sha256")
    assert subprocess.run([*run, "verify", str(dest)], env=env).returncode == 0
    (dest / "config.json").write_text("{}")
    bad = subprocess.run([*run, "verify", str(dest)], env=env, capture_output=True, text=True)
    assert bad.returncode == 1 and "config.json: FAILED" in bad.stderr
    unknown = subprocess.run([*run, "write", str(tmp_path / "x"), "Qwen/nope"], env=env, capture_output=True)
    assert unknown.returncode == 2
