# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""npu_driver's checks of one node: device files, npu-smi, driver and firmware versions, chip health, processes
holding NPUs and free HBM.

The input is what the npu_node_info module read on the node (``NpuObservation``) and the role's settings
(``NpuPolicy``); the output is the node's checks and the logic ids the serving roles may allocate from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ansible_collections.atlas.vllm.plugins.module_utils.ascend_version import compare_versions
from ansible_collections.atlas.vllm.plugins.module_utils.readiness.checks import (
    CRITICAL,
    PASS,
    WARNING,
    check,
    require_mapping,
)
from ansible_collections.atlas.vllm.plugins.module_utils.readiness.devices import DeviceNames

# Character devices every NPU container needs besides its /dev/davinciN (see the docker run in the vLLM-Ascend docs).
CONTROL_DEVICES = ("davinci_manager", "devmm_svm", "hisi_hdc")


@dataclass(frozen=True)
class NpuPolicy:
    expected_count: int
    min_version: str
    allowed_health: tuple[str, ...] = ("OK",)
    min_free_hbm_mb: int = 0
    # Empty: every expected device.
    planned_devices: tuple[int, ...] = ()
    label: str = "the managed label"

    @classmethod
    def from_mapping(cls, policy: Any) -> NpuPolicy:
        policy = require_mapping(policy, "npu_driver policy")
        expected = int(policy["expected_count"])
        return cls(
            expected_count=expected,
            min_version=str(policy["min_version"]),
            allowed_health=tuple(str(item) for item in policy.get("allowed_health") or ["OK"]),
            min_free_hbm_mb=int(policy.get("min_free_hbm_mb") or 0),
            planned_devices=tuple(int(item) for item in policy.get("planned_devices") or range(expected)),
            label=policy.get("label") or "the managed label",
        )


@dataclass(frozen=True)
class NpuObservation:
    """What npu_node_info returns: ``npu`` is null when ``npu-smi info`` failed (``npu_error``, ``npu_timed_out``
    say how); ``firmware`` is one ``{npu_id, version, error}`` per NPU id; ``managed_pids`` maps the host pids of
    our labelled containers to the container's name."""

    npu: dict[str, Any] | None
    npu_error: str | None = None
    npu_timed_out: bool = False
    device_files: frozenset[str] = frozenset()
    driver_version: str | None = None
    version_info_path: str = "version.info"
    firmware: tuple[dict[str, Any], ...] = ()
    containers_ok: bool = False
    containers_error: str | None = None
    managed_pids: dict[int, str] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, observed: Any) -> NpuObservation:
        observed = require_mapping(observed, "npu_driver observation")
        containers = observed.get("containers") or {}
        return cls(
            npu=observed.get("npu") if isinstance(observed.get("npu"), dict) else None,
            npu_error=observed.get("npu_error"),
            npu_timed_out=bool(observed.get("npu_timed_out")),
            device_files=frozenset(observed.get("device_files") or []),
            driver_version=observed.get("driver_version"),
            version_info_path=observed.get("version_info_path") or "version.info",
            firmware=tuple(observed.get("firmware") or []),
            containers_ok=bool(containers.get("ok")),
            containers_error=containers.get("error"),
            managed_pids={int(item["pid"]): str(item["container"]) for item in containers.get("pids") or []},
        )


def _at_least(version: str, minimum: str) -> bool:
    return compare_versions(version, minimum) >= 0


def version_checks(seen: NpuObservation, policy: NpuPolicy) -> list[dict[str, Any]]:
    minimum = policy.min_version
    upgrade = (
        f"upgrade the Ascend HDK driver and firmware to {minimum} or newer and reboot, or drain the node; "
        f"npu_driver_min_version is {minimum}"
    )
    info_version = seen.driver_version
    smi_version = (seen.npu or {}).get("version")
    path = seen.version_info_path
    checks = []
    if info_version is None:
        checks.append(check("driver_version", CRITICAL, f"no Version= line in {path} (is the driver installed?)",
                            f"install the Ascend HDK driver {minimum} or newer, or drain the node"))
    if smi_version is None:
        checks.append(check("driver_version", WARNING, "npu-smi printed no version in its table header",
                            "compare with 'npu-smi -v'; reinstall the driver if it prints none"))
    low = [f"{source} {version}" for source, version in ((path, info_version), ("npu-smi", smi_version))
           if version is not None and not _at_least(version, minimum)]
    if low:
        checks.append(check("driver_version", CRITICAL, f"driver below the minimum {minimum}: {', '.join(low)}",
                            upgrade))
    elif info_version and smi_version and info_version != smi_version:
        checks.append(check("driver_version", WARNING,
                            f"{path} says {info_version} but npu-smi reports {smi_version} (installed driver not "
                            "loaded yet?)", "reboot the node so the installed driver is the one running"))
    if not checks:
        checks.append(check("driver_version", PASS,
                            f"driver {info_version or smi_version} (npu-smi {smi_version}) >= {minimum}"))
    return checks


def firmware_check(seen: NpuObservation) -> dict[str, Any]:
    versions: dict[str, list[int]] = {}
    failed = []
    for board in seen.firmware:
        if board.get("error"):
            failed.append(str(board["npu_id"]))
            continue
        version = board.get("version")
        versions.setdefault(str(version) if version is not None else "unknown", []).append(board["npu_id"])
    if not versions and not failed:
        return check("firmware_version", WARNING, "firmware version not read (no board query ran)",
                     "run 'npu-smi info -t board -i 0' by hand to see the firmware version")
    if failed:
        return check("firmware_version", WARNING,
                     f"'npu-smi info -t board' failed for NPU {', '.join(failed)}; firmware "
                     f"{', '.join(sorted(versions)) or 'unknown'} on the others",
                     "run 'npu-smi info -t board -i N' on the node and read its error")
    if len(versions) > 1:
        spread = "; ".join(f"{version} on NPU {', '.join(map(str, ids))}" for version, ids in sorted(versions.items()))
        return check("firmware_version", WARNING, f"NPUs run different firmware: {spread}",
                     "upgrade the firmware of every NPU to the same version (Ascend HDK firmware package)")
    return check("firmware_version", PASS, f"firmware {next(iter(versions))} on all {sum(map(len, versions.values()))} "
                 "NPUs")


def device_file_checks(seen: NpuObservation, policy: NpuPolicy, names: DeviceNames,
                       bad: set[int]) -> list[dict[str, Any]]:
    """The container runtime hands exactly these files to vLLM, so a missing one is a missing NPU."""
    checks = []
    expected = policy.expected_count
    missing_ctl = [name for name in CONTROL_DEVICES if name not in seen.device_files]
    if missing_ctl:
        checks.append(check("device_files", CRITICAL, f"/dev/{', /dev/'.join(missing_ctl)} missing: the driver "
                            "is not loaded", "reinstall or reload the Ascend driver (or reboot), then re-run; "
                            "drain the node until then"))
    missing_dev = [logic_id for logic_id in range(expected) if f"davinci{logic_id}" not in seen.device_files]
    for logic_id in missing_dev:
        bad.add(logic_id)
        checks.append(check("device_files", CRITICAL, f"{names.name(logic_id)}: /dev/davinci{logic_id} is missing",
                            f"check that {names.name(logic_id)} is seen on the PCI bus (lspci | grep d802) and by "
                            "'npu-smi info'; reboot or reinstall the driver, or drain the node and replace the card",
                            logic_id))
    if not missing_ctl and not missing_dev:
        checks.append(check("device_files", PASS, f"/dev/davinci0..{expected - 1} and "
                            f"{', '.join(CONTROL_DEVICES)} present"))
    return checks


def npu_smi_failure(seen: NpuObservation) -> dict[str, Any]:
    if seen.npu_timed_out:
        return check("npu_smi", CRITICAL, str(seen.npu_error),
                     "npu-smi hangs when the driver or a device is wedged: check dmesg for the NPU driver, "
                     "reboot the node (a hung npu-smi rarely returns); drain it until 'npu-smi info' answers")
    return check("npu_smi", CRITICAL, f"npu-smi info failed: {seen.npu_error or 'npu-smi info returned nothing'}",
                 "the driver does not answer: check dmesg, reload the driver or reboot; drain the node "
                 "until 'npu-smi info' works")


def count_check(devices: list[dict[str, Any]], policy: NpuPolicy, names: DeviceNames,
                bad: set[int]) -> dict[str, Any]:
    expected = policy.expected_count
    if len(devices) == expected:
        return check("npu_count", PASS, f"{len(devices)} NPU chips, as expected")
    absent = [logic_id for logic_id in range(expected) if logic_id not in names.known]
    extra = [logic_id for logic_id in sorted(names.known) if logic_id >= expected]
    parts = [f"npu-smi shows {len(devices)} NPU chips, npu_driver_expected_count is {expected}"]
    if absent:
        parts.append(f"not shown: {', '.join(names.name(item) for item in absent)}")
    if extra:
        parts.append(f"beyond the expected range: {', '.join(names.name(item) for item in extra)}")
    bad.update(absent)
    return check("npu_count", CRITICAL, "; ".join(parts),
                 "drain the node and check the cards (lspci | grep d802, dmesg); if the node really has "
                 f"{len(devices)}, set npu_driver_expected_count: {len(devices)} in its host_vars")


def health_checks(devices: list[dict[str, Any]], policy: NpuPolicy, names: DeviceNames,
                  bad: set[int]) -> list[dict[str, Any]]:
    allowed = list(policy.allowed_health)
    checks = []
    for device in devices:
        if device.get("health") in allowed:
            continue
        logic_id = names.logic_id(device)
        bad.add(logic_id)
        code = f", error code {device['error_code']}" if device.get("error_code") else ""
        reset = names.reset(logic_id)
        checks.append(check("health", CRITICAL,
                            f"{names.name(logic_id)}: Health {device.get('health')}{code} (allowed: "
                            f"{', '.join(allowed)})",
                            f"reset it with '{reset}' when nothing runs on it and re-run preflight; if the health "
                            "stays bad, drain the node and have the card checked "
                            f"('{reset.replace('set -t reset', 'info -t health')}')", logic_id))
    return checks or [check("health", PASS, f"every chip's Health is in {allowed}")]


def process_checks(seen: NpuObservation, policy: NpuPolicy, names: DeviceNames,
                   bad: set[int]) -> tuple[list[dict[str, Any]], dict[int, int]]:
    """Checks of the processes npu-smi lists, and the MB each device holds for our own containers."""
    checks: list[dict[str, Any]] = []
    label = policy.label
    if not seen.containers_ok:
        checks.append(check("containers", WARNING,
                            f"could not list containers labelled {label}: {seen.containers_error or 'unknown error'}"
                            "; every NPU process counts as foreign",
                            "start the container engine (systemctl start docker) and re-run"))
    devices = (seen.npu or {}).get("devices") or []
    by_npu_chip = {(int(d["npu_id"]), int(d.get("chip_id") or 0)): names.logic_id(d) for d in devices}
    ours_mb: dict[int, int] = {}
    ours_names: dict[int, set[str]] = {}
    foreign_seen = False
    for proc in (seen.npu or {}).get("processes") or []:
        logic_id = by_npu_chip.get((int(proc["npu_id"]), int(proc.get("chip_id") or 0)), int(proc["npu_id"]))
        pid = proc.get("pid")
        if pid in seen.managed_pids:
            ours_mb[logic_id] = ours_mb.get(logic_id, 0) + int(proc.get("memory_mb") or 0)
            ours_names.setdefault(logic_id, set()).add(seen.managed_pids[pid])
            continue
        foreign_seen = True
        is_planned = logic_id in policy.planned_devices
        name = proc.get("name") or "(no name)"
        # Not planned means only a WARNING, but the NPU is still not free for the serving roles to take.
        bad.add(logic_id)
        checks.append(check(
            "foreign_process", CRITICAL if is_planned else WARNING,
            f"{names.name(logic_id)}: process {pid} ({name}) holds {proc.get('memory_mb')} MB and is not in a "
            f"container labelled {label}" + ("" if is_planned else " (NPU not planned for vLLM)"),
            f"stop process {pid} ({name}) after checking its owner ('ps -o user,args -p {pid}'), or take "
            f"{names.name(logic_id)} out of npu_driver_planned_devices", logic_id))
    if not foreign_seen:
        checks.append(check("foreign_process", PASS, "no process outside our containers holds an NPU"))
    for logic_id, owners in sorted(ours_names.items()):
        checks.append(check("our_containers", PASS,
                            f"{names.name(logic_id)}: {ours_mb[logic_id]} MB held by our container(s) "
                            f"{', '.join(sorted(owners))}; counted as free for the HBM check", device=logic_id))
    return checks, ours_mb


def hbm_check(devices: list[dict[str, Any]], policy: NpuPolicy, names: DeviceNames, ours_mb: dict[int, int],
              bad: set[int]) -> list[dict[str, Any]]:
    min_free = policy.min_free_hbm_mb
    checks = []
    short = False
    for device in devices:
        logic_id = names.logic_id(device)
        used, total = device.get("hbm_used_mb"), device.get("hbm_total_mb")
        if logic_id not in policy.planned_devices:
            continue
        if used is None or total is None:
            checks.append(check("hbm_free", WARNING, f"{names.name(logic_id)}: npu-smi reports no HBM usage",
                                "check 'npu-smi info -t usages -i N' by hand", logic_id))
            continue
        free = int(total) - int(used) + ours_mb.get(logic_id, 0)
        if free < min_free:
            short = True
            bad.add(logic_id)
            checks.append(check(
                "hbm_free", CRITICAL,
                f"{names.name(logic_id)}: {free} MB HBM free of {total} MB ({used} MB used, "
                f"{ours_mb.get(logic_id, 0)} MB of it ours); npu_driver_min_free_hbm_mb is {min_free}",
                "stop whatever holds it (see foreign_process) or, if no process is listed (leaked memory), reset it "
                f"with '{names.reset(logic_id)}' when idle; or take {names.name(logic_id)} out of "
                "npu_driver_planned_devices", logic_id))
    if not short:
        checks.append(check("hbm_free", PASS, f"at least {min_free} MB HBM free on every planned NPU "
                            f"({', '.join(names.name(item) for item in policy.planned_devices)})"))
    return checks


def npu_driver_assess(observed: Any, policy: Any) -> dict[str, Any]:
    """``{checks, healthy_devices}`` of one node from npu_node_info's result and the role's settings."""
    seen = NpuObservation.from_mapping(observed)
    rules = NpuPolicy.from_mapping(policy)
    devices = list((seen.npu or {}).get("devices") or [])
    names = DeviceNames.from_devices(devices)
    bad: set[int] = set()
    checks = device_file_checks(seen, rules, names, bad)
    if seen.npu is None:
        return {"checks": checks + [npu_smi_failure(seen)], "healthy_devices": []}
    checks.extend(version_checks(seen, rules))
    checks.append(firmware_check(seen))
    checks.append(count_check(devices, rules, names, bad))
    checks.extend(health_checks(devices, rules, names, bad))
    processes, ours_mb = process_checks(seen, rules, names, bad)
    checks.extend(processes)
    checks.extend(hbm_check(devices, rules, names, ours_mb, bad))
    healthy = [logic_id for logic_id in sorted(names.known) if logic_id not in bad and logic_id < rules.expected_count]
    return {"checks": checks, "healthy_devices": healthy}
