#!/usr/bin/python
# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: npu_node_info
short_description: Read everything the NPU readiness checks need from one Atlas node in one call
version_added: "0.1.0"
description:
  - Reads, concurrently on the node, what the C(npu_driver) role judges; C(npu-smi info), its chip mapping
    (C(-m)), every chip's health (C(-t health -i N -c C)) and every NPU's board view (C(-t board -i N), the only one
    with the firmware version); the driver's C(version.info); the NPU device files in C(/dev); and the host pids of
    the running containers that carry O(managed_label) (C(docker ps), C(docker top ID -eo pid)).
  - Nothing here fails the task on the node's state. A driver that does not answer, a board query that fails, a
    container engine that is down, are returned in the result (RV(npu_error), RV(firmware), RV(containers)) so the
    role's checks can name them.
  - The task fails only on bad options.
  - The module only reads; it never reports a change.
author:
  - atlas-vllm contributors (@atlas-vllm)
extends_documentation_fragment:
  - atlas.vllm.read_only
  - atlas.vllm.npu_smi
options:
  timeout:
    description: Seconds each C(npu-smi) call may take before it is stopped and reported as timed out.
    type: int
    default: 30
  parallel:
    description: How many C(npu-smi) and container queries run at the same time.
    type: int
    default: 8
  version_info_path:
    description: The driver's C(version.info), whose C(Version=) line is the installed driver version.
    type: path
    default: /usr/local/Ascend/driver/version.info
  container_cli:
    description: Container CLI that lists the containers and their processes.
    type: str
    default: docker
  container_timeout:
    description: Seconds each container CLI call may take.
    type: int
    default: 120
  managed_label:
    description:
      - Label (C(key=value)) of the containers whose processes are ours.
      - Their host pids are returned in RV(containers.pids), so NPU memory they hold is not taken for a foreign
        process.
    type: str
    required: true
seealso:
  - module: atlas.vllm.npu_smi_info
  - module: atlas.vllm.hccn_info
"""

EXAMPLES = r"""
- name: Read the node for the NPU checks
  atlas.vllm.npu_node_info:
    managed_label: io.atlas-vllm.managed=true
  register: npu_node

- name: Judge it
  ansible.builtin.set_fact:
    npu_checks: "{{ npu_node | atlas.vllm.npu_driver_assess(policy) }}"
  vars:
    policy:
      expected_count: 8
      min_version: 24.1.0.3
"""

RETURN = r"""
ansible_facts:
  description:
    - The C(npu) fact, as M(atlas.vllm.npu_smi_info) with O(atlas.vllm.npu_smi_info#module:detail=true) sets it.
  returned: when npu-smi answered
  type: dict
  contains:
    npu:
      description: Driver version, NPU count, one entry per chip (with C(logic_id) and C(error_code)) and processes.
      type: dict
npu:
  description: The same C(npu) value, or null when npu-smi did not answer.
  returned: always
  type: dict
npu_error:
  description: Why npu-smi gave no table (the first of its calls that failed, with its output); null when it did.
  returned: always
  type: str
  sample: "'/usr/local/bin/npu-smi info' failed with rc=-8005: dcmi model initialized failed"
npu_timed_out:
  description: True when that failure was a call that did not answer within O(timeout).
  returned: always
  type: bool
firmware:
  description: One entry per NPU id, from C(npu-smi info -t board -i N); C(error) is set when the query failed.
  returned: always
  type: list
  elements: dict
  sample: [{npu_id: 0, version: 7.5.0.3.220, error: null}]
driver_version:
  description: The C(Version=) value of O(version_info_path); null when the file is missing or has no such line.
  returned: always
  type: str
  sample: 24.1.0.3
version_info_path:
  description: The O(version_info_path) that was read.
  returned: always
  type: str
device_files:
  description: Names of the NPU device files in C(/dev) (C(davinciN), C(davinci_manager), C(devmm_svm), C(hisi_hdc)).
  returned: always
  type: list
  elements: str
containers:
  description: The containers carrying O(managed_label) and the host pids of their processes.
  returned: always
  type: dict
  contains:
    ok:
      description: False when the containers could not be listed.
      type: bool
    error:
      description: Why they could not be listed.
      type: str
    pids:
      description: One C({pid, container}) per process of those containers, children included.
      type: list
      elements: dict
cmd:
  description: Every command that ran.
  returned: always
  type: list
  elements: list
"""

import fnmatch  # noqa: E402
import os  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from typing import Any  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.atlas.vllm.plugins.module_utils import bounded_run  # noqa: E402
from ansible_collections.atlas.vllm.plugins.module_utils.cann_driver import driver_version  # noqa: E402
from ansible_collections.atlas.vllm.plugins.module_utils.docker_top import (  # noqa: E402
    parse_ps_id_names,
    parse_top_pids,
)
from ansible_collections.atlas.vllm.plugins.module_utils.locale_env import C_LOCALE as LOCALE  # noqa: E402
from ansible_collections.atlas.vllm.plugins.module_utils.npu_smi import (  # noqa: E402
    parse_board,
    parse_health,
    parse_info,
    parse_mapping,
)
from ansible_collections.atlas.vllm.plugins.module_utils.tool_path import locate_tool  # noqa: E402

DEFAULT_EXECUTABLE = "/usr/local/bin/npu-smi"
DEVICE_DIR = "/dev"
DEVICE_PATTERNS = ("davinci*", "devmm_svm", "hisi_hdc")

ARGUMENT_SPEC = {
    "executable": {"type": "path"},
    "timeout": {"type": "int", "default": 30},
    "parallel": {"type": "int", "default": 8},
    "version_info_path": {"type": "path", "default": "/usr/local/Ascend/driver/version.info"},
    "container_cli": {"type": "str", "default": "docker"},
    "container_timeout": {"type": "int", "default": 120},
    "managed_label": {"type": "str", "required": True},
}


class Reader:
    """Runs the node's commands with their deadlines and keeps the list of what ran."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self.pool = pool
        self.history: list[list[str]] = []

    def start(self, argv: list[str], timeout: int):
        self.history.append(argv)
        return self.pool.submit(bounded_run.run_bounded, argv, timeout, LOCALE)


def failure(argv: list[str], outcome: bounded_run.Outcome, timeout: int) -> str | None:
    """The message for a command that did not succeed, as npu_smi_info words it; None when it did."""
    if outcome.timed_out:
        return bounded_run.timeout_message(argv, timeout)
    if outcome.rc != 0:
        return bounded_run.failure_message(argv, outcome)
    return None


def device_files() -> list[str]:
    try:
        names = os.listdir(DEVICE_DIR)
    except OSError:
        return []
    return sorted(name for name in names if any(fnmatch.fnmatchcase(name, pattern) for pattern in DEVICE_PATTERNS))


def read_driver_version(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return driver_version(handle.read())
    except OSError:
        return None


def read_npu(reader: Reader, smi: str | None, smi_error: str | None, timeout: int) -> dict[str, Any]:
    """npu-smi's table with each chip's logic id and health error code, and each NPU's firmware."""
    result: dict[str, Any] = {"npu": None, "npu_error": smi_error, "npu_timed_out": False, "firmware": []}
    if smi is None:
        return result
    info_argv, mapping_argv = [smi, "info"], [smi, "info", "-m"]
    info, mapping = reader.start(info_argv, timeout), reader.start(mapping_argv, timeout)
    first = [(info_argv, info.result()), (mapping_argv, mapping.result())]
    for argv, outcome in first:
        message = failure(argv, outcome, timeout)
        if message:
            result.update(npu_error=message, npu_timed_out=outcome.timed_out)
            return result
    npu = parse_info(first[0][1].stdout)
    logic_ids = {(row["npu_id"], row["chip_id"]): row["chip_logic_id"] for row in parse_mapping(first[1][1].stdout)}
    chips = [device for device in npu["devices"] if device["chip_id"] is not None]
    health = {}
    for device in chips:
        argv = [smi, "info", "-t", "health", "-i", str(device["npu_id"]), "-c", str(device["chip_id"])]
        health[id(device)] = (argv, reader.start(argv, timeout))
    boards = {}
    for npu_id in sorted({device["npu_id"] for device in npu["devices"]}):
        argv = [smi, "info", "-t", "board", "-i", str(npu_id)]
        boards[npu_id] = (argv, reader.start(argv, timeout))
    for device in npu["devices"]:
        device.update(logic_id=logic_ids.get((device["npu_id"], device["chip_id"])), error_code=None)
        if id(device) not in health:
            continue
        argv, pending = health[id(device)]
        outcome = pending.result()
        message = failure(argv, outcome, timeout)
        if message:
            result.update(npu_error=message, npu_timed_out=outcome.timed_out)
            return result
        device["error_code"] = parse_health(outcome.stdout)["error_code"]
    for npu_id, (argv, pending) in boards.items():
        outcome = pending.result()
        message = failure(argv, outcome, timeout)
        version = None if message else parse_board(outcome.stdout).get("firmware_version")
        result["firmware"].append({"npu_id": npu_id, "version": version, "error": message})
    result["npu"] = npu
    return result


def read_containers(reader: Reader, cli: str, label: str, timeout: int) -> dict[str, Any]:
    """Host pids of every process of the running containers that carry ``label``."""
    argv = [cli, "ps", "--filter", f"label={label}", "--format", "{{.ID}} {{.Names}}"]
    listing = reader.start(argv, timeout).result()
    message = failure(argv, listing, timeout)
    if message:
        return {"ok": False, "error": listing.stderr.strip() or message, "pids": []}
    tops = [(name, reader.start([cli, "top", ident, "-eo", "pid"], timeout))
            for ident, name in parse_ps_id_names(listing.stdout)]
    pids = []
    for name, pending in tops:
        outcome = pending.result()
        # A container that stopped between the two calls has no processes left to count.
        if outcome.rc == 0:
            pids.extend({"pid": pid, "container": name} for pid in parse_top_pids(outcome.stdout))
    return {"ok": True, "error": None, "pids": pids}


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    for option in ("timeout", "parallel", "container_timeout"):
        if params[option] < 1:
            module.fail_json(msg=f"{option} must be at least 1, got {params[option]}")
    smi, smi_error = locate_tool(module, "npu-smi", DEFAULT_EXECUTABLE)
    # Two extra workers: the NPU and container reads each wait on their own first listing.
    with ThreadPoolExecutor(max_workers=params["parallel"] + 2) as pool:
        reader = Reader(pool)
        containers = pool.submit(read_containers, reader, params["container_cli"], params["managed_label"],
                                 params["container_timeout"])
        npu = read_npu(reader, smi, smi_error, params["timeout"])
        result = {
            **npu,
            "containers": containers.result(),
            "driver_version": read_driver_version(params["version_info_path"]),
            "version_info_path": params["version_info_path"],
            "device_files": device_files(),
        }
    facts = {"npu": result["npu"]} if result["npu"] is not None else {}
    module.exit_json(changed=False, ansible_facts=facts, cmd=reader.history, **result)


if __name__ == "__main__":
    main()
