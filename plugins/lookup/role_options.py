# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Names of every role option of the collection, from the roles' argument specs."""

from __future__ import annotations

DOCUMENTATION = r"""
name: role_options
short_description: Names of the options of every role of atlas.vllm
description:
  - Returns the names of the options the roles of the collection declare in their C(meta/argument_specs.yml)
    (entry point C(main)), sorted. Takes no terms.
  - C(playbooks/validate.yml) checks every one of them an inventory sets, so the list of settings it looks at is
    the specs themselves.
version_added: 0.1.0
options:
  secret:
    description:
      - Only the options the specs declare secret (C(no_log) true), for example C(vllm_api_key); records scrub
        their values wherever they appear.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: The role settings this node's inventory sets
  ansible.builtin.debug:
    msg: "{{ query('atlas.vllm.role_options') | select('in', hostvars[inventory_hostname]) | list }}"

- name: The settings that are secrets
  ansible.builtin.debug:
    msg: "{{ query('atlas.vllm.role_options', secret=true) }}"
"""

RETURN = r"""
_raw:
  description: Option names, for example C(vllm_max_model_len), C(npu_driver_expected_count).
  type: list
  elements: str
"""

from ansible.errors import AnsibleLookupError  # noqa: E402
from ansible.plugins.lookup import LookupBase  # noqa: E402
from ansible_collections.atlas.vllm.plugins.plugin_utils.role_specs import role_options, secret_options  # noqa: E402


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        if terms:
            raise AnsibleLookupError(f"role_options takes no terms, got {terms!r}")
        self.set_options(var_options=variables, direct=kwargs)
        return secret_options() if self.get_option("secret") else sorted(role_options())
