# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Write the play recap's per-host counters as JSON, for programs that judge a run (make nightly)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: host_stats
type: aggregate
short_description: Write each host's run counters (ok, changed, failed, ...) to a JSON file
description:
  - At the end of a playbook run, writes one JSON object to O(path) that maps every host of the run to the
    counters the play recap prints for it (C(ok), C(changed), C(unreachable), C(failed), C(skipped),
    C(rescued), C(ignored)).
  - A program deciding on a run (the nightly drift check) reads these numbers instead of parsing the recap text
    of the stdout callback, whose layout is for people.
  - Does nothing when O(path) is not set.
version_added: 0.1.0
requirements:
  - enabled in configuration (C(callbacks_enabled) or E(ANSIBLE_CALLBACKS_ENABLED))
options:
  path:
    description: File to write; its directory must exist. Rewritten at the end of each run.
    type: path
    env:
      - name: ATLAS_HOST_STATS_FILE
    ini:
      - section: callback_host_stats
        key: path
"""

EXAMPLES = r"""
# ATLAS_HOST_STATS_FILE=/tmp/stats.json ANSIBLE_CALLBACKS_ENABLED=atlas.vllm.host_stats ansible-playbook deploy.yml
# /tmp/stats.json: {"atlas-01": {"ok": 91, "changed": 0, "unreachable": 0, "failed": 0, ...}, ...}
"""

import json  # noqa: E402
import os  # noqa: E402

from ansible.plugins.callback import CallbackBase  # noqa: E402

# The recap's names, and the key AggregateStats.summarize() gives each.
COUNTERS = {"ok": "ok", "changed": "changed", "unreachable": "unreachable", "failed": "failures",
            "skipped": "skipped", "rescued": "rescued", "ignored": "ignored"}


def host_counters(summaries: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """Every host with the recap's counters (under the recap's names), absent ones as 0."""
    return {host: {name: int(summary.get(key, 0)) for name, key in COUNTERS.items()}
            for host, summary in sorted(summaries.items())}


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "atlas.vllm.host_stats"
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_stats(self, stats) -> None:
        path = self.get_option("path")
        if not path:
            return
        counters = host_counters({host: stats.summarize(host) for host in stats.processed})
        # Written whole, then renamed: a reader never sees half a file.
        partial = f"{path}.part"
        with open(partial, "w", encoding="utf-8") as handle:
            json.dump(counters, handle, indent=1, sort_keys=True)
            handle.write("\n")
        os.replace(partial, path)
