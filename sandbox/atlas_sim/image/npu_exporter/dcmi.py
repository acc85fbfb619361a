"""The exporter's way to the NPUs: the driver library the container mounts from the host.

The real exporter looks for libdcmi.so in every directory of LD_LIBRARY_PATH, then in the ldconfig cache, loads it
and calls dcmi_init. In the twin, the node's driver directory carries atlas_twin.py where real nodes carry libdcmi.so
(/usr/local/Ascend/driver/lib64 is on the image's LD_LIBRARY_PATH), so the same lookup finds it when the container
mounts the driver, and fails with the real message when it does not.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from . import container_procs

LIBRARY = "atlas_twin.py"
# The image's ENV (build/Dockerfile): the driver's library directories and /usr/local/dcmi.
IMAGE_LD_LIBRARY_PATH = (
    "/usr/local/Ascend/driver/lib64/driver:/usr/local/Ascend/driver/lib64/common:/usr/local/Ascend/add-ons:"
    "/usr/local/Ascend/driver/lib64:/usr/local/dcmi"
)
# utils.GetDriverLibPath when no directory of LD_LIBRARY_PATH holds the library and `ldconfig --print-cache | grep`
# finds nothing either.
LIBRARY_NOT_FOUND = (
    "cannot found valid driver lib, fromEnv: lib path is invalid, [], fromLdCmd: can't find valid lib: EOF"
)
# The library loads but the driver answers nothing: no node state or no /dev/davinci_manager. The code is the one
# the twin's npu-smi reports for the same condition.
DCMI_INIT_FAILED = "dcmi init failed, error code: -8005"
LIBRARY_LOAD_FAILED = "dcmi lib load failed, error code: -99999"
# dcmi_get_card_list with no card (DcGetCardList's own check), and without a driver answering.
NO_CARD = "get error card quantity: 0"
CARD_LIST_FAILED = "get card list failed, error code: -8005"


class DcmiError(Exception):
    """dcmi could not start; str() is the error devmanager logs."""


class LibraryMissing(DcmiError):
    """No driver library anywhere: the ldconfig fallback ran, and its grep found nothing."""


@dataclass(frozen=True)
class Chip:
    """One entry of the exporter's chip list (HuaWeiAIChip): what its labels are made of."""

    logic_id: int
    phy_id: int
    card_id: int
    model_name: str
    vdie_id: str
    pcie_bus_info: str


@dataclass(frozen=True)
class Reading:
    """One collection of one chip; None marks a value the driver did not return (the metric is then left out)."""

    chip: Chip
    timestamp_ms: int
    healthy: bool
    error_codes: tuple[int, ...]
    temperature_c: int | None
    power_tenths_w: int | None
    utilization: int | None
    hbm_total_mb: int | None
    hbm_used_mb: int | None
    link_up: bool | None
    network_ok: bool | None
    processes: tuple[tuple[int, int], ...]  # (pid, MB)


def find_library(ld_library_path: str) -> Path:
    for directory in ld_library_path.split(":"):
        candidate = Path(directory or ".") / LIBRARY
        if candidate.is_file():
            return candidate
    raise LibraryMissing(LIBRARY_NOT_FOUND)


def load_library(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("atlas_twin", path)
    if spec is None or spec.loader is None:
        raise DcmiError(LIBRARY_LOAD_FAILED)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception:  # any failure to load is dlopen failing
        raise DcmiError(LIBRARY_LOAD_FAILED) from None
    sys.modules.setdefault("atlas_twin", module)
    return module


def vdie_id(hostname: str, bus_id: str) -> str:
    """A die id in the driver's layout (five groups of eight hex digits), fixed per node and chip.

    The node state has no die ids; this one is derived from the host name and the PCIe address so it stays the same
    across restarts and differs between chips, as real ones do."""
    digest = hashlib.sha256(f"{hostname}/{bus_id}".encode()).hexdigest().upper()
    return "-".join(digest[i : i + 8] for i in range(0, 40, 8))


class Driver:
    def __init__(self, twin: ModuleType, docker_socket: str | None = None) -> None:
        self.twin = twin
        # Set in a container: the other containers' registrations are read through it (container_procs).
        self.docker_socket = docker_socket

    @classmethod
    def open(cls, environ: dict[str, str] | None = None, docker_socket: str | None = None) -> Driver:
        """Find, load and initialise the library, as devmanager does before anything else."""
        environ = os.environ if environ is None else environ
        # An unset LD_LIBRARY_PATH searches only the working directory, as Go's path.Join("", name) does.
        driver = cls(load_library(find_library(environ.get("LD_LIBRARY_PATH", ""))), docker_socket)
        try:
            driver.twin.load_node()
        except (OSError, ValueError):
            raise DcmiError(DCMI_INIT_FAILED) from None
        if not driver.twin.manager_present():
            raise DcmiError(DCMI_INIT_FAILED)
        return driver

    def dcmi_version(self) -> str:
        return str(self.twin.driver_version(self.twin.load_node()))

    def chips(self) -> list[Chip]:
        """The card list as dcmi reports it now: chips that are present and whose device node this container has.
        Raises DcmiError where dcmi_get_card_list fails: no driver answering, or no card at all."""
        try:
            node = self.twin.load_node()
        except (OSError, ValueError):
            raise DcmiError(CARD_LIST_FAILED) from None
        visible = set(self.twin.visible_devices()) if self.twin.manager_present() else set()
        hostname = str(node.get("hostname", ""))
        chips = [
            Chip(
                logic_id=view["logic_id"],
                phy_id=view["phy_id"],
                card_id=view["npu_id"],
                model_name=f"{view['name']}-Ascend-V1",
                vdie_id=vdie_id(hostname, view["bus_id"]),
                pcie_bus_info=view["bus_id"],
            )
            for view in self.twin.device_view(node, procs=[])
            if view["present"] and view["logic_id"] in visible
        ]
        if not chips:
            raise DcmiError(NO_CARD)
        return chips

    def read(self, chips: list[Chip], timestamp_ms: int) -> list[Reading]:
        """One collection pass over the chip list. A chip that has gone since the list was built answers no query
        but the health one, which then reads unhealthy (the real collectors treat errors that way)."""
        try:
            node = self.twin.load_node()
        except (OSError, ValueError):
            return [_unreadable(chip, timestamp_ms) for chip in chips]
        procs = self.twin.active_processes()
        if self.docker_socket:
            procs = container_procs.merge(
                procs, container_procs.container_registrations(str(self.twin.procs_dir()), self.docker_socket))
        views = {view["logic_id"]: view for view in self.twin.device_view(node, procs)}
        visible = set(self.twin.visible_devices()) if self.twin.manager_present() else set()
        readings = []
        for chip in chips:
            view = views.get(chip.logic_id)
            if view is None or not view["present"] or chip.logic_id not in visible:
                readings.append(_unreadable(chip, timestamp_ms))
            else:
                readings.append(self._reading(node, chip, view, procs, timestamp_ms))
        return readings

    def _reading(self, node: dict[str, Any], chip: Chip, view: dict[str, Any], procs: list[dict[str, Any]],
                 timestamp_ms: int) -> Reading:
        processes = self.twin.chip_processes(node, chip.logic_id, procs)
        return Reading(
            chip=chip,
            timestamp_ms=timestamp_ms,
            healthy=view["health"] == "OK",
            error_codes=(int(view["error_code"], 16),) if view["error_code"] else (),
            temperature_c=int(view["temp_c"]),
            # dcmi returns tenths of a watt; a chip without a power reading (second A3 chip) returns an error.
            power_tenths_w=None if view["power_w"] is None else round(float(view["power_w"]) * 10),
            # The twin has no AI Core load; npu-smi shows 0 % as well.
            utilization=0,
            hbm_total_mb=int(view["hbm_total_mb"]),
            hbm_used_mb=int(view["hbm_used_mb"]),
            link_up=view["link"] == "UP",
            # dcmi's network health: Success (0) and Init (6) count as healthy, every other state does not.
            network_ok=view["net_health"] in ("Success", "Init"),
            processes=tuple((int(pid), int(mb)) for pid, _name, mb in processes),
        )


def _unreadable(chip: Chip, timestamp_ms: int) -> Reading:
    return Reading(chip, timestamp_ms, False, (), None, None, None, None, None, None, None, ())
