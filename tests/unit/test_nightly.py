"""make nightly decides drift from the second deploy's PLAY RECAP."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SPEC = importlib.util.spec_from_file_location("nightly", Path(__file__).resolve().parents[2] / "scripts/nightly.py")
nightly = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(nightly)

OUTPUT = """\
PLAY RECAP *********************************************************************
atlas-01                   : ok=10   changed=3    unreachable=0    failed=0    skipped=1    rescued=0    ignored=0

PLAY [Write the fleet report] **************************************************
PLAY RECAP *********************************************************************
atlas-01                   : ok=91   changed=0    unreachable=0    failed=0    skipped=12   rescued=0    ignored=0
atlas-02                   : ok=75   changed=2    unreachable=0    failed=1    skipped=10   rescued=0    ignored=0
localhost                  : ok=6    changed=0    unreachable=0    failed=0    skipped=1    rescued=0    ignored=0
"""


def test_only_the_last_recap_counts_and_every_host_is_read() -> None:
    counters = nightly.recap(OUTPUT)
    assert counters["atlas-01"] == {"ok": 91, "changed": 0, "unreachable": 0, "failed": 0}
    assert counters["atlas-02"]["changed"] == 2 and counters["atlas-02"]["failed"] == 1
    assert set(counters) == {"atlas-01", "atlas-02", "localhost"}
