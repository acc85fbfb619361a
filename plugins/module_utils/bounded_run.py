# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Run a node tool with a deadline.

npu-smi and hccn_tool can hang on a device in a bad state (a known field failure); AnsibleModule.run_command has
no timeout, so one wedged node would stall the whole play with no message. A command that outlives its deadline is
killed together with everything it started (it runs in a session of its own) and reported as timed out.
"""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    rc: int
    stdout: str
    stderr: str
    timed_out: bool = False

    @property
    def output(self) -> str:
        """stdout and stderr, stripped and joined, as failure messages quote them."""
        return "\n".join(part for part in (self.stdout.strip(), self.stderr.strip()) if part)


def timeout_message(argv: list[str], timeout: float) -> str:
    return f"'{' '.join(argv)}' did not answer in {timeout:g} s and was stopped"


def failure_message(argv: list[str], outcome: Outcome) -> str:
    """``'<argv>' failed with rc=N: <output>`` for a command that exited non-zero."""
    return f"'{' '.join(argv)}' failed with rc={outcome.rc}: {outcome.output or '(no output)'}"


def run_bounded(argv: list[str], timeout: float, environ_update: dict[str, str] | None = None) -> Outcome:
    """Run argv; past ``timeout`` seconds kill its process group and return ``timed_out=True`` (rc -9).

    A missing or unexecutable binary gives rc 127 and the OS error as stderr, as a shell would.
    """
    env = {**os.environ, **(environ_update or {})}
    try:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   env=env, start_new_session=True)
    except OSError as exc:
        return Outcome(127, "", str(exc))
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        # The group is the one this call created: the tool and anything it spawned, nothing else.
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        stdout, stderr = process.communicate()
        return Outcome(-9, _text(stdout), _text(stderr), timed_out=True)
    return Outcome(process.returncode, _text(stdout), _text(stderr))


def _text(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", errors="replace")
