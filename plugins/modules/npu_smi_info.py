#!/usr/bin/python
# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: npu_smi_info
short_description: Gather Ascend NPU facts from npu-smi
version_added: "0.1.0"
description:
  - Runs C(npu-smi info) and returns the device and process tables as the C(npu) fact.
  - Without O(detail) exactly one command runs, C(npu-smi info).
  - With O(detail=true) it also runs C(npu-smi info -m) once, and C(npu-smi info -t board -i N -c C) and
    C(npu-smi info -t health -i N -c C) once per chip, adding the chip logic id, firmware version and health
    error code to each device.
  - The table is parsed by its C(|)-separated cells, so the 910B (A2), A3 (two chips per NPU) and 310P layouts
    are all understood. Values shown as C(NA) or C(-), and columns a layout lacks (310P has no HBM column),
    are returned as V(null).
  - The module only reads; it never reports a change.
  - A missing binary, or any npu-smi call that exits non-zero (for example error C(-8005), device not started),
    fails the task and quotes the command and its output.
  - A call that does not answer within O(timeout) (npu-smi can hang on a device in a bad state) is stopped, with
    everything it started, and fails the task with RV(timed_out=true) instead of stalling the play.
author:
  - atlas-vllm contributors (@atlas-vllm)
extends_documentation_fragment:
  - atlas.vllm.read_only
  - atlas.vllm.npu_smi
options:
  detail:
    description:
      - Also query the chip mapping, board and health of every chip (two extra commands per chip).
    type: bool
    default: false
  timeout:
    description:
      - Seconds each npu-smi call may take before it is stopped and the task fails naming it.
    type: int
    default: 30
attributes:
  facts:
    description: Action returns an C(ansible_facts) dictionary that will update existing host facts.
    support: full
seealso:
  - module: atlas.vllm.hccn_info
"""

EXAMPLES = r"""
- name: Read the NPU table
  atlas.vllm.npu_smi_info:

- name: Every chip must report OK
  ansible.builtin.assert:
    that: ansible_facts.npu.devices | rejectattr('health', 'equalto', 'OK') | list | length == 0
    fail_msg: "Unhealthy NPUs: {{ ansible_facts.npu.devices | rejectattr('health', 'equalto', 'OK') | list }}"

- name: Include firmware versions and health error codes
  atlas.vllm.npu_smi_info:
    detail: true
    executable: /usr/local/bin/npu-smi

- name: Driver must be new enough
  ansible.builtin.assert:
    that: ansible_facts.npu.version | atlas.vllm.ascend_version_ge('24.1.0')
"""

RETURN = r"""
ansible_facts:
  description: Facts added to the host.
  returned: success
  type: dict
  contains:
    npu:
      description: The parsed C(npu-smi info) output.
      returned: success
      type: dict
      contains:
        version:
          description: Driver version from the table header (the value after C(Version:)); null if absent.
          type: str
          sample: 24.1.0.3
        count:
          description: Number of distinct NPU IDs in the table.
          type: int
          sample: 8
        devices:
          description:
            - One entry per chip (an A3 NPU has two).
            - Metrics shown as C(NA) or C(-), or missing from the layout, are null.
            - O(detail=true) adds C(logic_id), C(firmware_version) and C(error_code).
          type: list
          elements: dict
          sample:
            - npu_id: 0
              chip_id: 0
              name: 910B3
              health: OK
              power_w: 94.7
              temp_c: 54
              aicore_pct: 0
              hbm_used_mb: 3396
              hbm_total_mb: 65536
              memory_used_mb: 0
              memory_total_mb: 0
              bus_id: "0000:C1:00.0"
        processes:
          description: Processes holding NPU memory; C(name) is an empty string when npu-smi shows none.
          type: list
          elements: dict
          sample:
            - npu_id: 0
              chip_id: 0
              pid: 266776
              name: python3
              memory_mb: 51277
timed_out:
  description: True when an npu-smi call did not answer within O(timeout); the failure message names it.
  returned: failure
  type: bool
  sample: true
cmd:
  description: Every command that ran, in order.
  returned: always
  type: list
  elements: list
  sample: [["/usr/local/bin/npu-smi", "info"]]
"""


from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.atlas.vllm.plugins.module_utils import bounded_run  # noqa: E402
from ansible_collections.atlas.vllm.plugins.module_utils.locale_env import C_LOCALE as LOCALE  # noqa: E402
from ansible_collections.atlas.vllm.plugins.module_utils.npu_smi import (  # noqa: E402
    parse_board,
    parse_health,
    parse_info,
    parse_mapping,
)
from ansible_collections.atlas.vllm.plugins.module_utils.tool_path import find_tool  # noqa: E402

DEFAULT_EXECUTABLE = "/usr/local/bin/npu-smi"

ARGUMENT_SPEC = {
    "executable": {"type": "path"},
    "detail": {"type": "bool", "default": False},
    "timeout": {"type": "int", "default": 30},
}


def find_executable(module: AnsibleModule) -> str:
    return find_tool(module, "npu-smi", DEFAULT_EXECUTABLE)


def run(module: AnsibleModule, argv: list[str], history: list[list[str]]) -> str:
    """Run one npu-smi command and return stdout; any failure ends the module with the command and its output."""
    history.append(argv)
    outcome = bounded_run.run_bounded(argv, module.params["timeout"], LOCALE)
    if outcome.timed_out:
        module.fail_json(msg=bounded_run.timeout_message(argv, module.params["timeout"]), timed_out=True, cmd=history)
    if outcome.rc != 0:
        module.fail_json(
            msg=bounded_run.failure_message(argv, outcome),
            rc=outcome.rc,
            stdout=outcome.stdout,
            stderr=outcome.stderr,
            cmd=history,
        )
    return outcome.stdout


def add_detail(module: AnsibleModule, executable: str, npu: dict, history: list[list[str]]) -> None:
    logic_ids = {
        (row["npu_id"], row["chip_id"]): row["chip_logic_id"]
        for row in parse_mapping(run(module, [executable, "info", "-m"], history))
    }
    for device in npu["devices"]:
        device.update(logic_id=None, firmware_version=None, error_code=None)
        if device["chip_id"] is None:
            continue
        ids = ["-i", str(device["npu_id"]), "-c", str(device["chip_id"])]
        board = parse_board(run(module, [executable, "info", "-t", "board", *ids], history))
        health = parse_health(run(module, [executable, "info", "-t", "health", *ids], history))
        device["logic_id"] = logic_ids.get((device["npu_id"], device["chip_id"]))
        device["firmware_version"] = board.get("firmware_version")
        device["error_code"] = health["error_code"]


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    if module.params["timeout"] < 1:
        module.fail_json(msg=f"timeout must be at least 1 second, got {module.params['timeout']}")
    executable = find_executable(module)
    history: list[list[str]] = []
    npu = parse_info(run(module, [executable, "info"], history))
    if module.params["detail"]:
        add_detail(module, executable, npu, history)
    module.exit_json(changed=False, ansible_facts={"npu": npu}, cmd=history)


if __name__ == "__main__":
    main()
