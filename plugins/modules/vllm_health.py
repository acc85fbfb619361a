#!/usr/bin/python
# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)

# A task `atlas.vllm.vllm_health` runs the action plugin of the same name first (plugins/action/vllm_health.py):
# it calls this module again and again, a few seconds each (wait_seconds), keeps the deadline and prints the
# progress lines. One call of this module is one wait: plugins/module_utils/vllm_watch.py, which probes the
# servers with vllm_probe.py and watches their containers for crashes with vllm_containers.py.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: vllm_health
short_description: Wait for vLLM OpenAI endpoints to be ready, fail fast on crashed containers, probe with an image
version_added: "0.1.0"
description:
  - Waits until every instance in O(instances) is ready, all at the same time. Ready means C(GET /health) answers
    200 and C(GET /v1/models) lists O(instances[].served_model_name). A refused connection means the model is still
    loading (C(vllm serve) listens only once the engine is up) and is waited for.
  - With O(instances[].container), the container is inspected on every poll; the task fails as soon as it has
    exited, is restarting, or has restarted since the first look, with the exit code and the last log lines.
    A wrong O(instances[].served_model_name) or a rejected O(api_key) fails at once too, since waiting cannot fix them.
  - With O(probe), once all are ready, sends each instance a chat completion made of a local image (a base64 data
    URI) and a question, and returns the answer, the latency and the token usage.
  - An action plugin calls the module repeatedly, prints a progress line per host while it waits and enforces
    O(timeout); options marked C(action plugin) are handled on the controller. Never reports a change.
author:
  - atlas-vllm contributors (@atlas-vllm)
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
        description: Base URL of the server as seen from the host, e.g. V(http://127.0.0.1:8000).
        type: str
        required: true
      served_model_name:
        description: Model id C(/v1/models) must list; when omitted, any listed model counts (the first is probed).
        type: str
      container:
        description: Name or id of the container running this server. Enables crash detection.
        type: str
      container_baseline:
        description:
          - C(restart_count) and C(started_at) (from C(docker inspect)) a later look is compared with; a higher
            count or another start time means a restart. The action plugin records it from its first call when
            not given; pass it when the container was (re)created earlier in the play.
        type: dict
        suboptions:
          restart_count:
            description: C(RestartCount).
            type: int
          started_at:
            description: C(State.StartedAt).
            type: str
  wait_seconds:
    description: How long one module run may wait (V(0) one look); the action plugin sets it from O(timeout).
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
  docker_timeout:
    description:
      - Seconds one docker call (C(inspect), C(events), C(logs)) may take. A daemon that does not answer is
        stopped and the instance fails naming the call, instead of the wait hanging on it.
    type: int
    default: 30
  validate_certs:
    description: Verify TLS certificates of V(https) URLs.
    type: bool
    default: true
  probe:
    description: Send one multimodal chat completion to every instance once all are ready; an error fails the task.
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
    description: (action plugin) Deadline in seconds; past it the task fails naming host, instance, URL and state.
    type: float
    default: 600
  progress_interval:
    description: (action plugin) Seconds between two progress lines of a host that is still waiting.
    type: float
    default: 10
  check_mode_skip:
    description:
      - (action plugin) In check mode, skip the wait and the probe (the containers of a fresh fleet do not exist
        yet). V(false) takes the same looks as a normal run, which changes nothing either.
    type: bool
    default: true
notes:
  - Needs only the Python standard library on the host; O(instances[].container) needs permission to run
    C(docker inspect) and C(docker logs). C(docs/vllm-health.md) explains the timings and the action plugin.
seealso:
  - name: vLLM OpenAI-compatible server
    description: Endpoints /health, /v1/models and /v1/chat/completions.
    link: https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html
"""

EXAMPLES = r"""
- name: Wait for the instances, watching their containers, then ask each about a picture
  atlas.vllm.vllm_health:
    instances:
      - {name: vllm-qwen-0, url: "http://127.0.0.1:8000", served_model_name: qwen2.5-vl, container: vllm-qwen-0}
      - {name: vllm-qwen-1, url: "http://127.0.0.1:8001", served_model_name: qwen2.5-vl, container: vllm-qwen-1}
    api_key: "{{ vllm_api_key }}"
    timeout: 900
    probe:
      image_path: /opt/atlas-vllm/probe.png
      prompt: What is the text in the picture?
  register: health
"""

RETURN = r"""
instances:
  description: One entry per instance, in the order of O(instances).
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: "O(instances[].name).", type: str, sample: vllm-qwen-0}
    url: {description: "O(instances[].url).", type: str, sample: "http://127.0.0.1:8000"}
    served_model_name: {description: "O(instances[].served_model_name).", type: str, sample: qwen2.5-vl}
    model_id: {description: The model that made it ready (the served name or the first listed)., type: str}
    state:
      description: V(loading) (connection refused), V(unreachable) (timeout or network error), V(unhealthy) (an
        HTTP error status), V(ready), or V(failed) (crashed container, unknown model, rejected key, failed probe).
      type: str
      sample: ready
    ready: {description: Whether the instance is ready., type: bool}
    detail: {description: Its state in words., type: str, sample: "serving 'qwen2.5-vl', max_model_len 16384"}
    models: {description: Model ids C(/v1/models) listed., type: list, elements: str}
    max_model_len: {description: C(max_model_len) of the served model; null until ready., type: int, sample: 16384}
    root: {description: C(root) of the served model (its path in the container)., type: str}
    waited_s: {description: Seconds this module run spent on the instance., type: float}
    ready_after_s: {description: Seconds into this module run when first seen ready; null if not., type: float}
    time_to_ready_s: {description: Seconds from the task's first look until ready (action plugin)., type: float}
    container:
      description: Its state at the last look, from C(docker inspect); null without O(instances[].container).
      type: dict
      contains:
        name: {description: Container name., type: str}
        status: {description: "C(State.Status): V(running), V(restarting), V(exited)...", type: str}
        exit_code: {description: C(State.ExitCode) (of the last run while restarting)., type: int}
        restart_count: {description: C(RestartCount)., type: int}
        started_at: {description: C(State.StartedAt)., type: str}
        oom_killed: {description: C(State.OOMKilled)., type: bool}
        restart_policy: {description: C(HostConfig.RestartPolicy.Name)., type: str}
        shm_size: {description: "Bytes of its /dev/shm (C(HostConfig.ShmSize); Docker's 64 MB when unset).", type: int}
        image: {description: "Reference it was created from (C(Config.Image)).", type: str}
        image_id: {description: "ID of the image it runs (C(Image)), the same whatever the tag names since.", type: str}
        baseline: {description: The restart count and start time this look was compared with., type: dict}
        logs_tail: {description: Last O(log_lines) log lines; only after a crash., type: list, elements: str}
        cause: {description: "Known cause found in the log after a crash: name, cause, action; else null.", type: dict}
    probe:
      description: Result of O(probe); null when not asked or not every instance was ready.
      type: dict
      contains:
        answer: {description: The model's answer., type: str, sample: "The text in the illustration is: TONGYI Qwen"}
        latency_s: {description: Seconds from sending the request to the end of the answer., type: float}
        usage: {description: "C(prompt_tokens), C(completion_tokens), C(total_tokens).", type: dict}
        finish_reason: {description: "C(stop), or C(length) when O(probe.max_tokens) cut the answer.", type: str}
        error: {description: Why the probe failed; null on success., type: str}
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

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.atlas.vllm.plugins.module_utils.vllm_health_inputs import (  # noqa: E402
    ACTION_ARGUMENT_SPEC,
    ARGUMENT_SPEC,
    check_inputs,
    docker_path,
)
from ansible_collections.atlas.vllm.plugins.module_utils.vllm_watch import (  # noqa: E402
    Watch,
    failure_message,
    probe_all,
    summary,
)


def main() -> None:
    module = AnsibleModule(argument_spec={**ARGUMENT_SPEC, **ACTION_ARGUMENT_SPEC}, supports_check_mode=True)
    try:
        image = check_inputs(module.params)
        docker = docker_path(module.params, module.get_bin_path)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    results = Watch(module.params, docker).run()
    all_ready = all(result["ready"] for result in results)
    if image is not None and all_ready:
        probe_all(module.params, results, image)
    message = failure_message(results)
    if message:
        module.fail_json(msg=message, changed=False, ready=False, instances=results)
    module.exit_json(changed=False, ready=all_ready, instances=results, msg=summary(results))


if __name__ == "__main__":
    main()
