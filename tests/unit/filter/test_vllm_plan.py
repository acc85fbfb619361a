"""Instance planning: devices and ports per vLLM instance, and the refusals operators rely on."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.atlas.vllm.plugins.filter.vllm_plan import vllm_instance_plan

ALL = list(range(8))


def test_one_instance_takes_the_first_healthy_npus_and_the_base_port() -> None:
    assert vllm_instance_plan(1, 2, ALL, 8000) == [{"name": "vllm-0", "devices": [0, 1], "port": 8000}]


def test_four_tp2_instances_fill_eight_npus() -> None:
    plan = vllm_instance_plan(4, 2, ALL, 8000)
    assert [i["devices"] for i in plan] == [[0, 1], [2, 3], [4, 5], [6, 7]]
    assert [i["port"] for i in plan] == [8000, 8001, 8002, 8003]


def test_unhealthy_npus_are_skipped() -> None:
    plan = vllm_instance_plan(2, 2, [0, 1, 3, 4, 5], 9000)
    assert [i["devices"] for i in plan] == [[0, 1], [3, 4]]


def test_explicit_instances_keep_their_devices_and_ports_and_the_rest_is_allocated_around_them() -> None:
    plan = vllm_instance_plan([{"name": "a", "devices": [0, 1], "port": 8001}, {"name": "b"}], 2, ALL, 8001)
    assert plan == [{"name": "a", "devices": [0, 1], "port": 8001}, {"name": "b", "devices": [2, 3], "port": 8002}]


@pytest.mark.parametrize(("instances", "tp", "healthy", "message"), [
    (5, 2, ALL, "5 instance(s) x vllm_tensor_parallel_size 2 need 10 NPUs, but only 8 are healthy"),
    ([{"devices": [0, 1]}, {"devices": [1, 2]}], 2, ALL, "NPU 1 is given to both vllm-0 and vllm-1"),
    ([{"port": 8000}, {"port": 8000}], 1, ALL, "port 8000 is given to both vllm-0 and vllm-1"),
    ([{"devices": [0]}], 2, ALL, "vllm-0 has 1 devices [0], but vllm_tensor_parallel_size is 2"),
    ([{"devices": [6, 7]}], 2, [0, 1, 2, 3], "NPU(s) [6, 7] are not among the healthy devices"),
    (0, 1, ALL, "vllm_instances must be at least 1, got 0"),
    ("two", 1, ALL, "vllm_instances must be a whole number, got 'two'"),
    (1, "yes", ALL, "vllm_tensor_parallel_size must be a whole number"),
    ([{"name": "x"}, {"name": "x"}], 1, ALL, "the name x is given to both x and x"),
])
def test_bad_plans_are_refused_naming_the_variable(instances, tp, healthy, message) -> None:
    with pytest.raises(AnsibleFilterError) as error:
        vllm_instance_plan(instances, tp, healthy, 8000)
    assert message in str(error.value)


def test_endpoints_add_the_fleet_and_local_urls_and_the_model_name() -> None:
    from ansible_collections.atlas.vllm.plugins.filter.vllm_plan import vllm_endpoints

    plan = [{"name": "vllm-0", "devices": [0, 1], "port": 8000}, {"name": "vllm-1", "devices": [2, 3], "port": 8001}]
    assert vllm_endpoints(plan, "10.231.0.11", "qwen2.5-vl") == [
        {"name": "vllm-0", "devices": [0, 1], "port": 8000, "url": "http://10.231.0.11:8000",
         "local_url": "http://127.0.0.1:8000", "served_model_name": "qwen2.5-vl"},
        {"name": "vllm-1", "devices": [2, 3], "port": 8001, "url": "http://10.231.0.11:8001",
         "local_url": "http://127.0.0.1:8001", "served_model_name": "qwen2.5-vl"},
    ]
    assert plan[0] == {"name": "vllm-0", "devices": [0, 1], "port": 8000}  # the plan itself is left as it was
