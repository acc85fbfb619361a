"""/usr/local/metricConfiguration.json: which metric groups the exporter collects (MindCluster v7.3.0 format).

The image ships the file with every group ON, as the real image does. A group set to anything but "ON" is left out;
a missing file means the built-in defaults (all ON), with the real warning. Groups the twin does not simulate (ddr,
hccs, pcie, roce, sio, vnpu, optical) are accepted and logged but add nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

from .hwlog import RunLog

PRESET_CONFIG_PATH = "/usr/local/metricConfiguration.json"
DEFAULT_GROUPS = ("ddr", "hccs", "npu", "network", "pcie", "roce", "sio", "vnpu", "version", "optical", "hbm")
# The file's content in the v7.3.0 image (build/metricConfiguration.json).
DEFAULT_FILE = "[\n" + ",\n".join(f'  {{"metricsGroup": "{g}", "state": "ON"}}' for g in DEFAULT_GROUPS) + "\n]"

_LOAD_FAILED_CALLER = "config/metrics_config.go:99"
_UNMARSHAL_CALLER = "config/metrics_config.go:122"
_OFF_CALLER = "config/metrics_config.go:156"
_ON_CALLER = "config/metrics_config.go:159"


def load_groups(log: RunLog, path: str = PRESET_CONFIG_PATH) -> set[str]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError:
        log.warn(_LOAD_FAILED_CALLER, f"load config from file {path} failed, use default config")
        entries = [{"metricsGroup": g, "state": "ON"} for g in DEFAULT_GROUPS]
    else:
        try:
            entries = json.loads(text)
        except ValueError as exc:
            log.error(_UNMARSHAL_CALLER, f"unmarshal config byte failed: {exc}")
            entries = []
    groups: set[str] = set()
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        name = str(entry.get("metricsGroup", ""))
        if entry.get("state") != "ON":
            log.info(_OFF_CALLER, f"metricsGroup [{name}] is off")
            continue
        log.info(_ON_CALLER, f"metricsGroup [{name}] is on")
        groups.add(name)
    return groups
