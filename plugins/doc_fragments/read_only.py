# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Documentation every module of the collection shares: each reads or reconciles and supports check mode fully."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff
      mode.
    support: none
"""
