"""ModelScope cache layout used for the weights directory on each node."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.atlas.vllm.plugins.filter.modelscope import modelscope_cache_path


@pytest.mark.parametrize(("repo_id", "path"), [
    ("Qwen/Qwen2.5-VL-7B-Instruct", "hub/models/Qwen/Qwen2___5-VL-7B-Instruct"),
    ("Qwen/Qwen2.5-VL-32B-Instruct-w8a8", "hub/models/Qwen/Qwen2___5-VL-32B-Instruct-w8a8"),
    ("vllm-ascend/Qwen3-8B", "hub/models/vllm-ascend/Qwen3-8B"),
])
def test_dots_in_the_name_become_triple_underscores(repo_id: str, path: str) -> None:
    assert modelscope_cache_path(repo_id) == path


@pytest.mark.parametrize("bad", ["Qwen2.5-VL-7B-Instruct", "", None, "a/b/c", "../x"])
def test_ids_that_are_not_owner_slash_name_are_refused(bad: object) -> None:
    with pytest.raises(AnsibleFilterError, match="Owner/Name"):
        modelscope_cache_path(bad)
