# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""The role variables that set `vllm serve` flags, from the collection's flag table."""

from __future__ import annotations

DOCUMENTATION = r"""
name: vllm_serve_variables
short_description: Names of the vllm role variables that become C(vllm serve) flags
description:
  - Returns, in the order of the collection's flag table (C(plugins/module_utils/vllm_flags.py)), the names of
    the role variables that set a C(vllm serve) flag. Takes no terms.
  - With C(ansible.builtin.vars) it collects their values for the C(atlas.vllm.vllm_serve_settings) filter, so the
    role has no second list of them.
version_added: 1.0.0
"""

EXAMPLES = r"""
- name: The settings vllm serve is started with
  ansible.builtin.set_fact:
    settings: >-
      {{ query('ansible.builtin.vars', *query('atlas.vllm.vllm_serve_variables'))
         | atlas.vllm.vllm_serve_settings }}
"""

RETURN = r"""
_raw:
  description: Variable names, for example C(vllm_served_model_name), C(vllm_max_model_len).
  type: list
  elements: str
"""

from ansible.errors import AnsibleLookupError  # noqa: E402
from ansible.plugins.lookup import LookupBase  # noqa: E402
from ansible_collections.atlas.vllm.plugins.module_utils.vllm_flags import role_variables  # noqa: E402


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        if terms:
            raise AnsibleLookupError(f"vllm_serve_variables takes no terms, got {terms!r}")
        return role_variables()
