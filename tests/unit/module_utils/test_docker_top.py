"""Parsers of the docker CLI listings npu_node_info reads (plugins/module_utils/docker_top.py)."""

from __future__ import annotations

from ansible_collections.atlas.vllm.plugins.module_utils.docker_top import parse_ps_id_names, parse_top_pids


def test_top_pids_skip_the_header_and_blank_lines():
    assert parse_top_pids("PID\n12\n 13 \n\n") == [12, 13]
    assert parse_top_pids(None) == []


def test_ps_lines_give_id_and_name():
    text = "ccbb11246fd0 vllm-0\n1f2e3d4c5b6a vllm-1\n\n"
    assert parse_ps_id_names(text) == [("ccbb11246fd0", "vllm-0"), ("1f2e3d4c5b6a", "vllm-1")]
    assert parse_ps_id_names("ccbb11246fd0\n") == [("ccbb11246fd0", "ccbb11246fd0")]
