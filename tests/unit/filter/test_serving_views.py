"""Serving data reshaped for vllm_health, the results records and the endpoint table."""

from __future__ import annotations

from ansible_collections.atlas.vllm.plugins.filter.serving_views import (
    endpoint_table,
    vllm_health_instance,
    vllm_instance_records,
)

ENDPOINT = {"name": "vllm-0", "devices": [0, 1], "port": 8000, "url": "http://10.231.0.11:8000",
            "local_url": "http://127.0.0.1:8000", "served_model_name": "Qwen2.5-VL-7B-Instruct"}
HEALTH = {"name": "vllm-0", "state": "ready", "ready": True, "time_to_ready_s": 12.25, "max_model_len": 16384,
          "probe": {"answer": "A red, green and blue card\nwith a letter", "latency_s": 0.4,
                    "usage": {"prompt_tokens": 90, "completion_tokens": 9, "total_tokens": 99}}}


def test_health_checks_the_node_local_url_and_watches_the_container() -> None:
    assert vllm_health_instance(ENDPOINT) == {"name": "vllm-0", "url": "http://127.0.0.1:8000",
                                              "container": "vllm-0", "served_model_name": "Qwen2.5-VL-7B-Instruct"}


def test_records_join_the_plan_with_what_health_saw() -> None:
    record = vllm_instance_records([HEALTH], [ENDPOINT])[0]
    assert record["url"] == "http://10.231.0.11:8000" and record["devices"] == [0, 1]
    assert record["ready"] is True and record["time_to_ready_s"] == 12.25
    assert record["probe_usage"]["total_tokens"] == 99


IMAGE_ID = "sha256:" + "9b" * 32
DIGEST = "sha256:" + "4f" * 32


def test_records_name_the_image_the_container_runs_and_its_registry_digests() -> None:
    health = dict(HEALTH, container={"name": "vllm-0", "image": "quay.io/ascend/vllm-ascend:v0.11.0rc1",
                                     "image_id": IMAGE_ID})
    images = [{"Id": "sha256:" + "00" * 32, "RepoDigests": ["quay.io/other@sha256:" + "11" * 32]},
              {"Id": IMAGE_ID, "RepoDigests": [f"quay.io/ascend/vllm-ascend@{DIGEST}",
                                               f"10.231.0.1:5001/ascend/vllm-ascend@{DIGEST}"]}]
    record = vllm_instance_records([health], [ENDPOINT], images)[0]
    assert record["image"] == "quay.io/ascend/vllm-ascend:v0.11.0rc1" and record["image_id"] == IMAGE_ID
    # Mirrors of one build share its digest: it is listed once.
    assert record["image_digests"] == [DIGEST]
    # An image loaded from an archive has no registry digest; a container health never saw has no image.
    assert vllm_instance_records([health], [ENDPOINT], [{"Id": IMAGE_ID, "RepoDigests": []}])[0]["image_digests"] == []
    assert vllm_instance_records([], [ENDPOINT])[0]["image_id"] is None


def test_an_instance_health_never_saw_is_recorded_as_unknown() -> None:
    assert vllm_instance_records([], [ENDPOINT])[0]["state"] == "unknown"


def test_the_table_has_one_line_per_instance_with_its_answer_on_one_line() -> None:
    lines = endpoint_table([{"inventory_hostname": "atlas-01", "vllm_endpoints": [ENDPOINT],
                             "vllm_gate": {"instances": [HEALTH]}}])
    assert lines[1].split()[:6] == ["atlas-01", "vllm-0", "http://10.231.0.11:8000", "0,1", "ready", "12.2s"]
    assert lines[1].endswith("A red, green and blue card with a letter")


def test_identity_table_has_one_aligned_line_per_node_in_order() -> None:
    from ansible_collections.atlas.vllm.plugins.filter.serving_views import identity_table

    facts = {
        "atlas-02": {"distribution": "openEuler", "distribution_version": "22.03", "os_family": "RedHat",
                     "architecture": "aarch64", "machine_id": "b2"},
        "atlas-01": {"distribution": "Ubuntu", "distribution_version": "22.04", "os_family": "Debian",
                     "architecture": "aarch64", "machine_id": "a1"},
    }
    assert identity_table(facts) == [
        "node         distribution   version    family   arch     machine id",
        "atlas-01     Ubuntu         22.04      Debian   aarch64  a1",
        "atlas-02     openEuler      22.03      RedHat   aarch64  b2",
    ]
