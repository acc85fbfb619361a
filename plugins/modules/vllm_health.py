#!/usr/bin/python
# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: vllm_health
short_description: Wait for vLLM OpenAI endpoints to be ready, fail fast on crashed containers, probe with an image
version_added: "0.1.0"
description:
  - Waits until every instance in O(instances) is ready, checking all of them at the same time. An instance is
    ready when C(GET /health) answers 200 and C(GET /v1/models) lists O(instances[].served_model_name); its
    C(max_model_len) is returned.
  - A refused connection means the model is still loading (C(vllm serve) binds its port at once but listens only
    when the engine is up), so it is waited for, within the deadline.
  - With O(instances[].container), the container is inspected on every poll. The task fails as soon as it has
    exited, is being restarted, or has restarted since the first look (a restart policy must not hide a crash),
    with the exit code and the last log lines.
  - A wrong O(instances[].served_model_name) or a rejected O(api_key) fails at once as well, since waiting cannot
    fix either.
  - With O(probe), once every instance is ready, sends each one a chat completion made of a local image (as a
    base64 data URI) and a question, and returns the answer, the latency and the token usage.
  - The task runs through an action plugin that calls the module repeatedly, prints a progress line per host while
    it waits and enforces O(timeout). Hosts wait concurrently (up to C(forks)). Options marked C(action plugin)
    are handled on the controller.
  - Never reports a change.
author:
  - atlas-vllm contributors
options:
  instances:
    description: The vLLM servers on this host.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Name used in messages and results, e.g. the container name.
        type: str
        required: true
      url:
        description:
          - Base URL of the server as seen from the host, e.g. V(http://127.0.0.1:8000).
        type: str
        required: true
      served_model_name:
        description:
          - Model id the server must list in C(/v1/models) (its C(--served-model-name), or the model path).
          - When omitted, any listed model counts and the first one is used for the probe.
        type: str
      container:
        description:
          - Name or id of the container running this server. Enables crash detection.
        type: str
      container_baseline:
        description:
          - Restart count and start time a later look is compared with; a higher count or another start time means
            the container restarted.
          - The action plugin records it from its first call when not given. Pass it when the container was
            (re)created earlier in the play and a restart since then must count.
        type: dict
        suboptions:
          restart_count:
            description: C(RestartCount) from C(docker inspect).
            type: int
          started_at:
            description: C(State.StartedAt) from C(docker inspect).
            type: str
  api_key:
    description:
      - "Key the servers were started with (C(--api-key)); sent as C(Authorization: Bearer KEY). Never logged."
    type: str
  wait_seconds:
    description:
      - How long one module run may wait; V(0) takes one look.
      - The action plugin sets it for each run from O(timeout) and O(progress_interval), so a value given in a task
        has no effect; use O(timeout) (V(0) for one look).
    type: float
    default: 0
  poll_interval:
    description: Seconds between two looks at an instance that is not ready yet.
    type: float
    default: 0.5
  request_timeout:
    description: Timeout of one C(/health) or C(/v1/models) request, in seconds.
    type: float
    default: 5
  validate_certs:
    description: Verify TLS certificates of V(https) URLs.
    type: bool
    default: true
  probe:
    description:
      - Send one multimodal chat completion to every instance once all are ready.
      - A probe that gets an error fails the task.
    type: dict
    suboptions:
      image_path:
        description: Image file on the host (PNG, JPEG, GIF, BMP or WebP), sent inline as a data URI.
        type: path
        required: true
      prompt:
        description: Question asked about the image.
        type: str
        default: Describe this image in one sentence.
      system:
        description: System message; an empty string sends none.
        type: str
        default: You are a helpful assistant.
      max_tokens:
        description: C(max_tokens) of the request.
        type: int
        default: 64
      timeout:
        description: Timeout of the chat completion request, in seconds.
        type: float
        default: 120
  docker_executable:
    description: Container CLI used to inspect containers and read their logs (C(docker) or C(podman)).
    type: str
    default: docker
  log_lines:
    description: How many of the container's last log lines a crash report carries.
    type: int
    default: 20
  timeout:
    description:
      - (action plugin) Overall deadline in seconds. The task fails when an instance is not ready by then, naming
        the host, the instance, its URL and its last state.
    type: float
    default: 600
  progress_interval:
    description:
      - (action plugin) Seconds between two progress lines of a host that is still waiting.
    type: float
    default: 10
  check_mode_skip:
    description:
      - (action plugin) In check mode, skip the wait and the probe with a message (the containers of a fresh fleet
        do not exist yet). V(false) takes the same looks as a normal run, which changes nothing either.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  action:
    support: full
  async:
    support: none
notes:
  - The module runs on the host and needs only the Python standard library; O(instances[].container) needs
    permission to run C(docker inspect) and C(docker logs) (root or the C(docker) group).
  - See C(docs/vllm-health.md) in the collection for the timings and why an action plugin is used rather than
    C(async) with C(async_status).
seealso:
  - name: vLLM OpenAI-compatible server
    description: Endpoints /health, /v1/models and /v1/chat/completions.
    link: https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html
"""

EXAMPLES = r"""
- name: Wait for both instances, watching their containers, then ask each about a picture
  atlas.vllm.vllm_health:
    instances:
      - name: vllm-qwen-0
        url: http://127.0.0.1:8000
        served_model_name: qwen2.5-vl
        container: vllm-qwen-0
      - name: vllm-qwen-1
        url: http://127.0.0.1:8001
        served_model_name: qwen2.5-vl
        container: vllm-qwen-1
    api_key: "{{ vllm_api_key }}"
    timeout: 900
    probe:
      image_path: /opt/atlas-vllm/probe.png
      prompt: What is the text in the picture?
  register: health

- name: Show what each instance answered
  ansible.builtin.debug:
    msg: "{{ health.instances | map(attribute='probe.answer') | list }}"

- name: One look, no waiting (e.g. for a report)
  atlas.vllm.vllm_health:
    instances:
      - name: vllm-qwen-0
        url: http://127.0.0.1:8000
    timeout: 0
  register: now
  failed_when: false
"""

RETURN = r"""
instances:
  description: One entry per instance, in the order of O(instances).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: O(instances[].name).
      type: str
      sample: vllm-qwen-0
    url:
      description: O(instances[].url).
      type: str
      sample: http://127.0.0.1:8000
    served_model_name:
      description: O(instances[].served_model_name).
      type: str
      sample: qwen2.5-vl
    model_id:
      description: Id of the model that made the instance ready (the served name, or the first listed one).
      type: str
      sample: qwen2.5-vl
    state:
      description:
        - V(loading) (connection refused), V(unreachable) (timeout or network error), V(unhealthy) (an HTTP error
          status), V(ready), or V(failed) (crashed container, unknown model, rejected key, failed probe).
      type: str
      sample: ready
    ready:
      description: Whether the instance is ready.
      type: bool
      sample: true
    detail:
      description: Why the instance is in its state, in words.
      type: str
      sample: "serving 'qwen2.5-vl', max_model_len 16384"
    models:
      description: Model ids listed by C(/v1/models).
      type: list
      elements: str
      sample: [qwen2.5-vl]
    max_model_len:
      description: C(max_model_len) of the served model; null until ready.
      type: int
      sample: 16384
    root:
      description: C(root) of the served model (the model path inside the container).
      type: str
      sample: /models/Qwen2.5-VL-7B-Instruct
    waited_s:
      description: Seconds this module run spent on the instance.
      type: float
      sample: 2.5
    ready_after_s:
      description: Seconds after the start of this module run when the instance was first seen ready; null if not.
      type: float
      sample: 1.0
    time_to_ready_s:
      description:
        - Seconds from the task's first look until the instance was seen ready (action plugin); null if not ready.
      type: float
      sample: 41.3
    container:
      description: The container's state at the last look; null without O(instances[].container).
      type: dict
      contains:
        name:
          description: Container name.
          type: str
        status:
          description: C(State.Status), e.g. V(running), V(restarting), V(exited).
          type: str
        exit_code:
          description: C(State.ExitCode) (of the last run while restarting).
          type: int
        restart_count:
          description: C(RestartCount).
          type: int
        started_at:
          description: C(State.StartedAt).
          type: str
        oom_killed:
          description: C(State.OOMKilled).
          type: bool
        restart_policy:
          description: C(HostConfig.RestartPolicy.Name), e.g. V(always) or V(no).
          type: str
        baseline:
          description: The restart count and start time this look was compared with.
          type: dict
        logs_tail:
          description: Last O(log_lines) log lines (both streams, in time order); only after a crash.
          type: list
          elements: str
      sample:
        name: vllm-qwen-0
        status: running
        exit_code: 0
        restart_count: 0
        started_at: "2026-11-29T21:59:01.123456789Z"
        oom_killed: false
        restart_policy: always
        baseline: {restart_count: 0, started_at: "2026-11-29T21:59:01.123456789Z"}
        logs_tail: []
    probe:
      description: Result of O(probe); null when not asked or not every instance was ready.
      type: dict
      contains:
        answer:
          description: The model's answer.
          type: str
        latency_s:
          description: Seconds from sending the request to the end of the answer.
          type: float
        usage:
          description: C(prompt_tokens), C(completion_tokens) and C(total_tokens).
          type: dict
        finish_reason:
          description: C(stop), or C(length) when O(probe.max_tokens) cut the answer.
          type: str
        error:
          description: Why the probe failed; null on success.
          type: str
      sample:
        answer: "The text in the illustration is: TONGYI Qwen"
        latency_s: 0.84
        usage: {prompt_tokens: 73, completion_tokens: 16, total_tokens: 89}
        finish_reason: stop
        error: null
ready:
  description: Whether every instance is ready.
  returned: always
  type: bool
  sample: true
elapsed_s:
  description: Seconds the task waited in total (action plugin).
  returned: success
  type: float
  sample: 42.7
msg:
  description: Summary, or what failed (host, instance, URL, container, exit code, last log lines).
  returned: always
  type: str
  sample: "2/2 ready after 42.7s"
"""

import os  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from typing import Any  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.atlas.vllm.plugins.module_utils.vllm_probe import (  # noqa: E402
    FAILED,
    LOADING,
    READY,
    auth_headers,
    baseline_of,
    build_chat_request,
    error_message,
    health_state,
    http_request,
    judge_container,
    merge_log_tail,
    models_state,
    parse_chat_response,
    parse_inspect,
    parse_url,
    restarted_since,
    rfc3339_to_unix,
)

LOCALE = {"LANGUAGE": "C", "LC_ALL": "C"}

ARGUMENT_SPEC: dict[str, Any] = {
    "instances": {
        "type": "list",
        "elements": "dict",
        "required": True,
        "options": {
            "name": {"type": "str", "required": True},
            "url": {"type": "str", "required": True},
            "served_model_name": {"type": "str"},
            "container": {"type": "str"},
            "container_baseline": {
                "type": "dict",
                "options": {"restart_count": {"type": "int"}, "started_at": {"type": "str"}},
            },
        },
    },
    "api_key": {"type": "str", "no_log": True},
    "wait_seconds": {"type": "float", "default": 0},
    "poll_interval": {"type": "float", "default": 0.5},
    "request_timeout": {"type": "float", "default": 5},
    "validate_certs": {"type": "bool", "default": True},
    "probe": {
        "type": "dict",
        "options": {
            "image_path": {"type": "path", "required": True},
            "prompt": {"type": "str", "default": "Describe this image in one sentence."},
            "system": {"type": "str", "default": "You are a helpful assistant."},
            "max_tokens": {"type": "int", "default": 64},
            "timeout": {"type": "float", "default": 120},
        },
    },
    "docker_executable": {"type": "str", "default": "docker"},
    "log_lines": {"type": "int", "default": 20},
}


class Watch:
    """Checks all instances concurrently until all are ready, one has failed, or the wait is over."""

    def __init__(self, module: AnsibleModule, docker: str | None) -> None:
        self.module = module
        self.params = module.params
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
            result["container"]["logs_tail"] = logs
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
        lines = self.params["log_lines"]
        if lines <= 0:
            return []
        rc, out, err = self.run_docker(["logs", "--timestamps", "--tail", str(lines), name])
        if rc != 0:
            return [f"(docker logs failed: {(err or out).strip()})"]
        return merge_log_tail(out, err, lines)

    def run_docker(self, args: list[str]) -> tuple[int, str, str]:
        try:
            return self.module.run_command([self.docker, *args], environ_update=LOCALE, handle_exceptions=False)
        except OSError as exc:
            return 127, "", str(exc)


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
        "baseline": dict(baseline),
        "logs_tail": [],
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
        message = error_message(reply["body"]) or reply["body"][:300].decode("utf-8", "replace")
        outcome["error"] = f"POST /v1/chat/completions returned {reply['status']}: {message}"
    else:
        try:
            parsed = parse_chat_response(reply["body"])
        except ValueError as exc:
            outcome["error"] = f"POST /v1/chat/completions: {exc}"
        else:
            outcome.update(answer=parsed["answer"], usage=parsed["usage"], finish_reason=parsed["finish_reason"])
    return outcome


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


def validate(module: AnsibleModule) -> bytes | None:
    params = module.params
    if params["poll_interval"] <= 0:
        module.fail_json(msg=f"poll_interval must be greater than 0, got {params['poll_interval']}")
    if params["wait_seconds"] < 0:
        module.fail_json(msg=f"wait_seconds must not be negative, got {params['wait_seconds']}")
    if params["request_timeout"] <= 0:
        module.fail_json(msg=f"request_timeout must be greater than 0, got {params['request_timeout']}")
    if not params["instances"]:
        module.fail_json(msg="instances is empty: there is nothing to check")
    names = [instance["name"] for instance in params["instances"]]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        module.fail_json(msg=f"instance names must be unique; repeated: {', '.join(duplicates)}")
    for instance in params["instances"]:
        try:
            parse_url(instance["url"])
        except ValueError as exc:
            module.fail_json(msg=f"instance {instance['name']}: {exc}")
    probe = params["probe"]
    if not probe:
        return None
    if probe["max_tokens"] < 1:
        module.fail_json(msg=f"probe.max_tokens must be at least 1, got {probe['max_tokens']}")
    path = probe["image_path"]
    try:
        with open(path, "rb") as handle:
            image = handle.read()
        build_chat_request("check", image, probe["prompt"])
    except OSError as exc:
        module.fail_json(msg=f"probe.image_path {path}: {exc.strerror or exc}")
    except ValueError as exc:
        module.fail_json(msg=f"probe.image_path {path}: {exc}")
    return image


def find_docker(module: AnsibleModule) -> str | None:
    if not any(instance.get("container") for instance in module.params["instances"]):
        return None
    executable = module.params["docker_executable"]
    if os.path.sep in executable:
        if os.access(executable, os.X_OK):
            return executable
        module.fail_json(msg=f"docker_executable {executable} is not an executable file")
    found = module.get_bin_path(executable)
    if not found:
        module.fail_json(msg=f"{executable} not found on PATH; it is needed to watch the containers")
    return found


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    image = validate(module)
    docker = find_docker(module)
    results = Watch(module, docker).run()
    all_ready = all(result["ready"] for result in results)
    if image is not None and all_ready:

        def attach_probe(result: dict[str, Any]) -> None:
            result["probe"] = probe_instance(module.params, result, image)

        with ThreadPoolExecutor(max_workers=len(results)) as pool:
            list(pool.map(attach_probe, results))
    message = failure_message(results)
    if message:
        module.fail_json(msg=message, changed=False, ready=False, instances=results)
    module.exit_json(changed=False, ready=all_ready, instances=results, msg=summary(results))


if __name__ == "__main__":
    main()
