# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Find the AISBench evaluation an interrupted run left on a node.

``{{ ps.stdout_lines | atlas.vllm.aisbench_job_pids(work_dir) }}`` -> ``['4101', '4105', '4107', '4110']``
``{{ ps.stdout_lines | atlas.vllm.aisbench_job_ids(work_dir) }}``  -> ``['j48213077125']``

``ps_lines`` is the output of ``ps -eo pid=,sid=,args=``. An evaluation is the ``ais_bench`` command whose
``--work-dir`` is ``work_dir`` or a directory under it (each instance has its own). Ansible runs it under an
async job in a session of its own, with AISBench's task processes beside it: every process of that session is
returned, so that stopping them ends the whole job and nothing else. The job's id is on the command line of its
``async_wrapper`` (``<python> .../AnsiballZ_async_wrapper.py <id> <limit> <module> <args>``); the record the job
leaves on the node is ``<async dir>/<id>.<pid>``.
"""

from __future__ import annotations

import shlex
from typing import Any

from ansible.errors import AnsibleFilterError


def _parse(line: str) -> tuple[str, str, str] | None:
    parts = line.split(None, 2)
    if len(parts) < 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    return parts[0], parts[1], parts[2]


def _under(path: str, work_dir: str) -> bool:
    return path == work_dir or path.startswith(work_dir + "/")


def _evaluates_into(args: str, work_dir: str) -> bool:
    try:
        argv = shlex.split(args)
    except ValueError:
        argv = args.split()
    # `ais_bench ...`, `<venv>/bin/python3 <venv>/bin/ais_bench ...` or `python3 -m ais_bench ...`.
    if not any(arg == "ais_bench" or arg.endswith("/ais_bench") for arg in argv[:3]):
        return False
    pairs = zip(argv, argv[1:], strict=False)
    return (any(flag in ("--work-dir", "-w") and _under(value, work_dir) for flag, value in pairs)
            or any(arg.startswith("--work-dir=") and _under(arg.split("=", 1)[1], work_dir) for arg in argv))


def _job_processes(ps_lines: list[str], work_dir: Any) -> list[tuple[str, str, str]]:
    """Every process of each session that holds an evaluation into ``work_dir``."""
    work_dir = str(work_dir or "").rstrip("/")
    if not work_dir.startswith("/"):
        raise AnsibleFilterError(f"the AISBench job filters need the absolute work directory, got {work_dir!r}")
    processes = [p for p in map(_parse, ps_lines or []) if p is not None]
    # Session 0 holds kernel threads; a process never shares it with an evaluation.
    sessions = {sid for _pid, sid, args in processes if sid != "0" and _evaluates_into(args, work_dir)}
    return [p for p in processes if p[1] in sessions]


def aisbench_job_pids(ps_lines: list[str], work_dir: Any) -> list[str]:
    return [pid for pid, _sid, _args in _job_processes(ps_lines, work_dir)]


def aisbench_job_ids(ps_lines: list[str], work_dir: Any) -> list[str]:
    ids = []
    for _pid, _sid, args in _job_processes(ps_lines, work_dir):
        argv = args.split()
        for path, job in zip(argv, argv[1:], strict=False):
            if path.endswith("async_wrapper.py") and job not in ids:
                ids.append(job)
    return ids


class FilterModule:
    def filters(self) -> dict:
        return {"aisbench_job_pids": aisbench_job_pids, "aisbench_job_ids": aisbench_job_ids}
