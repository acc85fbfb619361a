"""Run a module's main() against recorded command output.

A scenario file in tests/unit/fixtures/modules maps each exact argv to the rc/stdout/stderr it produced.
``AnsibleModule.run_command`` and ``get_bin_path`` are replaced so nothing is executed, every argv the module
runs is recorded, and an argv the scenario does not know fails the test.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.module_utils import basic
from ansible_collections.atlas.vllm.plugins.module_utils import bounded_run
from module_args import patch_module_args

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"



class ModuleExit(Exception):
    """Raised instead of exit_json/fail_json so the test gets the result instead of SystemExit."""

    def __init__(self, failed: bool, result: dict[str, Any]) -> None:
        super().__init__(result.get("msg", ""))
        self.failed = failed
        self.result = result


@dataclass
class Outcome:
    failed: bool
    result: dict[str, Any]
    calls: list[list[str]]
    kwargs: list[dict[str, Any]] = field(default_factory=list)


def read_scenario(name: str) -> dict[str, Any]:
    scenario = yaml.safe_load((FIXTURES / "modules" / name).read_text(encoding="utf-8"))
    for command in scenario["commands"]:
        if "stdout_file" in command:
            command["stdout"] = (FIXTURES / command.pop("stdout_file")).read_text(encoding="utf-8")
        command.setdefault("rc", 0)
        command.setdefault("stdout", "")
        command.setdefault("stderr", "")
    return scenario


@pytest.fixture
def load_scenario():
    """Return load(name) -> scenario dict with stdout files resolved and rc/stdout/stderr defaulted."""
    return read_scenario


@pytest.fixture
def run_module(monkeypatch):
    """Return run(module, args, scenario) -> Outcome."""

    def run(module: Any, args: dict[str, Any], scenario: dict[str, Any]) -> Outcome:
        replies = {tuple(command["argv"]): command for command in scenario["commands"]}
        bin_paths = scenario.get("bin_paths", {})
        calls: list[list[str]] = []
        kwargs_seen: list[dict[str, Any]] = []
        lock = threading.Lock()

        def fake_run_command(self, args, **kwargs):
            assert isinstance(args, list), f"run_command must get an argv list, got {args!r}"
            with lock:
                calls.append(list(args))
                kwargs_seen.append(kwargs)
            reply = replies.get(tuple(args))
            if reply is None:
                raise AssertionError(f"unexpected command {args!r}; the scenario knows {sorted(replies)!r}")
            return reply["rc"], reply["stdout"], reply["stderr"]

        def fake_run_bounded(argv, timeout, environ_update=None):
            # Modules that bound their commands (module_utils/bounded_run.py) are served from the same scenario;
            # a reply with `timed_out: true` stands for a tool that never answered.
            assert isinstance(argv, list), f"run_bounded must get an argv list, got {argv!r}"
            with lock:
                calls.append(list(argv))
                kwargs_seen.append({"environ_update": environ_update, "timeout": timeout})
            reply = replies.get(tuple(argv))
            if reply is None:
                raise AssertionError(f"unexpected command {argv!r}; the scenario knows {sorted(replies)!r}")
            if reply.get("timed_out"):
                return bounded_run.Outcome(-9, "", "", timed_out=True)
            return bounded_run.Outcome(reply["rc"], reply["stdout"], reply["stderr"])

        def fake_get_bin_path(self, arg, required=False, opt_dirs=None):
            return bin_paths.get(arg)

        def fake_exit_json(self, **result):
            raise ModuleExit(False, result)

        def fake_fail_json(self, msg, **result):
            raise ModuleExit(True, dict(result, msg=msg, failed=True))

        monkeypatch.setattr(basic.AnsibleModule, "run_command", fake_run_command)
        monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", fake_get_bin_path)
        monkeypatch.setattr(bounded_run, "run_bounded", fake_run_bounded)
        monkeypatch.setattr(basic.AnsibleModule, "exit_json", fake_exit_json)
        monkeypatch.setattr(basic.AnsibleModule, "fail_json", fake_fail_json)
        with patch_module_args(args), pytest.raises(ModuleExit) as exited:
            module.main()
        return Outcome(exited.value.failed, exited.value.result, calls, kwargs_seen)

    return run
