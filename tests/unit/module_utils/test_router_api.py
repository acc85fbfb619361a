"""vLLM router worker API answers, membership changes and the worker-list EnvironmentFile."""

from __future__ import annotations

import pytest
from ansible_collections.atlas.vllm.plugins.module_utils.router_api import (
    membership_changes,
    normalize_url,
    parse_worker_list,
    parse_workers_env,
    predicted_members,
    workers_env,
    workers_env_matches,
)

# As vllm-router 0.1.17 answers GET /list_workers.
LIST_WORKERS = '{"urls":["http://127.0.0.1:18002","http://127.0.0.1:18001"]}'


# --- parse_worker_list --------------------------------------------------------------------------------------


def test_worker_list_as_the_router_prints_it():
    assert parse_worker_list(LIST_WORKERS) == ["http://127.0.0.1:18002", "http://127.0.0.1:18001"]
    assert parse_worker_list(LIST_WORKERS.encode()) == ["http://127.0.0.1:18002", "http://127.0.0.1:18001"]
    assert parse_worker_list('{"urls":[]}') == []


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("", "not JSON"),
        ("Successfully added worker: http://a:1", "not JSON"),
        ('["http://a:1"]', "no 'urls' key"),
        ('{"workers":[]}', "no 'urls' key"),
        ('{"urls":"http://a:1"}', "not a list but str"),
        ('{"urls":["http://a:1", 5]}', "holds a int"),
    ],
)
def test_bad_worker_lists_say_what_is_wrong(body, words):
    with pytest.raises(ValueError, match=words):
        parse_worker_list(body)


# --- normalize_url ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8000"),
        ("HTTP://Atlas-01.LAB:8000//", "http://atlas-01.lab:8000"),
        (" https://[::1]:8443/ ", "https://[::1]:8443"),
        ("http://Node:8000/Prefix/", "http://node:8000/Prefix"),
    ],
)
def test_normalize(url, expected):
    assert normalize_url(url) == expected


@pytest.mark.parametrize(("url", "words"), [("127.0.0.1:8000", "http://"), ("ftp://a:1", "http://"),
                                            ("http://", "no host"), ("http://a:99999", "invalid port"),
                                            (None, "not a string")])
def test_normalize_rejects(url, words):
    with pytest.raises(ValueError, match=words):
        normalize_url(url)


# --- membership_changes -------------------------------------------------------------------------------------

A, B, C = "http://10.0.0.11:8000", "http://10.0.0.12:8000", "http://10.0.0.13:8000"


def test_present_missing_are_added_and_members_are_left_alone():
    assert membership_changes([A], [A, B], [], False) == ([B], [])


def test_absent_members_are_removed_and_absent_non_members_ignored():
    assert membership_changes([A, B], [], [B, C], False) == ([], [B])


def test_exclusive_removes_everything_not_present():
    assert membership_changes([A, B, C], [A], [], True) == ([], [B, C])
    assert membership_changes([A, B], [], [], True) == ([], [A, B])


def test_not_exclusive_keeps_other_members():
    assert membership_changes([A, B, C], [A], [], False) == ([], [])


def test_comparison_is_normalized_and_removal_uses_the_routers_spelling():
    current = ["HTTP://10.0.0.11:8000/"]
    assert membership_changes(current, ["http://10.0.0.11:8000"], [], False) == ([], [])
    assert membership_changes(current, [], ["http://10.0.0.11:8000"], False) == ([], ["HTTP://10.0.0.11:8000/"])
    assert membership_changes([], ["http://10.0.0.11:8000/", "HTTP://10.0.0.11:8000"], [], False) == ([A], [])


def test_results_are_sorted():
    assert membership_changes([], [C, A, B], [], False) == ([A, B, C], [])


def test_same_url_present_and_absent_is_an_error():
    with pytest.raises(ValueError, match="both present and absent: http://10.0.0.11:8000"):
        membership_changes([], [A + "/"], [A], False)


def test_predicted_members():
    assert predicted_members([A, B], [C], [B]) == [A, C]


# --- the EnvironmentFile ------------------------------------------------------------------------------------


def test_workers_env_is_sorted_quoted_and_commented():
    text = workers_env([B, A + "/", A])
    lines = text.splitlines()
    assert lines[0].startswith("# ") and "managed" in lines[0].lower() and "router starts" in lines[0]
    assert lines[1] == f'ATLAS_ROUTER_WORKERS="{A} {B}"'
    assert text.endswith("\n") and len(lines) == 2


def test_workers_env_empty_and_other_variable():
    assert workers_env([]).splitlines()[1] == 'ATLAS_ROUTER_WORKERS=""'
    assert workers_env([A], variable="WORKERS").splitlines()[1] == f'WORKERS="{A}"'


@pytest.mark.parametrize("url", ['http://a:1/"x', "http://a:1/x y", "http://a:1/$x", "http://a:1/\\"])
def test_workers_env_rejects_urls_that_break_the_quoting(url):
    with pytest.raises(ValueError, match="contains"):
        workers_env([url])


def test_workers_env_rejects_bad_variable():
    with pytest.raises(ValueError, match="not valid"):
        workers_env([A], variable="1BAD")


def test_parse_workers_env_inverts_workers_env():
    assert parse_workers_env(workers_env([C, A, B])) == [A, B, C]
    assert parse_workers_env(workers_env([])) == []


def test_parse_workers_env_tolerates_hand_edits():
    text = f"# comment\nOTHER=1\n\nATLAS_ROUTER_WORKERS='{A}'\n ATLAS_ROUTER_WORKERS = {A} {B}\n"
    assert parse_workers_env(text) == [A, B]
    assert parse_workers_env("") == []
    assert parse_workers_env("OTHER=1\n") == []
    assert parse_workers_env(f'W="{C}"\n', variable="W") == [C]


def test_workers_env_matches_compares_the_workers_only():
    assert workers_env_matches(workers_env([A, B]), [B, A + "/"])
    assert workers_env_matches(f"# another comment\nATLAS_ROUTER_WORKERS='{B} {A}'\n", [A, B])
    assert workers_env_matches('# written at install\nATLAS_ROUTER_WORKERS=""\n', [])
    assert not workers_env_matches(workers_env([A]), [A, B])
    assert not workers_env_matches(None, [])
    assert not workers_env_matches("stale\n", [])  # no assignment: the unit would not see the variable
    assert not workers_env_matches("# ATLAS_ROUTER_WORKERS=\n", [])
    assert not workers_env_matches('ATLAS_ROUTER_WORKERS="not-a-url"\n', [A])
