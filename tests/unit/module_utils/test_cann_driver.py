"""The CANN/driver table and verdict (plugins/module_utils/cann_driver.py) and its two filters."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.atlas.vllm.plugins.filter.ascend_version import cann_driver_verdict, image_oldest_driver
from ansible_collections.atlas.vllm.plugins.module_utils import cann_driver
from ansible_collections.atlas.vllm.plugins.module_utils.ascend_version import compare_versions

# The toolkit record as vllm-ascend #1696 shows it (8.1.RC1) and with the values #4148 shows for v0.11.0rc1.
TOOLKIT_81 = "package_name=Ascend-cann-toolkit\nversion=8.1.RC1\ninnerversion=V100R001C21SPC001B\n"
TOOLKIT_83 = "package_name=Ascend-cann-toolkit\nversion=8.3.RC1\ninnerversion=V100R001C23SPC001B235\n"


def version_info(version: str) -> str:
    return f"Version={version}\nascendhal_version=7.35.23\naicpu_version=1.0\n"


def test_toolkit_and_driver_records_are_read():
    assert cann_driver.toolkit_version(TOOLKIT_81) == "8.1.RC1"
    assert cann_driver.toolkit_version(TOOLKIT_83) == "8.3.RC1"
    assert cann_driver.toolkit_version("cat: /usr/local/Ascend/...: No such file or directory\n") is None
    assert cann_driver.driver_version(version_info("25.0.rc1.1")) == "25.0.rc1.1"
    # version.info also carries package_version=; only Version= is the driver's release.
    assert cann_driver.driver_version("package_version=25.2.0\n") is None
    assert cann_driver.driver_version(None) is None


def test_every_record_orders_its_drivers():
    for cann, drivers in cann_driver.CANN_DRIVERS.items():
        assert compare_versions(drivers.oldest, drivers.verified) <= 0, cann
        assert compare_versions(drivers.verified, drivers.paired) <= 0, cann
        assert drivers.sources
    for tag, cann in cann_driver.IMAGE_CANN.items():
        assert cann in cann_driver.CANN_DRIVERS, tag


@pytest.mark.parametrize(
    ("driver", "status"),
    [
        ("23.0.5", "CRITICAL"),
        ("24.1.0.3", "CRITICAL"),
        ("24.1.rc2", "CRITICAL"),
        ("25.0.rc1", "WARNING"),
        ("25.0.rc1.1", "WARNING"),
        ("25.2.0", "PASS"),
        ("25.3.rc1.b061", "PASS"),
        ("25.5.0", "PASS"),
    ],
)
def test_v0110rc1_cann_against_drivers(driver: str, status: str):
    result = cann_driver_verdict(TOOLKIT_83, version_info(driver))
    assert (result["status"], result["cann"], result["driver"]) == (status, "8.3.RC1", driver)


def test_a_refusal_names_the_compatible_drivers_and_the_upgrade():
    result = cann_driver_verdict(TOOLKIT_83, version_info("24.1.0.3"))
    assert result["detail"] == (
        "driver 24.1.0.3 is older than CANN 8.3.RC1 runs on; compatible drivers: 25.0.RC1 or newer "
        "(seen running: 25.2.0; published with: 25.3.RC1)")
    assert result["action"].startswith("upgrade the Ascend HDK driver and firmware to 25.3.RC1 (at least 25.0.RC1)")


def test_missing_records_are_critical_and_unknown_cann_warns():
    assert cann_driver_verdict("", version_info("25.2.0"))["status"] == "CRITICAL"
    assert "ascend_toolkit_install.info" in cann_driver_verdict("", version_info("25.2.0"))["detail"]
    assert cann_driver_verdict(TOOLKIT_83, "")["status"] == "CRITICAL"
    unknown = cann_driver_verdict(TOOLKIT_81, version_info("25.2.0"))
    assert unknown["status"] == "WARNING"
    assert unknown["detail"] == "CANN 8.1.RC1 has no driver record (recorded: 8.3.RC1); driver 25.2.0 not checked"


def test_site_records_add_and_replace_releases():
    records = {"8.1.RC1": {"oldest": "24.1.rc2"}, "8.3.rc1": {"oldest": "25.2.0", "verified": "25.3.rc1"}}
    assert cann_driver_verdict(TOOLKIT_81, version_info("24.1.0.3"), records)["status"] == "PASS"
    assert cann_driver_verdict(TOOLKIT_81, version_info("23.0.5"), records)["status"] == "CRITICAL"
    # The site's 8.3.RC1 record replaces the built-in one whatever its letter case.
    assert cann_driver_verdict(TOOLKIT_83, version_info("25.0.rc1.1"), records)["status"] == "CRITICAL"
    assert cann_driver_verdict(TOOLKIT_83, version_info("25.2.0"), records)["status"] == "WARNING"
    with pytest.raises(AnsibleFilterError, match="the record for CANN 8.5.0 needs an 'oldest' driver"):
        cann_driver_verdict(TOOLKIT_83, version_info("25.2.0"), {"8.5.0": {"verified": "25.5.0"}})
    with pytest.raises(AnsibleFilterError, match="records must be a mapping"):
        cann_driver_verdict(TOOLKIT_83, version_info("25.2.0"), ["8.5.0"])


def test_image_oldest_driver():
    assert image_oldest_driver("v0.11.0rc1") == "25.0.RC1"
    with pytest.raises(AnsibleFilterError, match="no CANN record for image tag 'v0.12.0'.*set npu_driver_min_version"):
        image_oldest_driver("v0.12.0")
