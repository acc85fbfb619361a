# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""The wait of atlas.vllm.vllm_health, on the host: every instance watched at the same time until all are ready,
one has failed or the run's time is up, with crash detection from ``docker inspect`` and the probe's request.

The module (plugins/modules/vllm_health.py) runs one such wait per call; its action plugin
(plugins/action/vllm_health.py) calls it again until the deadline and prints the progress lines.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ansible_collections.atlas.vllm.plugins.module_utils import bounded_run
from ansible_collections.atlas.vllm.plugins.module_utils.locale_env import C_LOCALE
from ansible_collections.atlas.vllm.plugins.module_utils.vllm_causes import recognise
from ansible_collections.atlas.vllm.plugins.module_utils.vllm_containers import (
    baseline_of,
    judge_container,
    merge_log_tail,
    parse_inspect,
    restarted_since,
    rfc3339_to_unix,
)
from ansible_collections.atlas.vllm.plugins.module_utils.vllm_probe import (
    FAILED,
    LOADING,
    READY,
    auth_headers,
    build_chat_request,
    error_message,
    health_state,
    http_request,
    models_state,
    parse_chat_response,
)

# Log lines read after a crash to recognise its cause (docs/field-failures.md); the report shows fewer.
CAUSE_WINDOW = 400


class Watch:
    """Checks all instances concurrently until all are ready, one has failed, or the wait is over."""

    def __init__(self, params: dict[str, Any], docker: str | None) -> None:
        self.params = params
        self.docker = docker
        self.started = time.monotonic()
        self.deadline = self.started + max(self.params["wait_seconds"], 0)
        self.stop = threading.Event()
        self.failed = threading.Event()
        self.lock = threading.Lock()
        self.not_ready = {instance["name"] for instance in self.params["instances"]}
        self.headers = auth_headers(self.params["api_key"])

    def _mark_ready(self, name: str) -> None:
        with self.lock:
            self.not_ready.discard(name)
            if not self.not_ready:
                self.stop.set()

    def _fail(self) -> None:
        self.failed.set()
        self.stop.set()

    def run(self) -> list[dict[str, Any]]:
        instances = self.params["instances"]
        results = [new_result(instance) for instance in instances]
        threads = [
            threading.Thread(target=self.watch_safely, args=(instance, results[index]), daemon=True)
            for index, instance in enumerate(instances)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            # After a definitive failure, do not wait for another instance's request to time out: report now.
            # The threads are daemons and only read or overwrite keys that already exist in their result.
            while thread.is_alive() and not self.failed.is_set():
                thread.join(0.05)
        now = time.monotonic()
        snapshot = [dict(result) for result in results]
        for result in snapshot:
            if result["waited_s"] is None:
                result["waited_s"] = round(now - self.started, 2)
        return snapshot

    def watch_safely(self, instance: dict[str, Any], result: dict[str, Any]) -> None:
        # A worker thread must never call fail_json: it would end the module while other threads still run.
        try:
            self.watch(instance, result)
        except Exception as exc:  # noqa: BLE001 - reported as this instance's state instead of a traceback
            result.update(state=FAILED, ready=False, detail=f"internal error: {type(exc).__name__}: {exc}")
            self._fail()
        result["waited_s"] = round(time.monotonic() - self.started, 2)

    def watch(self, instance: dict[str, Any], result: dict[str, Any]) -> None:
        baseline = instance.get("container_baseline") or None
        if baseline and baseline.get("restart_count") is None and not baseline.get("started_at"):
            baseline = None
        while True:
            if instance.get("container"):
                crashed, baseline = self.look_at_container(instance, result, baseline)
                if crashed:
                    self._fail()
                    return
            if not result["ready"]:
                self.look_at_server(instance, result)
                if result["state"] == FAILED:
                    self._fail()
                    return
                if result["ready"]:
                    result["ready_after_s"] = round(time.monotonic() - self.started, 2)
                    self._mark_ready(instance["name"])
            remaining = self.deadline - time.monotonic()
            if self.stop.is_set() or remaining <= 0:
                return
            if result["ready"] and not instance.get("container"):
                return  # nothing left to watch; the other instances decide when the run ends
            self.stop.wait(min(self.params["poll_interval"], remaining))

    def look_at_server(self, instance: dict[str, Any], result: dict[str, Any]) -> None:
        url = instance["url"]
        timeout = self.params["request_timeout"]
        validate = self.params["validate_certs"]
        state, detail = health_state(http_request(url, "/health", headers=self.headers, timeout=timeout,
                                                  validate_certs=validate))
        if state == READY:
            reply = http_request(url, "/v1/models", headers=self.headers, timeout=timeout, validate_certs=validate)
            state, detail, model = models_state(reply, instance.get("served_model_name"))
            if model:
                result.update(models=model["ids"], max_model_len=model["max_model_len"], root=model["root"],
                              model_id=model["id"])
        result.update(state=state, detail=detail, ready=state == READY)

    def look_at_container(
        self, instance: dict[str, Any], result: dict[str, Any], baseline: dict[str, Any] | None
    ) -> tuple[bool, dict[str, Any] | None]:
        name = instance["container"]
        rc, out, err = self.run_docker(["inspect", "--type", "container", name])
        if rc != 0:
            reason = (err or out).strip() or f"exit code {rc}"
            if "no such" in reason.lower():
                reason = f"container {name} does not exist (removed after it stopped?): {reason}"
            else:
                reason = f"cannot inspect container {name}: {reason}"
            result.update(state=FAILED, ready=False, detail=reason)
            return True, baseline
        try:
            container = parse_inspect(out)
        except ValueError as exc:
            result.update(state=FAILED, ready=False, detail=f"container {name}: {exc}")
            return True, baseline
        if baseline is None:
            baseline = baseline_of(container)
        if container.get("status") not in ("exited", "dead") and restarted_since(container, baseline):
            # A restart policy starts the container again within ~100 ms and docker resets State.ExitCode to 0:
            # the real exit code is only kept in the container's "die" event.
            container["exit_code"] = self.last_exit_code(name, baseline)
        result["container"] = container_result(container, baseline)
        crashed, reason = judge_container(container, baseline)
        if crashed:
            logs = self.log_tail(name)
            shown = logs[-self.params["log_lines"]:] if self.params["log_lines"] > 0 else []
            known = recognise(logs, container.get("shm_size"))
            result["container"].update(logs_tail=shown, cause=known)
            if known:
                reason += f"; cause: {known['cause']}; {known['action']}"
            result.update(state=FAILED, ready=False, detail=f"container {name} {reason}")
        return crashed, baseline

    def last_exit_code(self, name: str, baseline: dict[str, Any]) -> int | None:
        since = rfc3339_to_unix(baseline.get("started_at")) or time.time() - 3600
        rc, out, _err = self.run_docker(["events", "--since", str(int(since)), "--until", str(int(time.time()) + 1),
                                         "--filter", f"container={name}", "--filter", "event=die",
                                         "--format", "{{.Actor.Attributes.exitCode}}"])
        codes = [line.strip() for line in out.splitlines() if line.strip().lstrip("-").isdigit()]
        return int(codes[-1]) if rc == 0 and codes else None

    def log_tail(self, name: str) -> list[str]:
        # The root cause comes well before the end of a crash's output (two tracebacks follow it): read enough
        # to recognise it, show only the last log_lines.
        lines = max(self.params["log_lines"], CAUSE_WINDOW)
        rc, out, err = self.run_docker(["logs", "--timestamps", "--tail", str(lines), name])
        if rc != 0:
            return [f"(docker logs failed: {(err or out).strip()})"]
        return merge_log_tail(out, err, lines)

    def run_docker(self, args: list[str]) -> tuple[int, str, str]:
        """One docker call, stopped at docker_timeout: a daemon that does not answer is named (rc 124)."""
        argv, timeout = [self.docker, *args], self.params["docker_timeout"]
        outcome = bounded_run.run_bounded(argv, timeout, C_LOCALE)
        if outcome.timed_out:
            return 124, "", bounded_run.timeout_message(argv, timeout)
        return outcome.rc, outcome.stdout, outcome.stderr


def new_result(instance: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": instance["name"],
        "url": instance["url"],
        "served_model_name": instance.get("served_model_name"),
        "state": LOADING,
        "ready": False,
        "detail": "not looked at yet",
        "models": [],
        "model_id": None,
        "max_model_len": None,
        "root": None,
        "waited_s": None,
        "ready_after_s": None,
        "container": None,
        "probe": None,
    }


def container_result(container: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": container["name"],
        "status": container["status"],
        "exit_code": container["exit_code"],
        "restart_count": container["restart_count"],
        "started_at": container["started_at"],
        "oom_killed": container["oom_killed"],
        "restart_policy": container["restart_policy"],
        "shm_size": container.get("shm_size"),
        "image": container.get("image"),
        "image_id": container.get("image_id"),
        "baseline": dict(baseline),
        "logs_tail": [],
        "cause": None,
    }


def probe_instance(params: dict[str, Any], result: dict[str, Any], image: bytes) -> dict[str, Any]:
    probe = params["probe"]
    model = result["served_model_name"] or result["model_id"]
    body = build_chat_request(model, image, probe["prompt"], probe["max_tokens"], probe["system"])
    reply = http_request(result["url"], "/v1/chat/completions", method="POST", body=body,
                         headers=auth_headers(params["api_key"]), timeout=probe["timeout"],
                         validate_certs=params["validate_certs"])
    outcome: dict[str, Any] = {"answer": None, "latency_s": round(reply["elapsed_s"], 3), "usage": None,
                               "finish_reason": None, "error": None}
    if reply["status"] is None:
        outcome["error"] = f"POST /v1/chat/completions: {reply['error']}"
    elif reply["status"] != 200:
        message = error_message(reply["body"]) or str(reply["body"][:300], "utf-8", "replace")
        outcome["error"] = f"POST /v1/chat/completions returned {reply['status']}: {message}"
    else:
        try:
            parsed = parse_chat_response(reply["body"])
        except ValueError as exc:
            outcome["error"] = f"POST /v1/chat/completions: {exc}"
        else:
            outcome.update(answer=parsed["answer"], usage=parsed["usage"], finish_reason=parsed["finish_reason"])
    return outcome


def probe_all(params: dict[str, Any], results: list[dict[str, Any]], image: bytes) -> None:
    """Probe every instance at the same time; each result gets its ``probe``."""

    def attach_probe(result: dict[str, Any]) -> None:
        result["probe"] = probe_instance(params, result, image)

    with ThreadPoolExecutor(max_workers=len(results)) as pool:
        list(pool.map(attach_probe, results))


def failure_message(results: list[dict[str, Any]]) -> str:
    parts = []
    for result in results:
        if result["state"] != FAILED and not (result["probe"] or {}).get("error"):
            continue
        detail = result["detail"] if result["state"] == FAILED else f"probe failed: {result['probe']['error']}"
        text = f"{result['name']} ({result['url']}): {detail}"
        logs = (result["container"] or {}).get("logs_tail")
        if logs:
            text += f"\nlast {len(logs)} log lines of {result['container']['name']}:\n" + "\n".join(logs)
        parts.append(text)
    return "\n".join(parts)


def summary(results: list[dict[str, Any]]) -> str:
    ready = sum(1 for result in results if result["ready"])
    waiting = "; ".join(f"{r['name']} {r['state']}: {r['detail']}" for r in results if not r["ready"])
    return f"{ready}/{len(results)} ready" + (f"; {waiting}" if waiting else "")
