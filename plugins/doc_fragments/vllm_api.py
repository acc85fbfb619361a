# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""The option of the modules that call a vLLM server's OpenAI API."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  api_key:
    description:
      - "Key the servers were started with (C(--api-key), or C(VLLM_API_KEY) in their environment); sent as
        C(Authorization: Bearer KEY). Never logged."
    type: str
"""
