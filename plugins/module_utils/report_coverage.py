# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Which recorded results still speak for a host, and what to say about a host the run did not complete.

Stages record a result only when they succeed, so a host that failed or was unreachable would otherwise keep the
results of an earlier run (a stale PASS) or, in a report limited to this run, vanish. The ``run_outcome`` callback
records such a host as ``{stage: run, recorded: <when it failed>, data: {outcome, play, task, started}}``; these
rules turn that, and a host with no record at all, into the problem the report shows.
"""

from __future__ import annotations

from typing import Any

RUN_STAGE = "run"


def drop_stale(stages: dict[str, str], run: dict[str, Any] | None) -> list[str]:
    """Stages (name -> recorded time) older than the start of the host's failed run: they are not this run's."""
    started = str(((run or {}).get("data") or {}).get("started") or "")
    if not started:
        return []
    return sorted(stage for stage, recorded in stages.items() if str(recorded or "") < started)


def run_problem(run: dict[str, Any] | None, stages: dict[str, str]) -> str | None:
    """The failed run's message, unless a stage recorded since shows a later run reached the host."""
    if not run:
        return None
    failed_at = str(run.get("recorded") or "")
    if any(str(recorded or "") > failed_at for recorded in stages.values()):
        return None
    data = run.get("data") or {}
    outcome = data.get("outcome", "failed")
    where = f"in play '{data.get('play', '?')}' at task '{data.get('task', '?')}'"
    verb = "unreachable" if outcome == "unreachable" else "failed"
    return (f"{verb} {where} of {data.get('playbook') or 'the run'} ({failed_at}); its results of that run are "
            f"missing: see the run's output for {run.get('host', 'the host')}")


def missing_problem(since: str | None) -> str:
    """A host of the inventory with no result at all (in a report limited to a run: none from that run)."""
    scope = f" since {since}" if since else ""
    return (f"no result recorded{scope}: the run never reached this host (unreachable before its first stage, "
            "left out by --limit, or a play failed before it)")
