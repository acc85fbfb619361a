# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""The environment the modules run host tools in: the C locale, so that the parsers read the English output the
samples show (npu-smi, hccn_tool, docker and sha256sum print translated text under other locales)."""

from __future__ import annotations

C_LOCALE = {"LANGUAGE": "C", "LC_ALL": "C"}
