# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Controller side of ``atlas.vllm.vllm_health``: the deadline, progress lines and the container baseline.

The module waits at most a few seconds per run (``wait_seconds``) and returns as soon as every instance is ready
or one has failed; this plugin calls it again until the deadline. Between runs it prints one progress line per
host, so a long model load is never a silent wait, and it keeps the container baseline of the first run, so a
restart during the wait counts as a crash even with ``restart: always``. Each host runs this in its own worker
process; nothing here is shared between hosts, so all hosts wait at the same time (up to ``forks``).
"""

from __future__ import annotations

import time
from typing import Any

from ansible import constants as C
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase
from ansible_collections.atlas.vllm.plugins.module_utils.vllm_health_inputs import ACTION_ARGUMENT_SPEC
from ansible_collections.atlas.vllm.plugins.module_utils.vllm_probe import short_label

DEFAULT_MODULE = "atlas.vllm.vllm_health"

# Module runs may not be shorter than this: each costs a connection and a Python start on the host.
MIN_RUN_SECONDS = 1.0
CHECK_MODE_MESSAGE = (
    "check mode: health wait and probe skipped (the servers may not exist before a real run); "
    "set check_mode_skip: false to look anyway"
)


def split_args(args: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Task arguments → (action options, module arguments)."""
    own = {key: value for key, value in args.items() if key in ACTION_ARGUMENT_SPEC}
    rest = {key: value for key, value in args.items() if key not in ACTION_ARGUMENT_SPEC}
    return own, rest


def with_baselines(instances: list[dict[str, Any]], baselines: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Instances with the recorded baseline added wherever the task did not give one."""
    updated = []
    for instance in instances:
        if not isinstance(instance, dict):  # left for the module's argument check to name
            updated.append(instance)
            continue
        instance = dict(instance)
        name = instance.get("name")
        if instance.get("container") and not instance.get("container_baseline") and name in baselines:
            instance["container_baseline"] = baselines[name]
        updated.append(instance)
    return updated


def record_baselines(results: list[dict[str, Any]], baselines: dict[str, dict[str, Any]]) -> None:
    """Keep the first baseline seen per instance; later runs are compared with it."""
    for result in results:
        container = result.get("container") or {}
        if result.get("name") not in baselines and container.get("baseline"):
            baselines[result["name"]] = dict(container["baseline"])


def record_ready_times(results: list[dict[str, Any]], run_offset: float, ready_at: dict[str, float]) -> None:
    """Seconds from the task's first look until each instance was first seen ready (the host measures the part
    inside a module run, so connection overhead does not blur it)."""
    for result in results:
        if result.get("ready") and result.get("name") not in ready_at:
            ready_at[result["name"]] = round(run_offset + (result.get("ready_after_s") or 0.0), 1)
        result["time_to_ready_s"] = ready_at.get(result.get("name"))


def progress_line(host: str, results: list[dict[str, Any]], elapsed: float, timeout: float) -> str:
    """``atlas-02: waiting for vLLM: 1/2 ready; vllm-1 :8001 loading (42s of 600s)``.

    The line names what it waits for because, with ``display_skipped_hosts = false``, the default callback prints
    the task banner only with the first result, i.e. after these lines.
    """
    ready = sum(1 for result in results if result.get("ready"))
    waiting = ", ".join(
        f"{short_label(result.get('name', '?'), result.get('url', ''))} {result.get('state')}"
        for result in results
        if not result.get("ready")
    )
    line = f"{host}: waiting for vLLM: {ready}/{len(results)} ready"
    if waiting:
        line += f"; {waiting}"
    return f"{line} ({elapsed:.0f}s of {timeout:.0f}s)"


def deadline_message(host: str, results: list[dict[str, Any]], timeout: float) -> str:
    """Names host, instance, URL and the last state of every instance that did not become ready."""
    waiting = [result for result in results if not result.get("ready")]
    details = "; ".join(
        f"{result.get('name')} {result.get('url')} still {result.get('state')}: {result.get('detail')}"
        for result in waiting
    )
    return f"{host}: {len(waiting)}/{len(results)} not ready after {timeout:.0f}s: {details}"


def ready_message(results: list[dict[str, Any]], elapsed: float) -> str:
    text = f"{len(results)}/{len(results)} ready after {elapsed:.1f}s"
    probes = [result["probe"] for result in results if result.get("probe")]
    if probes:
        slowest = max(probe.get("latency_s") or 0.0 for probe in probes)
        text += f"; probe answered by {len(probes)} (slowest {slowest:.2f}s)"
    return text


def progress_goes_to_stderr() -> bool:
    """Progress lines go to stderr when the stdout callback writes JSON, so its output stays parseable."""
    try:
        name = C.config.get_config_value("DEFAULT_STDOUT_CALLBACK")
    except Exception:  # noqa: BLE001 - a config lookup problem must not stop the wait
        return False
    return "json" in str(name).lower()


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp  # unused since ansible-core 2.5
        own, module_args = split_args(dict(self._task.args))
        validation = ArgumentSpecValidator(ACTION_ARGUMENT_SPEC).validate(own)
        if validation.error_messages:
            result.update(failed=True, changed=False, msg="; ".join(validation.error_messages))
            return result
        options = validation.validated_parameters
        if options["timeout"] < 0 or options["progress_interval"] <= 0:
            result.update(failed=True, changed=False,
                          msg="timeout must not be negative and progress_interval must be greater than 0")
            return result
        if self._task.check_mode and options["check_mode_skip"]:
            # An empty list keeps later tasks that loop over the instances working in check mode.
            result.update(changed=False, skipped=True, skip_reason=CHECK_MODE_MESSAGE, msg=CHECK_MODE_MESSAGE,
                          instances=[])
            return result
        host = str(task_vars.get("inventory_hostname") or "host")
        try:
            result.update(self.wait(host, module_args, options, task_vars))
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def wait(self, host: str, module_args: dict[str, Any], options: dict[str, Any],
             task_vars: dict[str, Any]) -> dict[str, Any]:
        timeout = options["timeout"]
        interval = options["progress_interval"]
        module_name = self._task.resolved_action or DEFAULT_MODULE
        instances = list(module_args.get("instances") or [])
        baselines: dict[str, dict[str, Any]] = {}
        ready_at: dict[str, float] = {}
        first = time.monotonic()
        deadline = first + timeout
        last_line = first
        to_stderr = progress_goes_to_stderr()
        while True:
            run_offset = time.monotonic() - first
            remaining = max(deadline - time.monotonic(), 0.0)
            wait_seconds = min(remaining, max(interval, MIN_RUN_SECONDS))
            args = dict(module_args, instances=with_baselines(instances, baselines), wait_seconds=wait_seconds)
            reply = self._execute_module(module_name=module_name, module_args=args, task_vars=task_vars)
            results = reply.get("instances")
            elapsed = time.monotonic() - first
            if not isinstance(results, list):  # the module did not run (bad arguments, no Python, ...)
                reply.setdefault("failed", True)
                reply.pop("invocation", None)
                return dict(reply, changed=False)
            record_baselines(results, baselines)
            record_ready_times(results, run_offset, ready_at)
            common = {"changed": False, "instances": results, "elapsed_s": round(elapsed, 1)}
            if reply.get("failed"):
                return dict(common, failed=True, ready=False, msg=f"{host}: {reply.get('msg')}")
            if reply.get("ready"):
                return dict(common, ready=True, msg=ready_message(results, elapsed))
            if time.monotonic() >= deadline:
                return dict(common, failed=True, ready=False, msg=deadline_message(host, results, timeout))
            if time.monotonic() - last_line >= interval - 0.05:
                self._display.display(progress_line(host, results, elapsed, timeout), stderr=to_stderr)
                last_line = time.monotonic()
