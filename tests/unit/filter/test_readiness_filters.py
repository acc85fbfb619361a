"""The readiness filter files: each registers its role's filters and turns bad input into a task error."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.atlas.vllm.plugins.filter import hccl_network, npu_driver, preflight


def test_each_role_file_registers_its_filters():
    assert set(npu_driver.FilterModule().filters()) == {"npu_driver_assess", "npu_device_labels"}
    assert set(hccl_network.FilterModule().filters()) == {
        "hccl_network_assess", "hccl_network_ping_targets", "hccl_network_ping_matrix"}
    assert set(preflight.FilterModule().filters()) == {
        "atlas_verdict", "atlas_verdict_summary", "atlas_failed_nodes", "atlas_verdict_table", "readiness_check_line"}


@pytest.mark.parametrize(("filters", "name", "args", "message"), [
    (npu_driver, "npu_driver_assess", ("text", {}), "must be a dict"),
    (hccl_network, "hccl_network_ping_targets", ([{"host": "a", "devices": []}, {"host": "b", "devices": []}], "a",
                                                 "mesh"), "hccl_network_ping_mode must be one of ring, all"),
    (preflight, "atlas_verdict", ("PASS",), "list of check lists"),
])
def test_bad_input_is_a_filter_error_naming_it(filters, name, args, message):
    with pytest.raises(AnsibleFilterError, match=message):
        filters.FilterModule().filters()[name](*args)
