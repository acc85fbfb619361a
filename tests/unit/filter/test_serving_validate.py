"""Serving settings refused on the controller before any node is contacted."""

from __future__ import annotations

import pytest
from ansible_collections.atlas.vllm.plugins.filter.serving_validate import serving_settings_errors


def test_an_inventory_that_sets_nothing_is_fine() -> None:
    assert serving_settings_errors({}, "atlas-01") == []


def test_a_sound_multi_instance_setting_is_fine() -> None:
    settings = {"vllm_instances": 4, "vllm_tensor_parallel_size": 2, "vllm_port": 8000, "vllm_network_mode": "host",
                "vllm_model": "Qwen/Qwen2.5-VL-7B-Instruct", "vllm_trust_remote_code": True}
    assert serving_settings_errors(settings, "atlas-01") == []
    # Two tensor-parallel-4 instances on one host network get their own HCCL ranges without being told.
    assert serving_settings_errors({"vllm_instances": 2, "vllm_tensor_parallel_size": 4}, "atlas-01") == []


@pytest.mark.parametrize("size", ["1g", "1G", "1024m", "2GiB", "1073741824", "16gb"])
def test_shared_memory_of_at_least_the_floor_is_fine(size: str) -> None:
    assert serving_settings_errors({"vllm_shm_size": size}, "atlas-01") == []


@pytest.mark.parametrize("settings", [
    {"vllm_max_model_len": "8192"},
    {"vllm_max_model_len": "8192", "vllm_max_num_batched_tokens": "8192", "vllm_max_num_seqs": "64"},
    {"vllm_port": "8000", "vllm_hccl_base_port": "61000", "vllm_instances": "2", "vllm_tensor_parallel_size": "4"},
    {"vllm_trust_remote_code": "yes"},
    {"vllm_enforce_eager": "false", "vllm_async_scheduling": "True", "vllm_jemalloc_preload": "off"},
    {"vllm_enable_prefix_caching": "1", "model_weights_shared": "no", "vllm_image_archive_keep": "on"},
    {"vllm_gpu_memory_utilization": "0.9"},
    {"vllm_benchmark_range_ratio": "0.5", "hccl_network_max_loss_pct": "1"},
])
def test_strings_that_convert_as_the_argument_spec_would_are_fine(settings: dict) -> None:
    # -e key=value and INI inventories give every value as a string.
    assert serving_settings_errors(settings, "atlas-01") == []


@pytest.mark.parametrize(("settings", "message"), [
    ({"vllm_max_model_len": "8k"}, "atlas-02: vllm_max_model_len is '8k'; it must be a whole number from 1 to "
                                   "10000000, e.g. 16384 (a string of digits, as -e gives it, is fine)"),
    ({"vllm_tensor_parallel_size": "2.5"}, "atlas-02: vllm_tensor_parallel_size is '2.5'; it must be a whole number"),
    ({"vllm_port": 70000}, "atlas-02: vllm_port is 70000; it must be a whole number from 1 to 65535"),
    # A string that converts is still held to the range.
    ({"vllm_port": "70000"}, "atlas-02: vllm_port is '70000'; it must be a whole number from 1 to 65535"),
    # YAML's true is an int to Python; a boolean where a number is expected stays a mistake.
    ({"vllm_port": True}, "atlas-02: vllm_port is True; it must be a whole number from 1 to 65535"),
    ({"vllm_trust_remote_code": "maybe"}, "vllm_trust_remote_code is 'maybe'; it must be true or false (yes/no, "
                                          "on/off and 1/0 too; quoted or not, as -e gives them, is fine)"),
    ({"vllm_gpu_memory_utilization": "90%"}, "vllm_gpu_memory_utilization is '90%'; it must be a number (a string "
                                             "such as '0.9', as -e gives it, is fine)"),
    ({"vllm_benchmark_range_ratio": "half"}, "vllm_benchmark_range_ratio is 'half'; it must be a number, e.g. 0.0"),
    ({"vllm_network_mode": "nat"}, "vllm_network_mode is 'nat'; choose one of 'host', 'bridge'"),
    ({"vllm_image_variant": "310p"}, "vllm_image_variant is '310p'; choose one of"),
    ({"vllm_quantization": "w8a8"}, "vllm_quantization is 'w8a8'; choose one of None, 'ascend'"),
    ({"vllm_model": "Qwen2.5-VL-7B"}, "vllm_model is 'Qwen2.5-VL-7B'; it must be a model id"),
    ({"vllm_image_source": "archive"}, "vllm_image_archive is not set"),
    ({"vllm_instances": [{"devices": [0, 1]}, {"devices": [1, 2]}], "vllm_tensor_parallel_size": 2},
     "atlas-02: vllm_instances: NPU 1 is given to both vllm-0 and vllm-1"),
    ({"vllm_instances": [{"port": 8001}, {"port": 8001}]}, "vllm_instances: port 8001 is given to both"),
    ({"vllm_instances": 5, "vllm_tensor_parallel_size": 2}, "need 10 NPUs, but only 8 are healthy"),
    # The plan is computed from the converted values, as the role computes it.
    ({"vllm_instances": "3", "vllm_tensor_parallel_size": "2", "vllm_npu_count": "4"},
     "need 6 NPUs, but only 4 are healthy"),
    ({"vllm_extra_args": ["--max-model-len", "4096"]}, "vllm_extra_args repeats --max-model-len"),
    ({"vllm_instances": 2, "vllm_tensor_parallel_size": 4, "vllm_extra_env": {"HCCL_IF_BASE_PORT": "60100"}},
     "atlas-02: vllm-0 and vllm-1 would both listen for HCCL on port 60100"),
    ({"vllm_shm_size": "64m"}, "atlas-02: vllm_shm_size is '64m'; the container's /dev/shm must be at least 1g"),
    ({"vllm_shm_size": "1023MiB"}, "vllm_shm_size is '1023MiB'; the container's /dev/shm must be at least 1g"),
    ({"vllm_shm_size": "lots"}, "vllm_shm_size is 'lots'; it must be a docker size such as '1g' or '2048m'"),
    ({"vllm_hccl_base_port": 80}, "atlas-02: vllm_hccl_base_port is 80; it must be a whole number from 1024 to 65520"),
])
def test_bad_settings_are_named_with_their_value_and_rule(settings: dict, message: str) -> None:
    errors = serving_settings_errors(settings, "atlas-02")
    assert any(message in error for error in errors), errors


@pytest.mark.parametrize("settings", [
    {"atlas_managed_label": "io.atlas-vllm.managed"},
    {"atlas_managed_label": "site.ours", "vllm_label": "site.ours"},
    {"atlas_managed_label": "io.atlas-vllm.managed", "vllm_label": "site.ours",
     "npu_driver_managed_label": "site.ours=true"},
])
def test_labels_that_agree_are_fine(settings: dict) -> None:
    assert serving_settings_errors(settings, "atlas-01") == []


@pytest.mark.parametrize(("settings", "named"), [
    ({"atlas_managed_label": "io.atlas-vllm.managed", "vllm_label": "site.ours"},
     "vllm_label is 'site.ours' but npu_driver_managed_label is 'io.atlas-vllm.managed=true'"),
    ({"atlas_managed_label": "io.atlas-vllm.managed", "npu_driver_managed_label": "site.ours=true"},
     "vllm_label is 'io.atlas-vllm.managed' but npu_driver_managed_label is 'site.ours=true'"),
])
def test_a_label_set_for_one_role_only_is_refused_naming_the_shared_name(settings: dict, named: str) -> None:
    (error,) = serving_settings_errors(settings, "atlas-03")
    assert error.startswith(f"atlas-03: {named}: the NPU check would count the HBM of our own containers")
    assert error.endswith("set atlas_managed_label instead (every role follows it)")
