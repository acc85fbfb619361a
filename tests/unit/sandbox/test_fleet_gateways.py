"""Gateways in the fleet spec, record, /etc/hosts and generated inventory, without booting anything."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
if str(REPO / "sandbox") not in sys.path:
    sys.path.insert(0, str(REPO / "sandbox"))

from atlas_sim import cli, fleet, host, identity, mirror, paths  # noqa: E402
from atlas_sim.proc import SimError  # noqa: E402
from atlas_sim.progress import Progress  # noqa: E402
from atlas_sim.spec import FleetSpec, is_gateway  # noqa: E402

CONNECTION_VARS = ["ansible_user", "ansible_ssh_private_key_file", "ansible_ssh_common_args",
                   "ansible_python_interpreter"]


@pytest.fixture
def sim_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private ATLAS_SIM_HOME and inventory path, with the host keys `up` would have made."""
    monkeypatch.setenv("ATLAS_SIM_HOME", str(tmp_path / "home"))
    inventory = tmp_path / "atlas-sim.yml"
    monkeypatch.setattr(paths, "inventory_file", lambda: inventory)
    return tmp_path


def make_host_keys(names: list[str]) -> None:
    for name in names:
        keys = paths.run_dir() / "hostkeys" / name
        keys.mkdir(parents=True)
        (keys / "ssh_host_ed25519_key.pub").write_text(f"ssh-ed25519 AAAAkey-of-{name} root@{name}\n")


def test_gateways_default_to_none() -> None:
    spec = FleetSpec.parse(2, None)
    assert spec.gateways == 0
    assert spec.gateway_names() == []
    assert spec.to_dict()["gateways"] == 0


def test_gateways_are_named_after_the_nodes_scheme() -> None:
    spec = FleetSpec.parse(2, None, gateways=3)
    assert spec.names() == ["atlas-01", "atlas-02"]
    assert spec.gateway_names() == ["atlas-gw-01", "atlas-gw-02", "atlas-gw-03"]
    assert [is_gateway(name) for name in ("atlas-gw-01", "atlas-01")] == [True, False]


@pytest.mark.parametrize("count", [-1, 10])
def test_gateway_count_is_bounded(count: int) -> None:
    with pytest.raises(SimError, match="--gateways must be between 0 and 9"):
        FleetSpec.parse(1, None, gateways=count)


def test_a_different_gateway_count_is_a_different_fleet() -> None:
    running = FleetSpec.parse(2, None, gateways=1).to_dict()
    assert FleetSpec.parse(2, None, gateways=1).differences(running) == []
    assert FleetSpec.parse(2, None, gateways=2).differences(running) == ["gateways: running 1, asked 2"]


def test_a_record_from_before_gateways_ran_none() -> None:
    old = FleetSpec.parse(2, None).to_dict()
    del old["gateways"]
    assert FleetSpec.parse(2, None).differences(old) == []
    assert FleetSpec.parse(2, None, gateways=1).differences(old) == ["gateways: running 0, asked 1"]


def test_nodes_cannot_take_the_gateway_os() -> None:
    with pytest.raises(SimError, match="--os: unknown value"):
        FleetSpec.parse(1, "debian12")


def test_plan_lists_gateways_apart_from_the_nodes() -> None:
    record = fleet.plan(FleetSpec.parse(2, "ubuntu22.04,openeuler22.03", gateways=2))
    assert record["hosts"] == [
        {"name": "atlas-01", "ip": "10.231.0.11", "os": "ubuntu22.04", "profile": "910b3-64g"},
        {"name": "atlas-02", "ip": "10.231.0.12", "os": "openeuler22.03", "profile": "910b3-64g"},
    ]
    assert record["gateways"] == [
        {"name": "atlas-gw-01", "ip": "10.231.0.201", "os": "debian12"},
        {"name": "atlas-gw-02", "ip": "10.231.0.202", "os": "debian12"},
    ]
    assert [entry["name"] for entry in fleet.all_hosts(record)] == ["atlas-01", "atlas-02",
                                                                    "atlas-gw-01", "atlas-gw-02"]
    # fleet.json of a run from before gateways existed.
    assert fleet.all_hosts({"hosts": record["hosts"]}) == record["hosts"]


def test_every_host_file_lists_nodes_and_gateways() -> None:
    record = fleet.plan(FleetSpec.parse(2, None, gateways=1))
    lines = fleet._hosts_file(fleet.all_hosts(record)).splitlines()
    assert lines[-3:] == ["10.231.0.11\tatlas-01", "10.231.0.12\tatlas-02", "10.231.0.201\tatlas-gw-01"]


def test_inventory_without_gateways_is_the_nodes_group_only(sim_home: Path) -> None:
    groups = fleet.inventory_groups(fleet.plan(FleetSpec.parse(2, None)))
    assert list(groups) == ["atlas_nodes"]
    assert groups["atlas_nodes"]["hosts"] == {"atlas-01": {"ansible_host": "10.231.0.11"},
                                              "atlas-02": {"ansible_host": "10.231.0.12"}}
    assert list(groups["atlas_nodes"]["vars"]) == CONNECTION_VARS


def test_inventory_with_gateways_has_both_groups_with_the_same_connection(sim_home: Path) -> None:
    groups = fleet.inventory_groups(fleet.plan(FleetSpec.parse(1, None, gateways=2)))
    assert list(groups) == ["atlas_nodes", "atlas_gateways"]
    assert groups["atlas_nodes"]["hosts"] == {"atlas-01": {"ansible_host": "10.231.0.11"}}
    assert groups["atlas_gateways"]["hosts"] == {"atlas-gw-01": {"ansible_host": "10.231.0.201"},
                                                 "atlas-gw-02": {"ansible_host": "10.231.0.202"}}
    assert groups["atlas_gateways"]["vars"] == {**groups["atlas_nodes"]["vars"], "atlas_sim_home": str(sim_home / "home")}
    assert groups["atlas_nodes"]["vars"]["ansible_ssh_private_key_file"] == str(sim_home / "home/run/id_ed25519")


def test_written_inventory_and_known_hosts_cover_the_gateways(sim_home: Path) -> None:
    record = fleet.plan(FleetSpec.parse(1, None, gateways=1))
    make_host_keys(["atlas-01", "atlas-gw-01"])
    target = fleet.write_inventory(record)
    text = target.read_text()
    assert "&id" not in text and "*id" not in text  # no YAML aliases between the groups' vars
    loaded = yaml.safe_load(text)
    assert loaded == fleet.inventory_groups(record)
    known = (paths.run_dir() / "known_hosts").read_text().splitlines()
    assert known == ["10.231.0.11 ssh-ed25519 AAAAkey-of-atlas-01",
                     "10.231.0.201 ssh-ed25519 AAAAkey-of-atlas-gw-01"]


def test_ansible_reads_both_groups(sim_home: Path) -> None:
    inventory_cli = REPO / ".venv/bin/ansible-inventory"
    if not inventory_cli.exists():
        pytest.skip("needs .venv (make setup)")
    record = fleet.plan(FleetSpec.parse(2, None, gateways=1))
    make_host_keys([entry["name"] for entry in fleet.all_hosts(record)])
    target = fleet.write_inventory(record)
    env = {**os.environ, "ANSIBLE_HOME": str(sim_home / "ansible"), "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false"}
    listed = json.loads(subprocess.run([str(inventory_cli), "-i", str(target), "--list"], check=True,
                                       capture_output=True, text=True, env=env).stdout)
    assert listed["atlas_nodes"]["hosts"] == ["atlas-01", "atlas-02"]
    assert listed["atlas_gateways"]["hosts"] == ["atlas-gw-01"]
    gateway = listed["_meta"]["hostvars"]["atlas-gw-01"]
    assert gateway["ansible_host"] == "10.231.0.201"
    assert gateway["ansible_user"] == "root"
    assert "ProxyCommand" in gateway["ansible_ssh_common_args"]


def test_status_lists_gateways_after_the_nodes(sim_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    record = fleet.plan(FleetSpec.parse(1, None, gateways=1))
    paths.run_dir().mkdir(parents=True)
    paths.fleet_file().write_text(json.dumps(record))
    monkeypatch.setattr(host, "init_pid", lambda name: 4242)
    listed = fleet.status()
    assert [(entry["name"], entry["role"], entry["running"]) for entry in listed] == [
        ("atlas-01", "node", True), ("atlas-gw-01", "gateway", True)]


def test_faults_refuse_gateways() -> None:
    args = cli._parser().parse_args(["fault", "atlas-gw-01", "link-down", "--device", "0"])
    with pytest.raises(SimError, match="atlas-gw-01 is a gateway"):
        cli._dispatch(args, Progress(quiet=True))


def test_up_takes_a_gateway_count() -> None:
    assert cli._parser().parse_args(["up"]).gateways == 0
    assert cli._parser().parse_args(["up", "--nodes", "4", "--gateways", "1"]).gateways == 1


def test_the_gateway_identity_is_plain_debian_without_dnf_or_docker() -> None:
    debian = identity.IDENTITIES[identity.GATEWAY_OS]
    assert 'ID=debian' in debian.files["/etc/os-release"] and 'VERSION_ID="12"' in debian.files["/etc/os-release"]
    assert debian.files["/etc/apt/sources.list.d/atlas-mirror.list"] == mirror.APT_SOURCE
    assert {"/usr/bin/dnf", "/usr/bin/yum"} <= set(debian.hidden)
    assert {"docker.service", "docker.socket"} <= set(debian.masked_units)
    assert debian.package_lists_refresh
    assert identity.GATEWAY_OS not in identity.NODE_OS


def test_mask_links_the_unit_to_dev_null(tmp_path: Path) -> None:
    host.mask(tmp_path, "docker.service")
    assert os.readlink(tmp_path / "etc/systemd/system/docker.service") == "/dev/null"


def test_the_mirror_carries_python3_venv_pinned_to_the_rootfs_python() -> None:
    assert {"python3-venv", "python3.11-venv", "python3-pip-whl", "python3-setuptools-whl"} <= set(mirror.DEBS)
    assert mirror.PINNED_TO_ROOTFS["python3.11-venv"] == "python3.11"
    # A rootfs with another python3.11 needs another mirror.
    assert mirror.recipe_hash({"python3.11-venv": "3.11.2-6+deb12u6"}) != \
        mirror.recipe_hash({"python3.11-venv": "3.11.2-6+deb12u9"})


def test_client_keys_are_random_private_and_kept(sim_home: Path) -> None:
    paths.run_dir().mkdir(parents=True, exist_ok=True)
    fleet._make_client_keys()
    target = paths.gateway_clients_file()
    keys = json.loads(target.read_text())
    assert sorted(keys) == sorted(fleet.GATEWAY_CLIENTS)
    assert all(len(key) == 64 and int(key, 16) >= 0 for key in keys.values())
    assert len(set(keys.values())) == len(keys)
    assert target.stat().st_mode & 0o777 == 0o600
    fleet._make_client_keys()
    assert json.loads(target.read_text()) == keys
