# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Where ModelScope's `snapshot_download` keeps a repository inside its cache root.

``{{ 'Qwen/Qwen2.5-VL-7B-Instruct' | atlas.vllm.modelscope_cache_path }}``
-> ``hub/models/Qwen/Qwen2___5-VL-7B-Instruct`` (relative to ``~/.cache/modelscope``).

ModelScope writes every ``.`` of the model name as ``___`` on disk; the owner is kept as is.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError


def modelscope_cache_path(repo_id: object) -> str:
    text = str(repo_id or "")
    owner, dummy, name = text.partition("/")
    if not owner or not name or "/" in name or ".." in text:
        raise AnsibleFilterError(f"a ModelScope model id looks like 'Owner/Name', got {repo_id!r}")
    return f"hub/models/{owner}/{name.replace('.', '___')}"


class FilterModule:
    def filters(self) -> dict:
        return {"modelscope_cache_path": modelscope_cache_path}
