"""Instance planning: devices and ports per vLLM instance, and the refusals operators rely on."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.atlas.vllm.plugins.filter.vllm_plan import (
    vllm_hccl_ports,
    vllm_instance_plan,
    vllm_reserved_ports,
)

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


# --- HCCL listener ranges (docs/field-failures.md, row 1) -------------------------------------------------------


def test_tensor_parallel_instances_get_ranges_sixteen_ports_apart_by_default() -> None:
    plan = vllm_hccl_ports(vllm_instance_plan(2, 4, ALL, 8000), 60000, {}, "atlas-01")
    assert [(i["name"], i["hccl_base_port"]) for i in plan] == [("vllm-0", 60000), ("vllm-1", 60016)]


def test_single_npu_instances_listen_for_nothing() -> None:
    plan = vllm_instance_plan(8, 1, ALL, 8000)
    assert vllm_hccl_ports(plan, 60000, {"HCCL_IF_BASE_PORT": "60000"}, "atlas-01") == plan


def test_one_tensor_parallel_instance_may_take_the_range_the_environment_names() -> None:
    plan = vllm_hccl_ports(vllm_instance_plan(1, 8, ALL, 8000), 60000, {"HCCL_IF_BASE_PORT": "55000"}, "atlas-01")
    assert plan[0]["hccl_base_port"] == 55000


def test_one_range_forced_on_two_instances_is_refused_naming_node_instances_and_port() -> None:
    with pytest.raises(AnsibleFilterError) as caught:
        vllm_hccl_ports(vllm_instance_plan(2, 4, ALL, 8000), 60000, {"HCCL_IF_BASE_PORT": 61000}, "atlas-01")
    message = caught.value.message
    assert message.startswith("atlas-01: vllm-0 and vllm-1 would both listen for HCCL on port 61000 "
                              "(vllm-0: 61000-61015 from HCCL_IF_BASE_PORT; vllm-1: 61000-61015 from HCCL_IF_BASE_PORT)")
    assert "EJ0003" in message and "vllm_instances hccl_base_port" in message


def test_pinned_ranges_closer_than_sixteen_ports_are_refused_at_the_first_shared_port() -> None:
    instances = [{"name": "a", "hccl_base_port": 50000}, {"name": "b", "hccl_base_port": 50010}]
    with pytest.raises(AnsibleFilterError, match=r"atlas-02: a and b would both listen for HCCL on port 50010 "
                                                 r"\(a: 50000-50015 from vllm_instances hccl_base_port of a; "
                                                 r"b: 50010-50025 from vllm_instances hccl_base_port of b\)"):
        vllm_hccl_ports(vllm_instance_plan(instances, 2, ALL, 8000), 60000, {}, "atlas-02")


def test_pinned_ranges_sixteen_apart_and_allocated_ones_around_them() -> None:
    instances = [{"name": "a", "hccl_base_port": 50000}, {"name": "b", "hccl_base_port": 50016}]
    plan = vllm_hccl_ports(vllm_instance_plan(instances, 2, ALL, 8000), 60000, {}, "atlas-02")
    assert [i["hccl_base_port"] for i in plan] == [50000, 50016]


@pytest.mark.parametrize("base", [1023, 65521])
def test_a_range_outside_what_hccl_takes_is_refused(base: int) -> None:
    with pytest.raises(AnsibleFilterError, match=f"vllm-0 would listen for HCCL from port {base} "
                                                 r"\(vllm_hccl_base_port\); HCCL takes 1024 to 65520"):
        vllm_hccl_ports(vllm_instance_plan(1, 2, ALL, 8000), base, {}, "atlas-01")


def test_reserved_ports_add_each_hccl_range_as_the_kernel_prints_them() -> None:
    plan = [{"name": "vllm-0", "devices": [0, 1], "hccl_base_port": 60000},
            {"name": "vllm-1", "devices": [2, 3], "hccl_base_port": 60016},
            {"name": "vllm-2", "devices": [4]}]
    # Adjacent ranges merge, as the kernel reads the value back: an unchanged plan leaves the value unchanged.
    assert vllm_reserved_ports(plan, "") == "60000-60031"
    assert vllm_reserved_ports(plan, "60000-60031\n") == "60000-60031"
    # A site's own reservations are kept and ordered with ours.
    assert vllm_reserved_ports(plan, "8080,9148-9150\n") == "8080,9148-9150,60000-60031"
    assert vllm_reserved_ports([{"name": "vllm-0", "devices": [0, 1], "hccl_base_port": 61000}],
                               "60000-60031") == "60000-60031,61000-61015"
    assert vllm_reserved_ports([{"name": "vllm-0", "devices": [0]}], "") == ""


def test_reserved_ports_refuse_what_is_not_a_port_list() -> None:
    with pytest.raises(AnsibleFilterError, match="'80a' is not a port or a port range"):
        vllm_reserved_ports([], "80a")
