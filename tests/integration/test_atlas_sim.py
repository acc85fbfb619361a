"""atlas-sim on a 3-node fleet (identities, SSH, isolation, OS families, local mirrors, teardown) and with a gateway."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from .conftest import REPO, in_lab, in_node, machine_network_state, sim

INVENTORY = str(REPO / "inventories/sandbox/atlas-sim.yml")
KEY = str(REPO / "build/sandbox/run/id_ed25519")
KNOWN_HOSTS = str(REPO / "build/sandbox/run/known_hosts")
NODES = ["atlas-01", "atlas-02", "atlas-03"]
OS_ARG = "ubuntu22.04,ubuntu22.04,openeuler22.03"


@pytest.fixture(scope="module")
def fleet() -> dict:
    sim("down")
    before = machine_network_state()
    sim("up", "--nodes", "3", "--os", OS_ARG, "--no-image", "--no-weights")
    yield {"before": before}
    sim("down")


def ansible(*args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    return in_lab("ansible", "-i", INVENTORY, *args, check=check, env=env)


def test_nodes_have_distinct_hostnames_and_machine_ids(fleet: dict) -> None:
    seen = {}
    for node in NODES:
        hostname = in_node(node, "hostname").stdout.strip()
        machine_id = in_node(node, "cat", "/etc/machine-id").stdout.strip()
        seen[node] = (hostname, machine_id)
    assert [hostname for hostname, _ in seen.values()] == NODES
    assert len({machine_id for _, machine_id in seen.values()}) == 3
    assert all(len(machine_id) == 32 for _, machine_id in seen.values())


def test_systemd_is_pid1_and_dockerd_uses_overlay2(fleet: dict) -> None:
    for node in NODES:
        assert in_node(node, "cat", "/proc/1/comm").stdout.strip() == "systemd"
        assert in_node(node, "systemctl", "is-system-running").stdout.strip() == "running"
        assert in_node(node, "docker", "info", "--format", "{{.Driver}}").stdout.strip() == "overlay2"


def test_ssh_accepts_the_key_and_refuses_passwords(fleet: dict) -> None:
    common = ["-o", f"UserKnownHostsFile={KNOWN_HOSTS}", "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes"]
    by_key = in_lab("ssh", *common, "-i", KEY, "root@10.231.0.12", "hostname")
    assert by_key.stdout.strip() == "atlas-02"
    by_password = in_lab("ssh", *common, "-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password",
                         "root@10.231.0.12", "true", check=False)
    assert by_password.returncode == 255
    assert "Permission denied (publickey)" in by_password.stderr


def test_no_route_out_of_the_lab_and_no_external_names(fleet: dict) -> None:
    lab = in_lab("ip", "route", "get", "1.1.1.1", check=False)
    assert lab.returncode != 0 and "unreachable" in lab.stderr.lower()
    started = time.monotonic()
    lookup = in_node("atlas-01", "getent", "hosts", "example.com", check=False)
    assert lookup.returncode != 0 and time.monotonic() - started < 5
    assert in_node("atlas-01", "getent", "hosts", "atlas-03").stdout.split()[0] == "10.231.0.13"
    # While up, the machine itself blackholes both sandbox ranges.
    for address in ("10.231.0.11", "10.232.1.1"):
        root_ns = subprocess.run(["ip", "route", "get", address], capture_output=True, text=True)
        assert root_ns.returncode != 0, root_ns.stdout


def test_ansible_sees_each_os_identity(fleet: dict, tmp_path: Path) -> None:
    ansible("all", "-m", "ansible.builtin.setup", "-a", "filter=ansible_*", "--tree", str(tmp_path))
    facts = {node: json.loads((tmp_path / node).read_text())["ansible_facts"] for node in NODES}
    assert [facts[n]["ansible_hostname"] for n in NODES] == NODES
    assert [facts[n]["ansible_os_family"] for n in NODES] == ["Debian", "Debian", "RedHat"]
    assert [facts[n]["ansible_pkg_mgr"] for n in NODES] == ["apt", "apt", "dnf"]
    assert facts["atlas-01"]["ansible_distribution"] == "Ubuntu"
    assert facts["atlas-01"]["ansible_distribution_version"] == "22.04"
    assert facts["atlas-03"]["ansible_distribution"] == "openEuler"
    assert facts["atlas-03"]["ansible_distribution_version"] == "22.03"


def test_apt_and_dnf_install_jemalloc_from_the_local_mirrors(fleet: dict) -> None:
    ansible("atlas-01", "-m", "ansible.builtin.apt", "-a", "name=libjemalloc2 update_cache=true")
    ansible("atlas-03", "-m", "ansible.builtin.dnf", "-a", "name=jemalloc")
    assert in_node("atlas-01", "dpkg-query", "-W", "-f=${Status}", "libjemalloc2").stdout == "install ok installed"
    assert "jemalloc-5.3.0" in in_node("atlas-03", "rpm", "-q", "jemalloc").stdout
    in_node("atlas-03", "test", "-f", "/usr/lib64/libjemalloc.so.2")
    again = ansible("atlas-03", "-m", "ansible.builtin.dnf", "-a", "name=jemalloc")
    assert '"changed": false' in again.stdout or "changed: false" in again.stdout


def test_paramiko_connection_works_and_warns_of_its_deprecation(fleet: dict, tmp_path: Path) -> None:
    # paramiko ignores UserKnownHostsFile: it checks host keys against ~/.ssh/known_hosts only.
    (tmp_path / ".ssh").mkdir(mode=0o700)
    (tmp_path / ".ssh/known_hosts").write_text(Path(KNOWN_HOSTS).read_text())
    result = ansible("all", "-c", "paramiko", "-m", "ansible.builtin.ping", env={"HOME": str(tmp_path)})
    assert result.stdout.count("SUCCESS") == 3
    assert "paramiko" in result.stderr.lower() and "deprecat" in result.stderr.lower()


def test_up_with_the_same_arguments_does_nothing(fleet: dict) -> None:
    pids = {node: in_node(node, "cat", "/proc/1/stat").stdout for node in NODES}
    again = sim("up", "--nodes", "3", "--os", OS_ARG, "--no-image", "--no-weights")
    assert "nothing to do" in again.stderr
    assert {node: in_node(node, "cat", "/proc/1/stat").stdout for node in NODES} == pids


def test_up_with_other_arguments_names_the_difference(fleet: dict) -> None:
    result = sim("up", "--nodes", "3", "--os", "openeuler22.03", "--no-image", "--no-weights", check=False)
    assert result.returncode == 1
    assert "os: running ['ubuntu22.04', 'ubuntu22.04', 'openeuler22.03']" in result.stderr


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--os", "ubuntu22.04,openeuler22.03", "--os has 2 values for 3 nodes"),
    ("--os", "centos7", "--os: unknown value(s) centos7"),
    ("--profile", "910b3-64g,a3", "--profile has 2 values for 3 nodes"),
])
def test_list_options_take_one_value_or_one_per_node(fleet: dict, option: str, value: str, message: str) -> None:
    result = sim("up", "--nodes", "3", option, value, check=False)
    assert result.returncode == 1
    assert message in result.stderr


def test_down_leaves_nothing_behind(fleet: dict) -> None:
    sim("down")
    assert subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.strip() == ""
    assert machine_network_state() == fleet["before"]
    assert not Path("/sys/fs/cgroup/unified/atlas-sim").exists()
    assert "build/sandbox" not in Path("/proc/self/mountinfo").read_text()
    leftovers = subprocess.run(["pgrep", "-f", "node_boot.sh"], capture_output=True, text=True).stdout
    assert leftovers == ""
    assert not (REPO / "build/sandbox/run").exists()
    assert not Path(INVENTORY).exists()
    again = sim("down")
    assert "nothing is up" in again.stderr


# A gateway (the vLLM router's host): plain Debian 12 on the management network, one boot for every check.
GATEWAY = "atlas-gw-01"
GATEWAY_FLEET = ["up", "--nodes", "1", "--gateways", "1", "--no-image", "--no-weights"]


@pytest.fixture(scope="module")
def gateway_fleet() -> dict:
    sim("down")
    before = machine_network_state()
    sim(*GATEWAY_FLEET)
    yield {"before": before}
    sim("down")


def test_gateway_inventory_has_both_groups_and_status_lists_it(gateway_fleet: dict) -> None:
    inventory = yaml.safe_load(Path(INVENTORY).read_text())
    assert list(inventory) == ["atlas_nodes", "atlas_gateways"]
    assert inventory["atlas_nodes"]["hosts"] == {"atlas-01": {"ansible_host": "10.231.0.11"}}
    assert inventory["atlas_gateways"]["hosts"] == {GATEWAY: {"ansible_host": "10.231.0.201"}}
    assert inventory["atlas_gateways"]["vars"] == {**inventory["atlas_nodes"]["vars"],
                                                   "atlas_sim_home": str(REPO / "build/sandbox")}
    status = sim("status").stdout.splitlines()
    assert [line.split() for line in status] == [
        ["atlas-01", "10.231.0.11", "ubuntu22.04", "910b3-64g", "running"],
        [GATEWAY, "10.231.0.201", "debian12", "gateway", "running"],
    ]


def test_ansible_reaches_the_gateway_as_debian_12(gateway_fleet: dict, tmp_path: Path) -> None:
    ping = ansible("all", "-m", "ansible.builtin.ping")
    assert ping.stdout.count("SUCCESS") == 2
    ansible("atlas_gateways", "-m", "ansible.builtin.setup", "-a", "filter=ansible_*", "--tree", str(tmp_path))
    facts = json.loads((tmp_path / GATEWAY).read_text())["ansible_facts"]
    assert facts["ansible_hostname"] == GATEWAY
    assert facts["ansible_default_ipv4"]["macaddress"] == "02:00:0a:e7:00:c9"
    assert (facts["ansible_distribution"], facts["ansible_distribution_major_version"]) == ("Debian", "12")
    assert facts["ansible_pkg_mgr"] == "apt"
    # Both ends resolve each other from /etc/hosts.
    assert in_node(GATEWAY, "getent", "hosts", "atlas-01").stdout.split()[0] == "10.231.0.11"
    assert in_node("atlas-01", "getent", "hosts", GATEWAY).stdout.split()[0] == "10.231.0.201"


def test_gateway_has_no_npu_driver_weights_or_dockerd(gateway_fleet: dict) -> None:
    assert in_node(GATEWAY, "systemctl", "is-system-running").stdout.strip() == "running"
    assert in_node(GATEWAY, "sh", "-c", "ls /dev/davinci*", check=False).returncode != 0
    assert in_node(GATEWAY, "sh", "-c", "command -v npu-smi hccn_tool", check=False).stdout == ""
    for path in ("/usr/local/Ascend", "/etc/ascend_install.info", "/root/.cache/modelscope", "/usr/bin/dnf"):
        assert in_node(GATEWAY, "test", "-e", path, check=False).returncode == 1, path
    assert in_node(GATEWAY, "pgrep", "-x", "dockerd|containerd", check=False).returncode == 1
    assert in_node(GATEWAY, "systemctl", "is-enabled", "docker.service", check=False).stdout.strip() == "masked"
    links = in_node(GATEWAY, "ip", "-o", "link").stdout
    assert sorted(line.split(":")[1].strip().split("@")[0] for line in links.splitlines()) == ["eth0", "lo"]
    refused = sim("fault", GATEWAY, "link-down", "--device", "0", check=False)
    assert refused.returncode == 1 and f"{GATEWAY} is a gateway" in refused.stderr


def test_python3_venv_installs_from_the_lab_mirror(gateway_fleet: dict) -> None:
    # As the automation does it: from the site's repositories (here the lab mirror only), not the rootfs.
    for name in (GATEWAY, "atlas-01"):
        assert in_node(name, "python3", "-m", "venv", "/tmp/before", check=False).returncode != 0, name
    in_node(GATEWAY, "apt-get", "install", "-y", "python3-venv")
    ansible("atlas_nodes", "-m", "ansible.builtin.apt", "-a", "name=python3-venv")
    for name in (GATEWAY, "atlas-01"):
        in_node(name, "python3", "-m", "venv", "/tmp/v")
        assert in_node(name, "/tmp/v/bin/pip", "--version").stdout.startswith("pip "), name


def test_nginx_installs_from_the_lab_mirror_and_runs(gateway_fleet: dict) -> None:
    assert in_node(GATEWAY, "test", "-x", "/usr/sbin/nginx", check=False).returncode != 0
    in_node(GATEWAY, "apt-get", "install", "-y", "nginx")
    in_node(GATEWAY, "nginx", "-t", "-q")
    assert in_node(GATEWAY, "systemctl", "is-active", "nginx").stdout.strip() == "active"


def test_up_with_another_gateway_count_names_the_difference(gateway_fleet: dict) -> None:
    result = sim("up", "--nodes", "1", "--gateways", "2", "--no-image", "--no-weights", check=False)
    assert result.returncode == 1
    assert "gateways: running 1, asked 2" in result.stderr
    assert "nothing to do" in sim(*GATEWAY_FLEET).stderr


def test_down_leaves_nothing_of_the_gateway_fleet(gateway_fleet: dict) -> None:
    sim("down")
    assert subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.strip() == ""
    assert machine_network_state() == gateway_fleet["before"]
    assert not Path("/sys/fs/cgroup/unified/atlas-sim").exists()
    assert "build/sandbox" not in Path("/proc/self/mountinfo").read_text()
    assert subprocess.run(["pgrep", "-f", "node_boot.sh"], capture_output=True, text=True).stdout == ""
    assert not (REPO / "build/sandbox/run").exists()
    assert not Path(INVENTORY).exists()
