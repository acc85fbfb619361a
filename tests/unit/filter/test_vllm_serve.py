"""The `vllm serve` argv the containers are started with."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.atlas.vllm.plugins.filter.vllm_serve import vllm_serve_argv

MODEL = "/root/.cache/modelscope/hub/models/Qwen/Qwen2___5-VL-32B-Instruct"


def test_the_tutorial_command_for_32b_on_two_npus() -> None:
    argv = vllm_serve_argv({
        "model_path": MODEL, "served_model_name": "Qwen2.5-VL-32B-Instruct", "host": "0.0.0.0", "port": 8000,
        "tensor_parallel_size": 2, "max_model_len": 30000, "max_num_batched_tokens": 50000, "max_num_seqs": 30,
        "async_scheduling": True, "enable_prefix_caching": False, "trust_remote_code": True, "dtype": "bfloat16",
    })
    assert argv == [
        "vllm", "serve", MODEL, "--served-model-name", "Qwen2.5-VL-32B-Instruct", "--host", "0.0.0.0",
        "--port", "8000", "--tensor-parallel-size", "2", "--max-model-len", "30000",
        "--max-num-batched-tokens", "50000", "--max-num-seqs", "30", "--dtype", "bfloat16",
        "--async-scheduling", "--trust-remote-code", "--no-enable-prefix-caching",
    ]


def test_unset_settings_are_left_to_vllm_defaults_and_json_is_compact() -> None:
    argv = vllm_serve_argv({"model_path": MODEL, "quantization": "ascend", "max_num_seqs": None,
                            "additional_config": {"enable_weight_nz_layout": True}, "enable_prefix_caching": None})
    assert argv == ["vllm", "serve", MODEL, "--quantization", "ascend",
                    "--additional-config", '{"enable_weight_nz_layout":true}']


def test_extra_args_are_appended_verbatim_as_separate_arguments() -> None:
    argv = vllm_serve_argv({"model_path": MODEL, "extra_args": ["--seed", "7", "--disable-log-stats"]})
    assert argv[-3:] == ["--seed", "7", "--disable-log-stats"]


@pytest.mark.parametrize("extra", [["--max_model_len", "8192"], ["--port=9000"], ["--api-key", "x"]])
def test_extra_args_may_not_repeat_a_structured_flag(extra: list[str]) -> None:
    with pytest.raises(AnsibleFilterError, match="vllm_extra_args repeats"):
        vllm_serve_argv({"model_path": MODEL, "extra_args": extra})


def test_a_missing_model_path_is_refused() -> None:
    with pytest.raises(AnsibleFilterError, match="model_path"):
        vllm_serve_argv({"port": 8000})
