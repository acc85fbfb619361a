"""Simulated Ascend driver library of the twin: node state, faults and NPU process registrations.

Installed in a node as /usr/local/Ascend/driver/lib64/atlas_twin.py. npu-smi, hccn_tool and atlas-twin import it the
way the real tools load the driver libraries, and vLLM containers see it because they mount lib64. Stdlib only: it
runs under whatever python3 a node or an image provides.

The node state under lib64 is only read from a container, so the driver may be mounted read-only, as it should be.
A process that uses NPUs registers in its own filesystem (/run/atlas-twin/procs); the node's tools find every
registration through /proc/<pid>/root of each mount namespace, as the real driver sees every process that opened a
device whatever its container.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

SCHEMA = 1
DEFAULT_STATE_DIR = "/usr/local/Ascend/driver/lib64/.atlas-twin"
NODE_FILE = "node.json"
DEFAULT_PROCS_DIR = "/run/atlas-twin/procs"
LOCK_FILE = ".lock"

HEALTH_LEVELS = ("Warning", "Alarm", "Critical")
NET_HEALTH_VALUES = ("Fault", "Init")
DEVICE_FAULTS = ("npu-unhealthy", "hbm-busy", "device-missing", "link-down", "net-health", "no-ip", "hccn-hang")
NODE_FAULTS = (
    "driver-version",
    "image-missing",
    "weights-missing",
    "weights-corrupt",
    "container-crash",
    "slow-load",
    "graph-capture",
    "npu-smi-hang",
)
FAULT_KINDS = DEVICE_FAULTS + NODE_FAULTS
# Faults whose value is meaningless; a value given for them is rejected so typos surface early.
_VALUELESS = ("device-missing", "link-down", "no-ip", "graph-capture", "npu-smi-hang", "hccn-hang")
# A tool under a hang fault blocks this long: far past any caller's timeout, short of a leak that outlives a day.
HANG_SECONDS = 86400

# Error codes shown by `npu-smi info -t health` for an unhealthy chip. No real unhealthy sample exists; Warning's
# code/information follow the public fixture quoted in the reference, the others are plausible Ascend-style codes.
HEALTH_ERRORS: dict[str, tuple[str, str]] = {
    "Warning": ("80E01801", "node type=SOC, sensor type=Temperature"),
    "Alarm": ("80CB8009", "node type=HBM, sensor type=Memory"),
    "Critical": ("80E18402", "node type=AICORE, sensor type=Heartbeat"),
}
# A foreign process holding HBM (hbm-busy) shows with this pid base (+ logic id) and name.
FOREIGN_PID_BASE = 1067983
FOREIGN_NAME = "python3"

_DAVINCI_RE = re.compile(r"^davinci(\d+)$")
_VERSION_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.\-_]*$")

# Registrations held by this process. Keeping a reference keeps the fd (and so the lock) open for the life of the
# process even when the caller drops the object returned by register_process().
_HELD: list[Registration] = []


class FaultError(ValueError):
    """A fault request that the twin refuses (unknown kind, bad device or value)."""


# ---------------------------------------------------------------------------------------------------------------
# State access
# ---------------------------------------------------------------------------------------------------------------


def state_dir() -> Path:
    return Path(os.environ.get("ATLAS_TWIN_STATE_DIR") or DEFAULT_STATE_DIR)


def procs_dir() -> Path:
    """Where this process registers its NPU use: a path of its own filesystem (absolute)."""
    return Path(os.environ.get("ATLAS_TWIN_PROCS_DIR") or DEFAULT_PROCS_DIR)


def load_node() -> dict[str, Any]:
    """Read node.json; FileNotFoundError means the "driver" is not installed in this node."""
    with open(state_dir() / NODE_FILE, encoding="utf-8") as handle:
        return json.load(handle)


@contextmanager
def state_lock() -> Iterator[None]:
    """Serialise writers of node.json (atlas-twin runs may overlap with each other)."""
    directory = state_dir()
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / LOCK_FILE, "a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def save_node(node: dict[str, Any]) -> None:
    """Replace node.json atomically so concurrent readers never see a half-written file."""
    directory = state_dir()
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{NODE_FILE}.{os.getpid()}.tmp"
    tmp.write_text(dump_node(node), encoding="utf-8")
    os.chmod(tmp, 0o644)
    os.replace(tmp, directory / NODE_FILE)


def dump_node(node: dict[str, Any]) -> str:
    return json.dumps(node, indent=2, sort_keys=True) + "\n"


# ---------------------------------------------------------------------------------------------------------------
# Faults
# ---------------------------------------------------------------------------------------------------------------


def faults(node: dict[str, Any] | None = None, kind: str | None = None) -> list[dict[str, Any]]:
    node = load_node() if node is None else node
    return [dict(f) for f in node.get("faults", []) if kind is None or f.get("kind") == kind]


def device_fault(node: dict[str, Any], kind: str, logic_id: int) -> dict[str, Any] | None:
    for fault in node.get("faults", []):
        if fault.get("kind") == kind and fault.get("device") == logic_id:
            return fault
    return None


def apply_fault(node: dict[str, Any], kind: str, device: int | str | None = None, value: Any = None) -> dict[str, Any]:
    """Validate and record a fault in `node` (in place; also returned).

    A fault of the same kind on the same device (or node) replaces the previous one, so re-applying changes a value.
    """
    if kind not in FAULT_KINDS:
        raise FaultError(f"unknown fault kind {kind!r}; expected one of: {', '.join(FAULT_KINDS)}")
    dev = _check_device(node, kind, device)
    val = _check_value(node, kind, dev, value)
    kept = [f for f in node.get("faults", []) if not (f.get("kind") == kind and f.get("device") == dev)]
    kept.append({"kind": kind, "device": dev, "value": val})
    node["faults"] = kept
    return node


def clear_faults(node: dict[str, Any]) -> dict[str, Any]:
    node["faults"] = []
    return node


def _check_device(node: dict[str, Any], kind: str, device: int | str | None) -> int | None:
    if kind in NODE_FAULTS:
        if device is not None:
            raise FaultError(f"fault {kind!r} applies to the whole node; do not give a device")
        return None
    if device is None:
        raise FaultError(f"fault {kind!r} needs a device (logic id 0..{len(node['devices']) - 1})")
    try:
        dev = int(device)
    except (TypeError, ValueError):
        raise FaultError(f"device must be an integer logic id, got {device!r}") from None
    if not 0 <= dev < len(node["devices"]):
        raise FaultError(f"device {dev} does not exist on this node (logic ids 0..{len(node['devices']) - 1})")
    return dev


def _check_value(node: dict[str, Any], kind: str, dev: int | None, value: Any) -> Any:
    checkers = {
        "npu-unhealthy": _value_health,
        "hbm-busy": _value_hbm,
        "driver-version": _value_version,
        "net-health": _value_net_health,
        "slow-load": _value_seconds,
    }
    if kind in checkers:
        return checkers[kind](node, dev, value)
    if kind in _VALUELESS:
        if value is not None:
            raise FaultError(f"fault {kind!r} takes no value")
        return None
    # image-missing, weights-missing, weights-corrupt, container-crash: acted on elsewhere; an optional note is kept.
    if value is not None and not isinstance(value, (str, int, float)):
        raise FaultError(f"fault {kind!r} value must be a string or number")
    return value


def _pick(value: Any, allowed: tuple[str, ...], kind: str) -> str:
    for item in allowed:
        if isinstance(value, str) and value.lower() == item.lower():
            return item
    raise FaultError(f"fault {kind!r} needs a value in {', '.join(allowed)}, got {value!r}")


def _value_health(node: dict[str, Any], dev: int | None, value: Any) -> str:
    return _pick(value, HEALTH_LEVELS, "npu-unhealthy")


def _value_net_health(node: dict[str, Any], dev: int | None, value: Any) -> str:
    return _pick(value, NET_HEALTH_VALUES, "net-health")


def _value_hbm(node: dict[str, Any], dev: int | None, value: Any) -> int:
    try:
        mb = int(str(value))
    except ValueError:
        raise FaultError(f"fault 'hbm-busy' needs a value in MB (integer), got {value!r}") from None
    total = node["devices"][dev]["hbm_total_mb"] if dev is not None else 0
    if not 0 < mb <= total:
        raise FaultError(f"fault 'hbm-busy' value must be 1..{total} MB for device {dev}, got {mb}")
    return mb


def _value_version(node: dict[str, Any], dev: int | None, value: Any) -> str:
    if not isinstance(value, str) or not _VERSION_RE.match(value):
        raise FaultError(f"fault 'driver-version' needs a version string such as 24.1.rc2, got {value!r}")
    return value


def _value_seconds(node: dict[str, Any], dev: int | None, value: Any) -> float:
    try:
        seconds = float(str(value))
    except ValueError:
        raise FaultError(f"fault 'slow-load' needs a value in seconds, got {value!r}") from None
    if not 0 < seconds < 86400:
        raise FaultError(f"fault 'slow-load' value must be between 0 and 86400 seconds, got {seconds}")
    return seconds


# ---------------------------------------------------------------------------------------------------------------
# Effective view
# ---------------------------------------------------------------------------------------------------------------


def driver_version(node: dict[str, Any]) -> str:
    """Driver version after a driver-version fault (npu-smi, version.info and the table header all follow it)."""
    override = faults(node, "driver-version")
    return override[-1]["value"] if override else node["driver_version"]


def npu_smi_version(node: dict[str, Any]) -> str:
    override = faults(node, "driver-version")
    return override[-1]["value"] if override else node["npu_smi_version"]


def hbm_busy_mb(node: dict[str, Any], logic_id: int) -> int:
    fault = device_fault(node, "hbm-busy", logic_id)
    return int(fault["value"]) if fault else 0


def device_view(node: dict[str, Any] | None = None, procs: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Per-device state after faults and running processes; one dict per chip (logic id order)."""
    node = load_node() if node is None else node
    procs = active_processes() if procs is None else procs
    return [_view_one(node, dev, procs) for dev in node["devices"]]


def _view_one(node: dict[str, Any], dev: dict[str, Any], procs: list[dict[str, Any]]) -> dict[str, Any]:
    lid = dev["logic_id"]
    unhealthy = device_fault(node, "npu-unhealthy", lid)
    health = unhealthy["value"] if unhealthy else "OK"
    used = dev["hbm_idle_mb"] + hbm_busy_mb(node, lid)
    used += sum(int(p["hbm_mb_per_device"]) for p in procs if lid in p["devices"])
    link = "DOWN" if device_fault(node, "link-down", lid) else "UP"
    no_ip = device_fault(node, "no-ip", lid) is not None
    view = {
        key: dev[key]
        for key in ("logic_id", "npu_id", "chip_id", "phy_id", "name", "bus_id", "power_w", "temp_c", "hbm_total_mb")
    }
    view.update(
        present=device_fault(node, "device-missing", lid) is None,
        health=health,
        error_code=HEALTH_ERRORS[health][0] if unhealthy else None,
        hbm_used_mb=min(used, dev["hbm_total_mb"]),
        link=link,
        net_health=_net_health(node, lid, link, no_ip),
        ip=None if no_ip else dev["ip"],
        netmask=None if no_ip else dev["netmask"],
        gateway=dev["gateway"],
        netdetect=dev["netdetect"],
        iface=dev["iface"],
        lldp_ifname=dev["lldp_ifname"],
    )
    return view


def _net_health(node: dict[str, Any], lid: int, link: str, no_ip: bool) -> str:
    # An explicit net-health fault wins; a down link fails detection (as after `hccn_tool -link -s down`);
    # without an address no detection runs, which the real tool reports as Init.
    fault = device_fault(node, "net-health", lid)
    if fault:
        return fault["value"]
    if link == "DOWN":
        return "Fault"
    return "Init" if no_ip else "Success"


def chip_processes(
    node: dict[str, Any], logic_id: int, procs: list[dict[str, Any]] | None = None
) -> list[tuple[int, str, int]]:
    """(pid as seen from here, name, HBM MB) of every process holding HBM on one chip, as npu-smi lists them:
    the foreign process of an hbm-busy fault first, then the live registrations, oldest first."""
    procs = active_processes() if procs is None else procs
    found: list[tuple[int, str, int]] = []
    busy = hbm_busy_mb(node, logic_id)
    if busy:
        found.append((FOREIGN_PID_BASE + logic_id, FOREIGN_NAME, busy))
    for proc in procs:
        if logic_id in proc["devices"]:
            found.append((resolve_pid(proc), str(proc.get("name", "")), int(proc["hbm_mb_per_device"])))
    return found


def visible_devices() -> list[int]:
    """Logic ids of /dev/davinciN in this mount namespace (a container sees only its --device nodes)."""
    dev_dir = Path(os.environ.get("ATLAS_TWIN_DEV_DIR") or "/dev")
    try:
        names = os.listdir(dev_dir)
    except OSError:
        return []
    return sorted(int(m.group(1)) for m in map(_DAVINCI_RE.match, names) if m)


def manager_present() -> bool:
    """The real tools talk to the driver through /dev/davinci_manager; without it they cannot start."""
    dev_dir = Path(os.environ.get("ATLAS_TWIN_DEV_DIR") or "/dev")
    return (dev_dir / "davinci_manager").exists()


# ---------------------------------------------------------------------------------------------------------------
# Processes using NPUs
# ---------------------------------------------------------------------------------------------------------------


class Registration:
    """A live claim of HBM on some devices; alive while this object's file lock is held."""

    def __init__(self, reg_id: str, path: Path, handle: Any, record: dict[str, Any]) -> None:
        self.id = reg_id
        self.path = path
        self.record = record
        self._handle = handle

    def release(self) -> None:
        if self._handle is None:
            return
        with suppress(OSError):
            self.path.unlink()
        self._handle.close()
        self._handle = None
        if self in _HELD:
            _HELD.remove(self)

    def __enter__(self) -> Registration:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def register_process(devices: list[int], hbm_mb_per_device: int, name: str) -> Registration:
    """Record that this process uses `devices` with `hbm_mb_per_device` MB each; shown by npu-smi until exit."""
    node = load_node()
    known = {d["logic_id"] for d in node["devices"]}
    missing = {f["device"] for f in faults(node, "device-missing")}
    bad = [d for d in devices if d not in known or d in missing]
    if bad or not devices:
        raise ValueError(f"cannot register on devices {devices}: not present on this node: {bad}")
    if int(hbm_mb_per_device) < 0:
        raise ValueError("hbm_mb_per_device must be >= 0")
    record = _process_record(devices, int(hbm_mb_per_device), name)
    return _write_registration(record)


def _process_record(devices: list[int], hbm: int, name: str) -> dict[str, Any]:
    return {
        "id": uuid.uuid4().hex[:16],
        "pid": os.getpid(),
        "pidns": _read_link("/proc/self/ns/pid"),
        "cmdline": _self_cmdline(),
        "name": name,
        "devices": sorted(int(d) for d in devices),
        "hbm_mb_per_device": hbm,
        "started": time.time(),
    }


def _write_registration(record: dict[str, Any]) -> Registration:
    procs = procs_dir()
    procs.mkdir(parents=True, exist_ok=True)
    # Lock the file before it gets its visible name, so no reader can take it for a stale leftover.
    tmp = procs / f".{record['id']}.tmp"
    handle = open(tmp, "w", encoding="utf-8")  # noqa: SIM115 - must stay open: the lock lives as long as the fd
    fcntl.flock(handle, fcntl.LOCK_EX)
    handle.write(json.dumps(record))
    handle.flush()
    os.chmod(tmp, 0o644)
    final = procs / f"{record['id']}.json"
    os.replace(tmp, final)
    registration = Registration(record["id"], final, handle, record)
    _HELD.append(registration)
    return registration


def active_processes(proc_root: str = "/proc") -> list[dict[str, Any]]:
    """Registrations whose owner still holds the lock, in every mount namespace seen from here, oldest first;
    stale files are removed on the way."""
    found: dict[str, dict[str, Any]] = {}
    for procs in registration_dirs(proc_root):
        try:
            names = sorted(os.listdir(procs))
        except OSError:
            continue
        for record in (_live_record(procs / n) for n in names if _is_record(n)):
            if record is not None:
                found.setdefault(str(record.get("id")), record)
    return sorted(found.values(), key=lambda r: (r.get("started", 0), r.get("id", "")))


def registration_dirs(proc_root: str = "/proc") -> list[Path]:
    """The registration directory of this mount namespace, then the same path in each other one (a container's
    filesystem, reached through a process of it). Namespaces this process may not enter are left out."""
    own = procs_dir()
    dirs = [own]
    seen = {_read_link(f"{proc_root}/self/ns/mnt")}
    for pid in _proc_pids(proc_root):
        namespace = _read_link(f"{proc_root}/{pid}/ns/mnt")
        if namespace is None or namespace in seen:
            continue
        seen.add(namespace)
        dirs.append(Path(proc_root, str(pid), "root", *own.parts[1:]))
    return dirs


def _is_record(name: str) -> bool:
    return name.endswith(".json") and not name.startswith(".")


def _live_record(path: Path) -> dict[str, Any] | None:
    try:
        handle = open(path, encoding="utf-8")  # noqa: SIM115 - closed by the with below
    except OSError:
        return None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return _parse_record(handle.read())
        # We got the lock: its owner is gone. Remove the leftover while holding it.
        with suppress(OSError):
            path.unlink()
        return None


def _parse_record(text: str) -> dict[str, Any] | None:
    try:
        record = json.loads(text)
    except ValueError:
        return None
    return record if isinstance(record, dict) and "devices" in record else None


def resolve_pid(record: dict[str, Any], proc_root: str = "/proc") -> int:
    """Pid of a registered process as seen from here.

    A process in a container registers its container pid; on the host the same process has another pid. Find it
    via NSpid (last field = pid inside its own namespace), matching the pid namespace and the command line.
    """
    pid = int(record["pid"])
    if record.get("pidns") and record["pidns"] == _read_link(f"{proc_root}/self/ns/pid"):
        return pid
    for entry in _proc_pids(proc_root):
        if _matches(record, proc_root, entry):
            return entry
    return pid


def _proc_pids(proc_root: str) -> list[int]:
    try:
        return sorted(int(n) for n in os.listdir(proc_root) if n.isdigit())
    except OSError:
        return []


def _matches(record: dict[str, Any], proc_root: str, pid: int) -> bool:
    nspid = _nspid(f"{proc_root}/{pid}/status")
    if len(nspid) < 2 or nspid[-1] != int(record["pid"]):
        return False
    pidns = _read_link(f"{proc_root}/{pid}/ns/pid")
    if record.get("pidns") and pidns and pidns != record["pidns"]:
        return False
    return _cmdline(f"{proc_root}/{pid}/cmdline") == record.get("cmdline")


def _nspid(status_path: str) -> list[int]:
    try:
        with open(status_path, encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("NSpid:"):
                    return [int(x) for x in line.split()[1:]]
    except (OSError, ValueError):
        pass
    return []


def _cmdline(path: str) -> list[str] | None:
    try:
        raw = Path(path).read_bytes()
    except OSError:
        return None
    return [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]


def _self_cmdline() -> list[str]:
    return _cmdline("/proc/self/cmdline") or []


def _read_link(path: str) -> str | None:
    try:
        return os.readlink(path)
    except OSError:
        return None


# ---------------------------------------------------------------------------------------------------------------
# Files derived from the state (rendered identically on the host and by atlas-twin inside a node)
# ---------------------------------------------------------------------------------------------------------------


def render_hccn_conf(node: dict[str, Any]) -> str:
    """/etc/hccn.conf as the real tool keeps it; a device without an address (no-ip) has no address/netmask keys."""
    lines: list[str] = []
    for dev in device_view(node, procs=[]):
        lid = dev["logic_id"]
        if dev["ip"] is not None:
            lines += [f"address_{lid}={dev['ip']}", f"netmask_{lid}={dev['netmask']}"]
        lines += [
            f"netdetect_{lid}={dev['netdetect']}",
            f"gateway_{lid}={dev['gateway']}",
            f"send_arp_status_{lid}=1",
            f"tls_enable_{lid}=0",
        ]
    return "\n".join(lines) + "\n"


def render_version_info(node: dict[str, Any]) -> str:
    """Driver version.info. Only `Version=` is relied upon; the other keys mimic a 24.x driver package."""
    version = driver_version(node)
    return (
        f"Version={version}\n"
        "ascendhal_version=7.35.23\n"
        "aicpu_version=1.0\n"
        "tdt_version=1.0\n"
        "log_version=1.0\n"
        "prof_version=2.0\n"
        "dvppkernels_version=1.1\n"
        "tsfw_version=1.0\n"
        f"Innerversion={node.get('driver_innerversion', 'V100R001C19SPC003B220')}\n"
        "compatible_version=[V100R001C15],[V100R001C18],[V100R001C19],[V100R001C20],[V100R001C21],[V100R001C23]\n"
        "compatible_version_fw=[7.0.0,7.7.99]\n"
        f"package_version={version}\n"
    )


def render_install_info() -> str:
    return (
        "UserName=HwHiAiUser\n"
        "UserGroup=HwHiAiUser\n"
        "Firmware_Install_Type=full\n"
        "Firmware_Install_Path_Param=/usr/local/Ascend\n"
        "Driver_Install_Type=full\n"
        "Driver_Install_Path_Param=/usr/local/Ascend\n"
        "Driver_Install_For_All=no\n"
        "Driver_Install_Mode=normal\n"
        "Driver_Install_Status=complete\n"
    )
