# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Jinja2 filters that turn what the readiness roles observed into checks and verdicts.

Every check is a dict ``{name, status, device, detail, action}``: ``status`` is PASS, WARNING or CRITICAL,
``device`` the logic id of the NPU concerned (null for node-wide checks), ``detail`` what was seen and
``action`` the recommended next step (empty for PASS).

``{{ observed | atlas.vllm.npu_driver_assess(policy) }}``         -> ``{checks, healthy_devices}``
``{{ hccn | atlas.vllm.hccl_network_assess(policy) }}``           -> ``{checks, devices}``
``{{ node_states | atlas.vllm.hccl_network_ping_targets(host, mode) }}`` -> ``[{device, address}]``
``{{ node_states | atlas.vllm.hccl_network_ping_matrix(policy) }}``  -> ``{checks: {host: [...]}, lines: [...]}``
``{{ [checks_a, checks_b] | atlas.vllm.atlas_verdict }}``         -> ``{status, checks}``
``{{ verdicts | atlas.vllm.atlas_verdict_table }}``                -> list of table lines

The logic lives here rather than in long Jinja so that it is unit-tested (tests/unit/filter/test_readiness.py).
"""

from __future__ import annotations

import re
from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.atlas.vllm.plugins.filter.ascend_version import ascend_version_ge
from ansible_collections.atlas.vllm.plugins.module_utils.cann_driver import driver_version
from ansible_collections.atlas.vllm.plugins.module_utils.npu_smi import chips_per_npu, device_logic_id, parse_board

PASS = "PASS"
WARNING = "WARNING"
CRITICAL = "CRITICAL"
_SEVERITY = {PASS: 0, WARNING: 1, CRITICAL: 2}

# Character devices every NPU container needs besides its /dev/davinciN (see the docker run in the vLLM-Ascend docs).
CONTROL_DEVICES = ("davinci_manager", "devmm_svm", "hisi_hdc")
# "'hccn_tool -i 3 -link -g' failed with rc=1: " in front of the tool's own output.
_ERROR_OUTPUT_RE = re.compile(r"^'[^']*' failed with rc=-?\d+: ")


def check(name: str, status: str, detail: str, action: str = "", device: int | None = None) -> dict[str, Any]:
    return {"name": name, "status": status, "device": device, "detail": detail, "action": action}


def worst(statuses: list[str]) -> str:
    return max(statuses, key=lambda status: _SEVERITY.get(status, 2), default=PASS)


def _require_mapping(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise AnsibleFilterError(f"{what} must be a dict, got {type(value).__name__}")
    return value


# --------------------------------------------------------------------------------------------------------------
# Device names
# --------------------------------------------------------------------------------------------------------------


def _address(logic_id: int, chips_per_npu: int, known: dict[int, tuple[int, int]]) -> tuple[int, int]:
    """(npu_id, chip_id) of a logic id; devices absent from npu-smi follow the usual numbering."""
    if logic_id in known:
        return known[logic_id]
    return logic_id // chips_per_npu, logic_id % chips_per_npu


def device_label(npu_id: int, chip_id: int, chips_per_npu: int) -> str:
    """``NPU 3`` on A2, ``NPU 3 chip 1`` on A3 where one NPU id has two chips."""
    return f"NPU {npu_id} chip {chip_id}" if chips_per_npu > 1 else f"NPU {npu_id}"


def npu_device_labels(npu: Any) -> dict[int, str]:
    """Map logic id -> label from the ``npu`` fact (empty when the fact is missing)."""
    if not isinstance(npu, dict):
        return {}
    devices = npu.get("devices") or []
    chips = chips_per_npu(devices)
    return {
        device_logic_id(device, chips): device_label(device["npu_id"], device.get("chip_id") or 0, chips)
        for device in devices
    }


# --------------------------------------------------------------------------------------------------------------
# npu_driver
# --------------------------------------------------------------------------------------------------------------


def parse_version_info(text: str | None) -> str | None:
    """The ``Version=`` value of the driver's version.info."""
    return driver_version(text)


def parse_docker_top_pids(text: str | None) -> list[int]:
    """PIDs from ``docker top ID -eo pid`` (a ``PID`` header line, then one pid a line)."""
    pids = []
    for line in (text or "").splitlines():
        token = line.strip()
        if token.isdigit():
            pids.append(int(token))
    return pids


def _managed_pids(containers: dict[str, Any]) -> dict[int, str]:
    """Host pid -> container name for every process of our labelled containers."""
    owners: dict[int, str] = {}
    for container in containers.get("list") or []:
        # Either {id, name, top} or a registered loop result whose item is a "ID NAME" line of docker ps.
        words = str(container.get("item") or "").split()
        name = container.get("name") or (words[1] if len(words) > 1 else None) or container.get("id") or words[0]
        if container.get("rc", 0) != 0:
            continue
        for pid in parse_docker_top_pids(container.get("top", container.get("stdout"))):
            owners[pid] = name
    return owners


def _version_checks(observed: dict[str, Any], npu: dict[str, Any], minimum: str) -> list[dict[str, Any]]:
    upgrade = (
        f"upgrade the Ascend HDK driver and firmware to {minimum} or newer and reboot, or drain the node; "
        f"npu_driver_min_version is {minimum}"
    )
    info_version = parse_version_info(observed.get("version_info"))
    smi_version = npu.get("version")
    checks = []
    path = observed.get("version_info_path") or "version.info"
    if info_version is None:
        checks.append(check("driver_version", CRITICAL, f"no Version= line in {path} (is the driver installed?)",
                            f"install the Ascend HDK driver {minimum} or newer, or drain the node"))
    if smi_version is None:
        checks.append(check("driver_version", WARNING, "npu-smi printed no version in its table header",
                            "compare with 'npu-smi -v'; reinstall the driver if it prints none"))
    low = [f"{source} {version}" for source, version in ((path, info_version), ("npu-smi", smi_version))
           if version is not None and not ascend_version_ge(version, minimum)]
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


def _firmware_check(observed: dict[str, Any]) -> dict[str, Any]:
    versions: dict[str, list[int]] = {}
    failed = []
    for board in observed.get("boards") or []:
        # Either {npu_id, rc, stdout} or a registered loop result whose item is the NPU id.
        npu_id = board.get("npu_id", board.get("item"))
        if board.get("rc", 0) != 0:
            failed.append(str(npu_id))
            continue
        version = parse_board(board.get("stdout") or "").get("firmware_version")
        versions.setdefault(str(version) if version is not None else "unknown", []).append(npu_id)
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


def npu_driver_assess(observed: Any, policy: Any) -> dict[str, Any]:
    """Checks and healthy logic ids of one node.

    ``observed``: ``smi`` (the registered npu_smi_info result), ``dev_files`` (names found in /dev),
    ``version_info`` (text or null) and ``version_info_path``, ``boards`` (``[{npu_id, rc, stdout}]`` of
    ``npu-smi info -t board -i N``), ``containers`` (``{ok, error, list: [{id, name, top}]}``, ``top`` being the
    output of ``docker top ID -eo pid``).
    ``policy``: ``expected_count``, ``min_version``, ``allowed_health``, ``min_free_hbm_mb``, ``planned_devices``
    (empty: every expected device), ``label`` (the managed-container label, for messages).
    """
    observed = _require_mapping(observed, "npu_driver_assess input")
    policy = _require_mapping(policy, "npu_driver_assess policy")
    expected = int(policy["expected_count"])
    expected_ids = list(range(expected))
    planned = [int(item) for item in (policy.get("planned_devices") or expected_ids)]
    allowed = [str(item) for item in policy.get("allowed_health") or ["OK"]]
    min_free = int(policy.get("min_free_hbm_mb") or 0)
    label = policy.get("label") or "the managed label"
    checks: list[dict[str, Any]] = []
    bad: set[int] = set()

    smi = observed.get("smi") or {}
    npu = (smi.get("ansible_facts") or {}).get("npu") if not smi.get("failed") else None
    devices = list((npu or {}).get("devices") or [])
    chips = chips_per_npu(devices)
    known = {device_logic_id(d, chips): (int(d["npu_id"]), int(d.get("chip_id") or 0)) for d in devices}

    def name_of(logic_id: int) -> str:
        return device_label(*_address(logic_id, chips, known), chips)

    def reset_of(logic_id: int) -> str:
        npu_id, chip_id = _address(logic_id, chips, known)
        return f"npu-smi set -t reset -i {npu_id} -c {chip_id}"

    # Device files: the container runtime hands exactly these to vLLM, so a missing one is a missing NPU.
    present_files = set(observed.get("dev_files") or [])
    missing_ctl = [name for name in CONTROL_DEVICES if name not in present_files]
    if missing_ctl:
        checks.append(check("device_files", CRITICAL, f"/dev/{', /dev/'.join(missing_ctl)} missing: the driver "
                             "is not loaded", "reinstall or reload the Ascend driver (or reboot), then re-run; "
                             "drain the node until then"))
    missing_dev = [logic_id for logic_id in expected_ids if f"davinci{logic_id}" not in present_files]
    for logic_id in missing_dev:
        bad.add(logic_id)
        checks.append(check("device_files", CRITICAL, f"{name_of(logic_id)}: /dev/davinci{logic_id} is missing",
                            f"check that {name_of(logic_id)} is seen on the PCI bus (lspci | grep d802) and by "
                            "'npu-smi info'; reboot or reinstall the driver, or drain the node and replace the card",
                            logic_id))
    if not missing_ctl and not missing_dev:
        checks.append(check("device_files", PASS, f"/dev/davinci0..{expected - 1} and "
                            f"{', '.join(CONTROL_DEVICES)} present"))

    if npu is None and smi.get("timed_out"):
        checks.append(check("npu_smi", CRITICAL, str(smi.get("msg")),
                            "npu-smi hangs when the driver or a device is wedged: check dmesg for the NPU driver, "
                            "reboot the node (a hung npu-smi rarely returns); drain it until 'npu-smi info' answers"))
        return {"checks": checks, "healthy_devices": []}
    if npu is None:
        message = smi.get("msg") or "npu-smi info returned nothing"
        checks.append(check("npu_smi", CRITICAL, f"npu-smi info failed: {message}",
                            "the driver does not answer: check dmesg, reload the driver or reboot; drain the node "
                            "until 'npu-smi info' works"))
        return {"checks": checks, "healthy_devices": []}

    checks.extend(_version_checks(observed, npu, str(policy["min_version"])))
    checks.append(_firmware_check(observed))

    seen = sorted(known)
    if len(devices) != expected:
        absent = [logic_id for logic_id in expected_ids if logic_id not in known]
        extra = [logic_id for logic_id in seen if logic_id >= expected]
        parts = [f"npu-smi shows {len(devices)} NPU chips, npu_driver_expected_count is {expected}"]
        if absent:
            parts.append(f"not shown: {', '.join(name_of(item) for item in absent)}")
        if extra:
            parts.append(f"beyond the expected range: {', '.join(name_of(item) for item in extra)}")
        bad.update(absent)
        checks.append(check("npu_count", CRITICAL, "; ".join(parts),
                            "drain the node and check the cards (lspci | grep d802, dmesg); if the node really has "
                            f"{len(devices)}, set npu_driver_expected_count: {len(devices)} in its host_vars"))
    else:
        checks.append(check("npu_count", PASS, f"{len(devices)} NPU chips, as expected"))

    unhealthy = []
    for device in devices:
        logic_id = device_logic_id(device, chips)
        if device.get("health") in allowed:
            continue
        unhealthy.append(logic_id)
        bad.add(logic_id)
        code = f", error code {device['error_code']}" if device.get("error_code") else ""
        checks.append(check("health", CRITICAL,
                            f"{name_of(logic_id)}: Health {device.get('health')}{code} (allowed: {', '.join(allowed)})",
                            f"reset it with '{reset_of(logic_id)}' when nothing runs on it and re-run preflight; "
                            "if the health stays bad, drain the node and have the card checked "
                            f"('{reset_of(logic_id).replace('set -t reset', 'info -t health')}')", logic_id))
    if not unhealthy:
        checks.append(check("health", PASS, f"every chip's Health is in {allowed}"))

    checks.extend(_process_checks(observed, npu, devices, chips, planned, min_free, label, name_of, reset_of, bad))

    healthy = [logic_id for logic_id in seen if logic_id not in bad and logic_id < expected]
    return {"checks": checks, "healthy_devices": healthy}


def _process_checks(observed, npu, devices, chips, planned, min_free, label, name_of, reset_of, bad):
    checks: list[dict[str, Any]] = []
    containers = observed.get("containers") or {}
    if not containers.get("ok", False):
        checks.append(check("containers", WARNING,
                            f"could not list containers labelled {label}: {containers.get('error') or 'unknown error'}"
                            "; every NPU process counts as foreign",
                            "start the container engine (systemctl start docker) and re-run"))
    owners = _managed_pids(containers)
    by_npu_chip = {(int(d["npu_id"]), int(d.get("chip_id") or 0)): device_logic_id(d, chips) for d in devices}
    ours_mb: dict[int, int] = {}
    ours_names: dict[int, set[str]] = {}
    foreign_seen = False
    for proc in npu.get("processes") or []:
        logic_id = by_npu_chip.get((int(proc["npu_id"]), int(proc.get("chip_id") or 0)), int(proc["npu_id"]))
        pid = proc.get("pid")
        if pid in owners:
            ours_mb[logic_id] = ours_mb.get(logic_id, 0) + int(proc.get("memory_mb") or 0)
            ours_names.setdefault(logic_id, set()).add(owners[pid])
            continue
        foreign_seen = True
        is_planned = logic_id in planned
        name = proc.get("name") or "(no name)"
        # Not planned means only a WARNING, but the NPU is still not free for the serving roles to take.
        bad.add(logic_id)
        checks.append(check(
            "foreign_process", CRITICAL if is_planned else WARNING,
            f"{name_of(logic_id)}: process {pid} ({name}) holds {proc.get('memory_mb')} MB and is not in a container "
            f"labelled {label}" + ("" if is_planned else " (NPU not planned for vLLM)"),
            f"stop process {pid} ({name}) after checking its owner ('ps -o user,args -p {pid}'), or take "
            f"{name_of(logic_id)} out of npu_driver_planned_devices", logic_id))
    if not foreign_seen:
        checks.append(check("foreign_process", PASS, "no process outside our containers holds an NPU"))
    for logic_id, names in sorted(ours_names.items()):
        checks.append(check("our_containers", PASS,
                            f"{name_of(logic_id)}: {ours_mb[logic_id]} MB held by our container(s) "
                            f"{', '.join(sorted(names))}; counted as free for the HBM check", device=logic_id))

    short = False
    for device in devices:
        logic_id = device_logic_id(device, chips)
        used, total = device.get("hbm_used_mb"), device.get("hbm_total_mb")
        if logic_id not in planned:
            continue
        if used is None or total is None:
            checks.append(check("hbm_free", WARNING, f"{name_of(logic_id)}: npu-smi reports no HBM usage",
                                "check 'npu-smi info -t usages -i N' by hand", logic_id))
            continue
        free = int(total) - int(used) + ours_mb.get(logic_id, 0)
        if free < min_free:
            short = True
            bad.add(logic_id)
            checks.append(check(
                "hbm_free", CRITICAL,
                f"{name_of(logic_id)}: {free} MB HBM free of {total} MB ({used} MB used, "
                f"{ours_mb.get(logic_id, 0)} MB of it ours); npu_driver_min_free_hbm_mb is {min_free}",
                "stop whatever holds it (see foreign_process) or, if no process is listed (leaked memory), reset it "
                f"with '{reset_of(logic_id)}' when idle; or take {name_of(logic_id)} out of "
                "npu_driver_planned_devices", logic_id))
    if not short:
        checks.append(check("hbm_free", PASS, f"at least {min_free} MB HBM free on every planned NPU "
                            f"({', '.join(name_of(item) for item in planned)})"))
    return checks


# --------------------------------------------------------------------------------------------------------------
# hccl_network
# --------------------------------------------------------------------------------------------------------------


def _device_problems(entry: dict[str, Any], label: str) -> tuple[list[str], str]:
    """What is wrong with one device's NIC, and the one action that addresses the first cause."""
    device = entry["device"]
    errors = {key: value for key, value in (entry.get("errors") or {}).items() if key not in ("lldp", "tls")}
    conf = entry.get("conf") or {}
    problems: list[str] = []
    actions: list[str] = []
    if entry.get("timed_out"):
        # Nothing else was asked of a device whose hccn_tool hangs; its other fields say nothing.
        return ([f"{'; '.join(str(value) for value in (entry.get('errors') or {}).values())}"],
                f"the NIC of {label} or its driver is wedged: check dmesg, reboot the node if "
                f"'hccn_tool -i {device} -link -g' still hangs")
    if errors:
        # A device the driver cannot see fails every query with the same text; say it once.
        by_output: dict[str, list[str]] = {}
        for key, value in sorted(errors.items()):
            by_output.setdefault(_ERROR_OUTPUT_RE.sub("", str(value)), []).append(key)
        problems.append("; ".join(f"hccn_tool -i {device} failed ({', '.join(keys)}): {output}"
                                  for output, keys in by_output.items()))
        actions.append(f"run 'hccn_tool -i {device} -link -g' by hand; a device the driver does not see is an "
                       "npu_driver problem (see its checks)")
    if entry.get("link") not in (None, "UP"):
        port = entry.get("lldp_ifname")
        where = f" {port}" if port else f" (hccn_tool -i {device} -lldp -g names it when the link is up)"
        problems.append(f"link {entry.get('link')}")
        actions.append(f"check the optical module and cable of {label} and its switch port{where}")
    # A missing IP comes before net_health: without an IP the health stays Init, so the IP is the cause.
    if entry.get("ip") is None and "ip" not in errors:
        problems.append("no device IP")
        actions.append(f"set it: hccn_tool -i {device} -ip -s address <ip> netmask <mask> (it is then written to "
                       "/etc/hccn.conf)")
    elif entry.get("ip") and conf.get("address") != entry.get("ip"):
        problems.append(f"IP {entry.get('ip')} differs from /etc/hccn.conf address_{device}="
                        f"{conf.get('address') or '(absent)'}")
        actions.append(f"make /etc/hccn.conf and the device agree: hccn_tool -i {device} -ip -s address "
                       "<ip> netmask <mask>")
    if entry.get("net_health") not in (None, "Success"):
        problems.append(f"net_health {entry.get('net_health')}")
        if entry.get("net_health") == "Init":
            actions.append(f"set a detect address: hccn_tool -i {device} -netdetect -s address <gateway>")
        else:
            actions.append(f"check the link and the detect address ({entry.get('netdetect') or 'none'}) of device "
                           f"{device}: hccn_tool -i {device} -net_health -g")
    if entry.get("gateway") is None and "gateway" not in errors:
        problems.append("no gateway")
        actions.append(f"set it: hccn_tool -i {device} -gateway -s gateway <gateway>")
    if entry.get("netdetect") is None and "netdetect" not in errors:
        problems.append("no netdetect address")
        actions.append(f"set it: hccn_tool -i {device} -netdetect -s address <gateway>")
    return problems, (actions[0] if actions else "")


def hccl_network_assess(hccn: Any, policy: Any) -> dict[str, Any]:
    """Per-device NIC checks of one node from the registered hccn_info result.

    ``policy``: ``devices`` (ids that must be checked), ``severity`` (CRITICAL or WARNING), ``labels``
    (logic id -> name, e.g. ``NPU 3 chip 1``; missing ids are named ``NPU <id>``).
    Returns ``checks`` and ``devices``: ``[{device, label, ip, usable, problems}]`` for the ping stage.
    """
    hccn = _require_mapping(hccn, "hccl_network_assess input")
    policy = _require_mapping(policy, "hccl_network_assess policy")
    severity = policy.get("severity") or WARNING
    labels = {int(key): value for key, value in (policy.get("labels") or {}).items()}
    wanted = [int(item) for item in policy.get("devices") or []]
    if hccn.get("failed") or "devices" not in hccn:
        message = hccn.get("msg") or "hccn_info returned nothing"
        return {
            "checks": [check("npu_network", severity, f"hccn_tool could not be queried: {message}",
                             "check that the driver's hccn_tool is installed "
                             "(/usr/local/Ascend/driver/tools/hccn_tool) and the driver is loaded")],
            "devices": [],
        }
    checks = []
    states = []
    entries = {int(entry["device"]): entry for entry in hccn["devices"]}
    unseen = []
    for device in wanted or sorted(entries):
        label = labels.get(device, f"NPU {device}")
        if labels and device not in labels:
            # npu-smi does not show it: npu_driver names that cause; its NIC errors would only repeat it.
            unseen.append(label)
            continue
        entry = entries.get(device)
        if entry is None:
            problems, action = ["not queried"], "re-run; the device was not part of the hccn_info result"
        else:
            problems, action = _device_problems(entry, label)
        ip = (entry or {}).get("ip")
        if problems:
            checks.append(check("npu_network", severity, f"{label} ({ip or 'no IP'}): {', '.join(problems)}",
                                action, device))
        usable = bool(entry) and entry.get("link") == "UP" and ip is not None and not problems
        states.append({"device": device, "label": label, "ip": ip, "usable": usable, "problems": problems,
                       "lldp_ifname": (entry or {}).get("lldp_ifname")})
    if not checks:
        checks.append(check("npu_network", PASS, f"{len(states)} NPU NICs: link UP, net_health Success, IP as in "
                            "/etc/hccn.conf, gateway and netdetect set"))
    if unseen:
        checks.append(check("npu_network", PASS, f"not checked, npu-smi does not show them (see the npu_driver "
                            f"checks): {', '.join(unseen)}"))
    return {"checks": checks, "devices": states}


def _ring_peers(hosts: list[str], host: str) -> list[str]:
    if len(hosts) < 2:
        return []
    index = hosts.index(host)
    return [hosts[(index + 1) % len(hosts)]]


def _peers(hosts: list[str], host: str, mode: str) -> list[str]:
    if mode == "ring":
        return _ring_peers(hosts, host)
    if mode == "all":
        return [other for other in hosts if other != host]
    raise AnsibleFilterError(f"ping mode must be 'all' or 'ring', got {mode!r}")


def hccl_network_ping_targets(nodes: Any, host: str, mode: str = "all") -> list[dict[str, Any]]:
    """Pings ``host`` runs: each usable local device to the same-index usable device of each peer.

    ``nodes``: ``[{host, devices: [{device, ip, usable}]}]`` of every node in the play, in play order. Pairs with
    an end that is already known bad are not pinged: that device's own check names the cause once.
    """
    by_host = {node["host"]: node for node in nodes}
    if host not in by_host:
        return []
    hosts = [node["host"] for node in nodes]
    mine = {item["device"]: item for item in by_host[host].get("devices") or []}
    targets = []
    for peer in _peers(hosts, host, mode):
        for item in by_host[peer].get("devices") or []:
            local = mine.get(item["device"])
            if local and local.get("usable") and item.get("usable"):
                targets.append({"device": item["device"], "address": item["ip"]})
    return targets


def _endpoint(node: dict[str, Any], device: int) -> str:
    state = next((item for item in node.get("devices") or [] if item["device"] == device), {})
    return f"{node['host']} {state.get('label') or f'NPU {device}'} ({state.get('ip') or 'no IP'})"


def hccl_network_ping_matrix(nodes: Any, policy: Any) -> dict[str, Any]:
    """Aggregate every node's pings into one matrix and per-node checks.

    ``nodes``: ``[{host, devices: [{device, label, ip, usable, problems}], pings: [hccn_ping results]}]``.
    ``policy``: ``mode``, ``severity``, ``max_loss_pct``, ``multi_node``.
    A node whose device fails with every peer while the peers reach each other is named once as the cause;
    other failing pairs are named one by one on the node that sent the ping.
    """
    nodes = list(nodes or [])
    policy = _require_mapping(policy, "hccl_network_ping_matrix policy")
    severity = policy.get("severity") or WARNING
    max_loss = float(policy.get("max_loss_pct") or 0)
    mode = policy.get("mode") or "all"
    hosts = [node["host"] for node in nodes]
    by_host = {node["host"]: node for node in nodes}
    result: dict[str, list[dict[str, Any]]] = {host: [] for host in hosts}
    if len(nodes) < 2:
        status = WARNING if policy.get("multi_node") else PASS
        for host in hosts:
            result[host].append(check("ping_matrix", status,
                                      "only one node in this play: cross-node ping matrix skipped",
                                      "run preflight on every node of the instance (no --limit) to test the fabric"
                                      if status != PASS else ""))
        return {"checks": result, "lines": ["cross-node ping skipped: only one node in the play"]}

    # (src, dst, device) -> loss; absent = not pinged (an end was known bad).
    address_owner = {}
    for node in nodes:
        for item in node.get("devices") or []:
            if item.get("ip"):
                address_owner[(item["device"], item["ip"])] = node["host"]
    outcome: dict[tuple[str, str, int], float] = {}
    for node in nodes:
        for ping in node.get("pings") or []:
            dst = address_owner.get((ping["device"], ping["address"]))
            if dst is not None:
                outcome[(node["host"], dst, int(ping["device"]))] = float(ping.get("loss_pct", 100.0))

    failed = {key for key, loss in outcome.items() if loss > max_loss}
    blamed: dict[tuple[str, int], list[tuple[str, str, int]]] = {}
    for device in sorted({key[2] for key in outcome}):
        tested = [key for key in outcome if key[2] == device]
        for host in hosts:
            mine = [key for key in tested if host in key[:2]]
            others_ok = any(key not in failed for key in tested if host not in key[:2])
            peers = {key[0] if key[1] == host else key[1] for key in mine}
            if len(peers) >= 2 and others_ok and all(key in failed for key in mine):
                blamed[(host, device)] = mine
    explained = {key for keys in blamed.values() for key in keys}

    for (host, device), keys in sorted(blamed.items()):
        peers = sorted({key[0] if key[1] == host else key[1] for key in keys})
        state = next(item for item in by_host[host]["devices"] if item["device"] == device)
        port = state.get("lldp_ifname")
        result[host].append(check(
            "ping_matrix", severity,
            f"{_endpoint(by_host[host], device)} reaches none of its {len(peers)} peers ({', '.join(peers)}) and "
            "they reach each other: the fault is on this node's side",
            f"check the optical module of {state.get('label') or f'NPU {device}'} and its switch port "
            + (port or f"(hccn_tool -i {device} -lldp -g)"), device))
    for src, dst, device in sorted(failed - explained):
        loss = outcome[(src, dst, device)]
        result[src].append(check(
            "ping_matrix", severity,
            f"{_endpoint(by_host[src], device)} -> {_endpoint(by_host[dst], device)}: {loss:g}% loss",
            f"check the fabric path between the two switch ports (hccn_tool -i {device} -lldp -g on both nodes), "
            f"then re-test with 'hccn_tool -i {device} -ping -g address "
            f"{next(i['ip'] for i in by_host[dst]['devices'] if i['device'] == device)}'", device))

    skipped: dict[str, list[str]] = {}
    for node in nodes:
        for item in node.get("devices") or []:
            if not item.get("usable"):
                skipped.setdefault(node["host"], []).append(item.get("label") or f"NPU {item['device']}")
    lines = []
    for src in hosts:
        for dst in _peers(hosts, src, mode):
            keys = [key for key in outcome if key[0] == src and key[1] == dst]
            bad = sorted(key[2] for key in keys if key in failed)
            lines.append(f"{src} -> {dst}: {len(keys) - len(bad)}/{len(keys)} device pairs OK"
                         + (f", failing devices {bad}" if bad else ""))
    for host, labels in sorted(skipped.items()):
        lines.append(f"not pinged (cause named in {host}'s npu_network check): {host} {', '.join(labels)}")
    for host in hosts:
        if not any(item["name"] == "ping_matrix" for item in result[host]):
            sent = sum(1 for key in outcome if key[0] == host)
            note = f"; {', '.join(skipped[host])} not pinged (see npu_network)" if host in skipped else ""
            result[host].append(check("ping_matrix", PASS, f"{sent} pings to {mode} peers within {max_loss:g}% "
                                      f"loss{note}"))
    return {"checks": result, "lines": lines}


# --------------------------------------------------------------------------------------------------------------
# verdicts
# --------------------------------------------------------------------------------------------------------------


def atlas_verdict(check_lists: Any) -> dict[str, Any]:
    """Combine lists of checks into ``{status, checks}``; status is the worst of them (PASS when empty)."""
    if not isinstance(check_lists, list):
        raise AnsibleFilterError(f"atlas_verdict expects a list of check lists, got {type(check_lists).__name__}")
    checks = [item for group in check_lists for item in (group or [])]
    for item in checks:
        if item.get("status") not in _SEVERITY:
            raise AnsibleFilterError(f"check {item.get('name')!r} has status {item.get('status')!r}; "
                                     f"expected one of {sorted(_SEVERITY)}")
    return {"status": worst([item["status"] for item in checks]), "checks": checks}


def readiness_check_line(item: Any, host: str | None = None) -> str:
    """``atlas-02 CRITICAL health NPU 3: ... -> action`` for one check."""
    item = _require_mapping(item, "readiness_check_line input")
    prefix = f"{host} " if host else ""
    action = f" -> {item['action']}" if item.get("action") else ""
    return f"{prefix}{item['status']} {item['name']}: {item['detail']}{action}"


def atlas_verdict_summary(verdict: Any, host: str) -> str:
    """One line for a node: ``atlas-02: CRITICAL (2 critical, 1 warning, 9 passed)``."""
    verdict = _require_mapping(verdict, "atlas_verdict_summary input")
    counts = {status: sum(1 for item in verdict["checks"] if item["status"] == status) for status in _SEVERITY}
    line = (f"{host}: {verdict['status']} ({counts[CRITICAL]} critical, {counts[WARNING]} warning, "
            f"{counts[PASS]} passed)")
    worst_items = [item for item in verdict["checks"] if item["status"] == verdict["status"] != PASS]
    if worst_items:
        line += " - " + "; ".join(item["detail"] for item in worst_items[:3])
        if len(worst_items) > 3:
            line += f"; and {len(worst_items) - 3} more"
    return line


def atlas_failed_nodes(verdicts: Any) -> list[str]:
    """Nodes whose verdict is CRITICAL or missing, sorted. ``verdicts``: ``{host: verdict or null}``."""
    verdicts = _require_mapping(verdicts, "atlas_failed_nodes input")
    return sorted(host for host, verdict in verdicts.items() if not verdict or verdict.get("status") == CRITICAL)


def atlas_verdict_table(verdicts: Any) -> list[str]:
    """Fixed-width table lines: one row per failing check (node, status, device, check, detail, action);
    one PASS row per healthy node. ``verdicts``: ``{host: verdict or null}`` (null: the node gave no verdict)."""
    verdicts = _require_mapping(verdicts, "atlas_verdict_table input")
    header = f"{'node':<12} {'status':<9} {'device':<7} {'check':<16} detail -> action"
    lines = [header, "-" * len(header)]
    for host in sorted(verdicts):
        verdict = verdicts[host]
        if not verdict:
            lines.append(f"{host:<12} {'CRITICAL':<9} {'-':<7} {'unreachable':<16} no verdict (host unreachable or "
                         "a task failed) -> fix the connection or the error above, then re-run with --limit")
            continue
        rows = [item for item in verdict["checks"] if item["status"] != PASS]
        if not rows:
            lines.append(f"{host:<12} {'PASS':<9} {'-':<7} {'all':<16} {len(verdict['checks'])} checks passed")
        for item in sorted(rows, key=lambda row: -_SEVERITY[row["status"]]):
            device = "-" if item.get("device") is None else str(item["device"])
            lines.append(f"{host:<12} {item['status']:<9} {device:<7} {item['name']:<16} {item['detail']} -> "
                         f"{item['action']}")
    return lines


class FilterModule:
    """Readiness check aggregation filters."""

    def filters(self) -> dict[str, object]:
        return {
            "npu_driver_assess": npu_driver_assess,
            "npu_device_labels": npu_device_labels,
            "hccl_network_assess": hccl_network_assess,
            "hccl_network_ping_targets": hccl_network_ping_targets,
            "hccl_network_ping_matrix": hccl_network_ping_matrix,
            "atlas_verdict": atlas_verdict,
            "atlas_verdict_summary": atlas_verdict_summary,
            "atlas_failed_nodes": atlas_failed_nodes,
            "readiness_check_line": readiness_check_line,
            "atlas_verdict_table": atlas_verdict_table,
        }
