"""vLLM-Ascend v0.11.0rc1's HBM budget per planned NPU (module_utils/vllm_memory.py, filter vllm_hbm_budget)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.atlas.vllm.plugins.filter.vllm_memory import vllm_hbm_budget
from ansible_collections.atlas.vllm.plugins.module_utils.vllm_memory import kv_bytes_per_token

# Qwen2.5-VL-7B-Instruct's config values and checkpoint size (reference: model configs, "7B" column).
QWEN25_VL_7B = {"hidden_size": 3584, "num_attention_heads": 28, "num_key_value_heads": 4,
                "num_hidden_layers": 28, "torch_dtype": "bfloat16"}
WEIGHTS_7B = 16_584_333_312
# Qwen2.5-VL-72B: 64 heads / 8 KV heads, 80 layers, hidden 8192.
QWEN25_VL_72B = {"hidden_size": 8192, "num_attention_heads": 64, "num_key_value_heads": 8,
                 "num_hidden_layers": 80, "torch_dtype": "bfloat16"}
IDLE_MB = 3396


def npu(used: dict[int, int] | None = None, processes: list[dict] | None = None) -> dict:
    used = used or {}
    return {"devices": [{"npu_id": n, "chip_id": 0, "logic_id": n, "hbm_total_mb": 65536,
                         "hbm_used_mb": used.get(n, IDLE_MB)} for n in range(8)],
            "processes": processes or []}


def test_kv_bytes_per_token_follows_the_config():
    # 2 (K and V) x 28 layers x 4 KV heads x 128 head_dim x 2 bytes.
    assert kv_bytes_per_token(QWEN25_VL_7B, 1) == 57344
    assert kv_bytes_per_token(QWEN25_VL_7B, 2) == 28672
    # More ranks than KV heads: each rank keeps one head.
    assert kv_bytes_per_token(QWEN25_VL_7B, 8) == kv_bytes_per_token(QWEN25_VL_7B, 4) == 14336
    assert kv_bytes_per_token({"text_config": QWEN25_VL_72B}, 8) == 2 * 80 * 1 * 128 * 2


def test_idle_npus_pass():
    plan = [{"name": "vllm-0", "devices": [0]}, {"name": "vllm-1", "devices": [1, 2]}]
    assert vllm_hbm_budget(plan, npu(), QWEN25_VL_7B, WEIGHTS_7B, 0.9, 16384) == {
        "problems": [], "lines": [], "utilization": 0.9}
    # Unset, the utilization is vLLM's default.
    assert vllm_hbm_budget(plan, npu(), QWEN25_VL_7B, WEIGHTS_7B, None, 16384)["utilization"] == 0.9


def test_hbm_held_elsewhere_is_named_with_the_numbers_vllm_uses():
    holder = {"npu_id": 3, "chip_id": 0, "pid": 1067986, "name": "python3", "memory_mb": 40000}
    plan = [{"name": "vllm-0", "devices": [0]}, {"name": "vllm-3", "devices": [3]}]
    result = vllm_hbm_budget(plan, npu({3: IDLE_MB + 40000}, [holder]), QWEN25_VL_7B, WEIGHTS_7B, 0.9, 16384)
    assert [(p["instance"], p["device"]) for p in result["problems"]] == [("vllm-3", 3)]
    # 0.9 x 65536 - 43396 = 15586.4 MB; 16584333312 B = 15816 MB of weights; 16384 x 57344 B = 896 MB.
    assert result["lines"] == [
        "vllm-3 on NPU 3: vLLM's budget there is gpu_memory_utilization 0.9 x 65536 MB - 43396 MB already used "
        "(held by pid 1067986 (python3) 40000 MB) = 15586 MB, below the 15816 MB of weights plus 896 MB of KV cache "
        "for max_model_len 16384 it needs there before any activation"]


def test_the_threshold_is_the_budget_against_weights_plus_one_request():
    plan = [{"name": "vllm-0", "devices": [0]}]
    need = 15816 + 896
    # Budget exactly at the need passes; one MB less fails.
    used_at_need = int(0.9 * 65536 - need)
    assert vllm_hbm_budget(plan, npu({0: used_at_need}), QWEN25_VL_7B, WEIGHTS_7B, 0.9, 16384)["problems"] == []
    assert vllm_hbm_budget(plan, npu({0: used_at_need + 2}), QWEN25_VL_7B, WEIGHTS_7B, 0.9, 16384)["problems"]
    # Tensor parallelism spreads the same need over two NPUs.
    two = [{"name": "vllm-0", "devices": [0, 1]}]
    assert vllm_hbm_budget(two, npu({0: used_at_need + 2}), QWEN25_VL_7B, WEIGHTS_7B, 0.9, 16384)["problems"] == []


def test_serving_instances_are_not_judged():
    plan = [{"name": "vllm-0", "devices": [0]}]
    busy = npu({0: 60000})
    assert vllm_hbm_budget(plan, busy, QWEN25_VL_7B, WEIGHTS_7B, 0.9, 16384, ["vllm-0"])["problems"] == []
    assert vllm_hbm_budget(plan, busy, QWEN25_VL_7B, WEIGHTS_7B, 0.9, 16384, [])["problems"]


def test_bad_inputs_are_named():
    with pytest.raises(AnsibleFilterError, match="config.json has no num_hidden_layers"):
        vllm_hbm_budget([{"name": "vllm-0", "devices": [0]}], npu(), {"hidden_size": 1}, WEIGHTS_7B, 0.9, 16384)
    with pytest.raises(AnsibleFilterError, match="gpu_memory_utilization must be a number, got 'high'"):
        vllm_hbm_budget([], npu(), QWEN25_VL_7B, WEIGHTS_7B, "high", 16384)
    with pytest.raises(AnsibleFilterError, match="expects the plan"):
        vllm_hbm_budget({}, npu(), QWEN25_VL_7B, WEIGHTS_7B, 0.9, 16384)


def test_hbm_of_our_own_containers_counts_as_free():
    # One TP8 instance becoming two TP4: vllm-1 is new, and its NPUs are held by vllm-0's old workers (pids 500-507),
    # which the rolling change stops first.
    ours = [{"npu_id": n, "chip_id": 0, "pid": 500 + n, "name": "VLLMWorker_TP", "memory_mb": 55000} for n in range(8)]
    held = npu({n: IDLE_MB + 55000 for n in range(8)}, ours)
    plan = [{"name": "vllm-0", "devices": [0, 1, 2, 3]}, {"name": "vllm-1", "devices": [4, 5, 6, 7]}]
    assert vllm_hbm_budget(plan, held, QWEN25_VL_7B, WEIGHTS_7B, 0.9, 16384, ["vllm-0"],
                           [500 + n for n in range(8)])["problems"] == []
    # Without knowing them as ours, the same HBM is someone else's.
    refused = vllm_hbm_budget(plan, held, QWEN25_VL_7B, WEIGHTS_7B, 0.9, 16384, ["vllm-0"])
    assert [p["device"] for p in refused["problems"]] == [4, 5, 6, 7]
    assert "held by pid 504 (VLLMWorker_TP) 55000 MB" in refused["lines"][0]
