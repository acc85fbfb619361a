from datetime import UTC, datetime

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.atlas.vllm.plugins.filter.gateway import (
    gateway_client_errors,
    gateway_subject_alt_names,
    tls_expiry,
)

KEY_A = "a" * 40
KEY_B = "b1" * 20


def test_good_clients_pass():
    assert gateway_client_errors({"team_a": KEY_A, "team-b": KEY_B}, 32, "gw") == []


def test_empty_clients_are_refused_with_an_example():
    (error,) = gateway_client_errors({}, 32, "gw")
    assert error.startswith("gw: vllm_gateway_clients is empty")


def test_short_key_names_the_client_and_the_minimum_never_the_key():
    (error,) = gateway_client_errors({"team_a": "short-key"}, 32, "gw")
    assert "vllm_gateway_clients.team_a" in error and "9 characters" in error and "(32)" in error
    assert "short-key" not in error


def test_shared_key_names_both_clients_not_the_key():
    (error,) = gateway_client_errors({"one": KEY_A, "two": KEY_A}, 32, "gw")
    assert "one, two share one key" in error
    assert KEY_A not in error


@pytest.mark.parametrize("name", ["team a", "9lives", "a;b", "", "x" * 65])
def test_client_names_must_be_plain_identifiers(name):
    (error,) = gateway_client_errors({name: KEY_A}, 32, "gw")
    assert "not a plain identifier" in error


@pytest.mark.parametrize("key", ['"' + "k" * 40, "k" * 40 + " x", "k" * 20 + "$x" + "k" * 20, "=" + "k" * 40])
def test_keys_must_be_bearer_tokens(key):
    (error,) = gateway_client_errors({"team": key}, 32, "gw")
    assert "bearer token" in error and key not in error


def test_a_mapping_is_required():
    assert "must be a mapping" in gateway_client_errors(["team"], 32, "gw")[0]


def test_subject_alt_names_tell_addresses_from_names():
    assert gateway_subject_alt_names(["atlas-gw-01", "10.231.0.201", "atlas-gw-01", "", "fd00::1", "gw.example"]) == [
        "DNS:atlas-gw-01", "IP:10.231.0.201", "IP:fd00::1", "DNS:gw.example"]


NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("not_after", "verdict", "days"), [
    ("20271203120000Z", "OK", 365),
    ("20261231120000Z", "WARNING", 28),
    ("20261203115959Z", "CRITICAL", -1),
])
def test_expiry_verdicts(not_after, verdict, days):
    result = tls_expiry(not_after, 30, NOW)
    assert result["verdict"] == verdict and result["days_left"] == days


def test_expiry_refuses_what_is_not_an_asn1_time():
    with pytest.raises(AnsibleFilterError):
        tls_expiry("2027-01-01", 30, NOW)


def test_a_minimum_length_given_as_a_string_is_read_as_the_number_and_one_that_is_not_is_named():
    # -e vllm_gateway_key_min_length=48 gives "48".
    (error,) = gateway_client_errors({"team_a": KEY_A}, "48", "gw")
    assert "40 characters" in error and "(48)" in error
    (error,) = gateway_client_errors({"team_a": KEY_A}, "lots", "gw")
    assert error.startswith("gw: vllm_gateway_key_min_length is 'lots'; it must be a whole number")


def test_expiry_warning_days_given_as_a_string_are_read_as_the_number():
    assert tls_expiry("20261231120000Z", "30", NOW)["verdict"] == "WARNING"
    with pytest.raises(AnsibleFilterError, match="warn_days is '30d', not a whole number"):
        tls_expiry("20261231120000Z", "30d", NOW)
