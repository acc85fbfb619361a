#!/usr/bin/python
# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)

# A task `atlas.vllm.vllm_health` runs the action plugin of the same name first (plugins/action/vllm_health.py):
# it calls this module again and again, a few seconds each (wait_seconds), keeps the deadline and prints the
# progress lines. One call of this module is one wait: plugins/module_utils/vllm_watch.py.

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
extends_documentation_fragment:
  - atlas.vllm.read_only
  - atlas.vllm.vllm_api
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
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from typing import Any  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.atlas.vllm.plugins.module_utils.vllm_probe import build_chat_request, parse_url  # noqa: E402
from ansible_collections.atlas.vllm.plugins.module_utils.vllm_watch import (  # noqa: E402
    Watch,
    failure_message,
    probe_instance,
    summary,
)

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
    results = Watch(module.params, docker, module.run_command).run()
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
