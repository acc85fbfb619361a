#!/usr/bin/python
# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: fleet_record
short_description: Keep one stage's result of a node on the controller for the fleet report
version_added: "0.1.0"
description:
  - Writes C(<dir>/<host>/<stage>.json) on the controller, C({host, stage, recorded, data}), which
    C(playbooks/report.yml) reads to build the fleet report.
  - Secrets are scrubbed from O(data) before it is written; keys that name a secret, URL user info, C(NAME=VALUE)
    secrets in strings, and the values of every role setting the argument specs declare secret (C(no_log)), as
    this host sees them. The file is C(0600) in a C(0700) directory.
  - Runs on the controller only and needs no connection to the node. It writes in check mode too and never
    reports a change; it is bookkeeping, not a change to the node.
author:
  - atlas-vllm contributors (@atlas-vllm)
extends_documentation_fragment:
  - atlas.vllm.read_only
options:
  dir:
    description: The results directory on the controller (C(atlas_reports_dir)/results in the playbooks).
    type: path
    required: true
  stage:
    description: Name of the stage (C(verdict), C(hccl), C(instances), C(endpoint), C(tls), C(benchmark), ...).
    type: str
    required: true
  data:
    description: The stage's result.
    type: raw
    required: true
  host:
    description: The node the record is about; by default the host the task runs for.
    type: str
"""

EXAMPLES = r"""
- name: Record the verdict of this node
  atlas.vllm.fleet_record:
    dir: "{{ atlas_reports_dir }}/results"
    stage: verdict
    data: "{{ atlas_node_verdict }}"
"""

RETURN = r"""
path:
  description: The file written.
  returned: success
  type: str
  sample: reports/results/atlas-02/verdict.json
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

ARGUMENT_SPEC = {
    "dir": {"type": "path", "required": True},
    "stage": {"type": "str", "required": True},
    "data": {"type": "raw", "required": True},
    "host": {"type": "str"},
}


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    module.fail_json(msg="atlas.vllm.fleet_record runs on the controller as an action; it has no node side")


if __name__ == "__main__":
    main()
