"""Run a module's main() in-process as Ansible runs it: its real exit_json and fail_json (so no_log masking is
exercised), arguments through ansible-core's own test helper, the JSON it prints as the result."""

from __future__ import annotations

import json
import time
from types import ModuleType
from typing import Any

import pytest
from module_args import patch_module_args


def run_main(capsys: pytest.CaptureFixture[str], module: ModuleType,
             args: dict[str, Any]) -> tuple[bool, dict[str, Any], str, float]:
    """Returns (failed, result, raw output, seconds)."""
    capsys.readouterr()
    started = time.monotonic()
    with patch_module_args(args), pytest.raises(SystemExit):
        module.main()
    elapsed = time.monotonic() - started
    out = capsys.readouterr().out
    result = json.loads(out)
    return bool(result.get("failed")), result, out, elapsed
