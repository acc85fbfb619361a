"""playbooks/validate.yml refuses rollout and fleet endpoint settings on the controller, before any connection."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


CLIENTS = {"team_a": "a" * 40, "team_b": "b" * 40}


def run_validate(tmp_path: Path, nodes: int, node_vars: dict, gateways: list[str] | None,
                 gateway_vars: dict | None = None) -> str:
    # TEST-NET-1 addresses with no route: a play that tried to connect would fail as unreachable.
    inventory: dict = {"atlas_nodes": {"hosts": {f"atlas-0{i}": {"ansible_host": f"192.0.2.{i}"}
                                                 for i in range(1, nodes + 1)}, "vars": node_vars}}
    if gateways is not None:
        inventory["atlas_gateways"] = {"hosts": {name: {"ansible_host": "192.0.2.200"} for name in gateways},
                                       "vars": {"vllm_gateway_clients": CLIENTS, **(gateway_vars or {})}}
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(inventory))
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    result = subprocess.run([REPO / ".venv/bin/ansible-playbook", "playbooks/validate.yml", "-i", str(path)],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert "UNREACHABLE" not in result.stdout
    return ("ok\n" if result.returncode == 0 else f"rc={result.returncode}\n") + result.stdout + result.stderr


def test_sound_rollout_settings_pass(tmp_path: Path) -> None:
    output = run_validate(tmp_path, 4, {"atlas_rolling_batch": "50%", "atlas_drain_timeout": 60}, ["gw-1"])
    assert output.startswith("ok") and "rollout and fleet endpoint settings are valid" in output


@pytest.mark.parametrize(("batch", "shown"), [(0, "0"), (5, "5"), ("two%", "'two%'"), ("0%", "'0%'")])
def test_a_bad_batch_size_is_refused_naming_variable_value_and_rule(tmp_path: Path, batch: object,
                                                                    shown: str) -> None:
    output = run_validate(tmp_path, 4, {"atlas_rolling_batch": batch}, None)
    assert output.startswith("rc=2")
    assert f"atlas_rolling_batch is {shown}" in output.replace("''", "'")
    assert "must be a whole number of nodes from 1 to 4, or a percentage from 1% to 100%" in output


def test_an_empty_gateway_group_is_refused(tmp_path: Path) -> None:
    output = run_validate(tmp_path, 1, {}, [])
    assert output.startswith("rc=2") and "atlas_gateways is an empty group" in output


def test_a_router_port_on_an_instance_port_of_a_gateway_node_is_refused(tmp_path: Path) -> None:
    output = run_validate(tmp_path, 2, {"vllm_router_port": 8000}, ["atlas-01"])
    assert output.startswith("rc=2")
    assert "atlas-01: vllm_router_port is 8000, a port of this node's vLLM instances ([8000])" in output


def _certificate(tmp_path: Path, days: int, other_key: bool = False) -> tuple[Path, Path]:
    """A self-signed certificate valid for ``days`` (negative: expired) and a key, its own or another."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gw-1")])
    start = now - datetime.timedelta(days=400)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(start).not_valid_after(now + datetime.timedelta(days=days))
            .sign(key, hashes.SHA256()))
    served = ec.generate_private_key(ec.SECP256R1()) if other_key else key
    cert_path, key_path = tmp_path / "site.crt", tmp_path / "site.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(served.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))
    return cert_path, key_path


def test_a_sound_site_certificate_passes(tmp_path: Path) -> None:
    cert, key = _certificate(tmp_path, 90)
    output = run_validate(tmp_path, 1, {}, ["gw-1"], {"vllm_gateway_tls_cert": str(cert),
                                                      "vllm_gateway_tls_key": str(key)})
    assert output.startswith("ok") and "gw-1: 2 client key(s) are valid" in output


def test_a_certificate_that_is_not_its_keys_is_refused(tmp_path: Path) -> None:
    cert, key = _certificate(tmp_path, 90, other_key=True)
    output = run_validate(tmp_path, 1, {}, ["gw-1"], {"vllm_gateway_tls_cert": str(cert),
                                                      "vllm_gateway_tls_key": str(key)})
    assert output.startswith("rc=2")
    assert f"gw-1: vllm_gateway_tls_cert ({cert}) does not belong to vllm_gateway_tls_key ({key})" in output


def test_an_expired_certificate_is_refused(tmp_path: Path) -> None:
    cert, key = _certificate(tmp_path, -1)
    output = run_validate(tmp_path, 1, {}, ["gw-1"], {"vllm_gateway_tls_cert": str(cert),
                                                      "vllm_gateway_tls_key": str(key)})
    assert output.startswith("rc=2") and f"gw-1: vllm_gateway_tls_cert ({cert}) expired" in output


def test_a_certificate_without_its_key_is_refused(tmp_path: Path) -> None:
    cert, _ = _certificate(tmp_path, 90)
    output = run_validate(tmp_path, 1, {}, ["gw-1"], {"vllm_gateway_tls_cert": str(cert)})
    assert output.startswith("rc=2") and "set both (the site's certificate) or neither" in output


@pytest.mark.parametrize(("clients", "message"), [
    ({"team_a": "short"}, "gw-1: vllm_gateway_clients.team_a: the key has 5 characters"),
    ({"team_a": "s" * 40, "team_b": "s" * 40}, "gw-1: vllm_gateway_clients: clients team_a, team_b share one key"),
    ({"team a": "s" * 40}, "client name 'team a' is not a plain identifier"),
    ({}, "gw-1: vllm_gateway_clients is empty"),
])
def test_bad_client_keys_are_refused_without_showing_a_key(tmp_path: Path, clients: dict, message: str) -> None:
    output = run_validate(tmp_path, 1, {}, ["gw-1"], {"vllm_gateway_clients": clients})
    assert output.startswith("rc=2") and message in output
    assert all(key not in output for key in clients.values() if len(key) > 5)
