# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""The values of the vllm role variables that become `vllm serve` flags: the inventory's, else the spec's default."""

from __future__ import annotations

DOCUMENTATION = r"""
name: vllm_serve_values
short_description: Values of the vllm role variables that become C(vllm serve) flags
description:
  - Returns one dictionary, variable name to value, over the role variables of the collection's flag table
    (C(plugins/module_utils/vllm_flags.py)). Takes no terms.
  - A variable the play defines (inventory, extra vars, play vars) keeps its value. Any other takes the default its
    C(roles/vllm/meta/argument_specs.yml) entry states, templated like a role default; those variables have no
    second default in C(defaults/main.yml).
  - Each value is then read as the type its argument spec entry declares, the way the role's argument validation
    reads it, so C(-e vllm_max_model_len=8192) gives the number 8192 and C(-e vllm_trust_remote_code=false) gives
    false (as a string, C("false") would count as true). A value that does not convert fails the lookup, naming
    the variable.
  - So a new flag is one row of the flag table and one option of the argument spec.
version_added: 0.1.0
"""

EXAMPLES = r"""
- name: The settings vllm serve is started with
  ansible.builtin.set_fact:
    settings: "{{ lookup('atlas.vllm.vllm_serve_values') | atlas.vllm.vllm_serve_settings }}"
"""

RETURN = r"""
_raw:
  description: 'One dictionary, for example C({"vllm_max_model_len": 16384, "vllm_dtype": "bfloat16", ...}).'
  type: list
  elements: dict
"""

from ansible.errors import AnsibleLookupError  # noqa: E402
from ansible.plugins.lookup import LookupBase  # noqa: E402
from ansible_collections.atlas.vllm.plugins.module_utils.vllm_flags import spec_defaults  # noqa: E402
from ansible_collections.atlas.vllm.plugins.plugin_utils.role_specs import role_options, spec_value  # noqa: E402

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core before 2.19 templates every string it is given: nothing to mark

    def trust_as_template(value):
        return value


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        if terms:
            raise AnsibleLookupError(f"vllm_serve_values takes no terms, got {terms!r}")
        options = role_options()
        try:
            defaults = spec_defaults(options)
        except ValueError as exc:
            raise AnsibleLookupError(str(exc)) from exc
        variables = variables or {}
        values = {}
        for name, default in defaults.items():
            if name in variables:
                values[name] = variables[name]
            else:
                # Our own spec file, so its defaults are as trusted as a role's defaults/main.yml.
                values[name] = trust_as_template(default) if isinstance(default, str) else default
        return [{name: self._typed(name, value, options[name].get("type", "str"))
                 for name, value in self._templar.template(values).items()}]

    @staticmethod
    def _typed(name, value, kind):
        # The role's argument validation converts a value only to check it: a string stays a string, and the
        # argv builder would take "false" for true.
        try:
            return spec_value(value, kind)
        except (TypeError, ValueError) as exc:
            raise AnsibleLookupError(f"{name} is {value!r}; it must be a value of type {kind}: {exc}") from exc
