# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Record, as the run goes, which hosts failed or were unreachable and where, for the fleet report."""

from __future__ import annotations

DOCUMENTATION = r"""
name: run_outcome
type: aggregate
short_description: Record each host that fails or is unreachable, with the play and task, for the fleet report
description:
  - When a host fails a task for good (not ignored, not inside a block whose C(rescue) may catch it) or becomes
    unreachable, writes C(<results_dir>/<host>/run.json) at once, in the shape of the stage records
    (keys C(host), C(stage) set to C(run), C(recorded), and C(data) with C(outcome), C(playbook), C(play),
    C(task), C(started)).
  - C(playbooks/report.yml), run at the end of the same playbook or later, then lists that host as failing with
    the reason instead of showing results an earlier run left (a stale PASS), and drops its results older than
    the failed run's start.
  - A host that fails is written once per run, at its first failure; hosts that complete write nothing.
  - A task that sets the variable C(atlas_run_outcome_skip) to true (the refusal of a run that finds the fleet lock
    held by another) is not recorded, as that run never touched the host.
version_added: 0.1.0
requirements:
  - enabled in configuration (C(callbacks_enabled), as this project's C(ansible.cfg) does, or
    E(ANSIBLE_CALLBACKS_ENABLED))
options:
  results_dir:
    description:
      - Directory of the stage records. By default the same as the C(atlas) role's C(atlas_reports_dir) default,
        C(reports/results) next to the playbook (its C(playbooks/) folder left out), or
        C(<atlas_reports_dir>/results) when C(atlas_reports_dir) is given as an extra variable.
    type: path
    env:
      - name: ATLAS_RESULTS_DIR
    ini:
      - section: callback_run_outcome
        key: results_dir
"""

EXAMPLES = r"""
# ansible.cfg
# [defaults]
# callbacks_enabled = atlas.vllm.run_outcome
#
# reports/results/atlas-02/run.json after atlas-02's sshd stopped answering:
# {"host": "atlas-02", "stage": "run", "recorded": "2026-12-04T02:10:31.5+00:00",
#  "data": {"outcome": "unreachable", "playbook": "deploy.yml", "play": "Preflight ...", "task": "Gathering Facts",
#           "started": "2026-12-04T02:09:58.1+00:00"}}
"""

import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
from datetime import datetime, timezone  # noqa: E402

from ansible.plugins.callback import CallbackBase  # noqa: E402

# The controller's own plays (reports, records) are not a fleet host.
CONTROLLER = "localhost"


def may_be_rescued(task) -> bool:
    """True when the task sits in the body of a block that has a rescue section (directly or through includes)."""
    child, parent = task, getattr(task, "_parent", None)
    while parent is not None:
        body = getattr(parent, "block", None)
        if getattr(parent, "rescue", None) and body and any(
                getattr(item, "_uuid", None) == getattr(child, "_uuid", None) for item in body):
            return True
        child, parent = parent, getattr(parent, "_parent", None)
    return False


def skipped_by_task(task) -> bool:
    """The task says its failure is no failure of the host (atlas_run_outcome_skip: true in its vars)."""
    value = (getattr(task, "vars", None) or {}).get("atlas_run_outcome_skip")
    return value is True or str(value).lower() in ("true", "yes", "1")


def default_results_dir(playbook_dir: str, reports_dir: str | None = None) -> str:
    """Where the stage records live, as the atlas role's atlas_reports_dir default computes it."""
    if reports_dir and "{{" not in reports_dir:
        return os.path.join(reports_dir, "results")
    return os.path.join(re.sub(r"/playbooks$", "", playbook_dir.rstrip("/")), "reports", "results")


def outcome_record(host: str, outcome: str, playbook: str, play: str, task: str, started: str,
                   recorded: str) -> dict:
    return {"host": host, "stage": "run", "recorded": recorded,
            "data": {"outcome": outcome, "playbook": playbook, "play": play, "task": task, "started": started}}


def write_record(results_dir: str, record: dict) -> str:
    """Write the record as the stage records are written: private directory and file, replaced whole."""
    directory = os.path.join(results_dir, record["host"])
    os.makedirs(directory, mode=0o700, exist_ok=True)
    path = os.path.join(directory, "run.json")
    partial = f"{path}.part"
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(record, handle, indent=4, sort_keys=True)
        handle.write("\n")
    os.replace(partial, path)
    return path


def _now() -> str:
    # timezone.utc, not datetime.UTC: controllers on Python 3.10 run this too.
    return datetime.now(timezone.utc).replace(tzinfo=None).isoformat()  # noqa: UP017


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "atlas.vllm.run_outcome"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._started = _now()
        self._playbook = ""
        self._playbook_dir = os.getcwd()
        self._play = ""
        self._reports_dir: str | None = None
        self._written: set[str] = set()

    def v2_playbook_on_start(self, playbook) -> None:
        self._started = _now()
        self._playbook = os.path.basename(getattr(playbook, "_file_name", "") or "")
        self._playbook_dir = getattr(playbook, "_basedir", None) or os.getcwd()
        self._written = set()

    def v2_playbook_on_play_start(self, play) -> None:
        self._play = play.get_name()
        manager = play.get_variable_manager()
        extra = getattr(manager, "extra_vars", None) or {}
        value = extra.get("atlas_reports_dir")
        self._reports_dir = str(value) if value else None

    def _results_dir(self) -> str:
        return self.get_option("results_dir") or default_results_dir(self._playbook_dir, self._reports_dir)

    def _record(self, result, outcome: str) -> None:
        host = result._host.get_name()
        if host == CONTROLLER or host in self._written:
            return
        self._written.add(host)
        record = outcome_record(host, outcome, self._playbook, self._play, result._task.get_name(), self._started,
                                _now())
        try:
            write_record(self._results_dir(), record)
        except OSError as exc:
            self._display.warning(f"atlas.vllm.run_outcome: could not record {host} as {outcome}: {exc}")

    def v2_runner_on_failed(self, result, ignore_errors: bool = False) -> None:
        if ignore_errors or may_be_rescued(result._task) or skipped_by_task(result._task):
            return
        self._record(result, "failed")

    def v2_runner_on_unreachable(self, result) -> None:
        self._record(result, "unreachable")
