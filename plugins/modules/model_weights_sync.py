#!/usr/bin/python
# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)

# The sync itself is plugins/module_utils/weights_sync.py (with weights_mirror.py and weights_modelscope.py, one
# file per download mode); this file holds the module's documentation, argument spec and entry point.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: model_weights_sync
short_description: Make a model directory match a sha256 manifest, downloading what is missing or corrupt
version_added: "0.1.0"
description:
  - Checks every file a C(sha256sum)-format manifest lists in the model directory O(path) and, depending on
    O(mode), only reports (C(preloaded)), downloads the missing, partial and corrupt files from an HTTP mirror
    (C(mirror)), or runs the ModelScope CLI on the node (C(modelscope)).
  - "The manifest comes from O(manifest_content) when given; otherwise, in C(mirror) mode, from
    C(<mirror_url>/MANIFEST.sha256); otherwise from C(MANIFEST.sha256) in O(path). In C(modelscope) mode without
    any manifest, the module writes one from the downloaded copy (trust on first use) and later runs verify
    against it."
  - "Verification level O(verify=sha256) hashes every file. After a full pass the module records the size and
    mtime of each file in C(.atlas-verified.json) inside O(path); O(verify=size) trusts a file whose size and mtime
    still match that record and hashes any other, so a missing record costs one sha256 pass, never a false pass."
  - "Downloads resume per file: a complete file is never fetched again; a partial download (C(.<name>.part) beside
    the file) or a file shorter than the mirror's copy is continued with an HTTP C(Range) request, and fetched
    whole when the server ignores the range or the result does not match the manifest. A finished file is
    checked against the manifest before it replaces the old one, so the final names only ever hold verified
    bytes."
  - With O(time_budget) the module stops after about that many seconds and returns C(finished=false) with a
    progress line; calling it again continues where it stopped. The C(model_weights) role uses this to print
    bytes done and total per node while long downloads run.
  - Fails naming every missing or corrupt file. A complete directory is not touched (C(changed=false)); the
    verification record is bookkeeping and is not reported as a change.
  - Only the Python standard library is needed on the node (Python 3.9 or later).
author:
  - atlas-vllm contributors (@atlas-vllm)
extends_documentation_fragment:
  - atlas.vllm.read_only
options:
  path:
    description: Model directory on the node.
    type: path
    required: true
  mode:
    description:
      - C(preloaded) verifies only and fails when a file is missing or corrupt.
      - C(mirror) downloads from O(mirror_url).
      - C(modelscope) runs C(modelscope download --model MODEL --local_dir PATH) on the node.
    type: str
    choices: [preloaded, mirror, modelscope]
    default: preloaded
  verify:
    description: C(sha256) hashes every file; C(size) trusts files whose size and mtime match the last full pass.
    type: str
    choices: [size, sha256]
    default: sha256
  manifest_content:
    description: Manifest text in C(sha256sum) format (C(<sha256>  <relative path>) per line).
    type: str
  mirror_url:
    description:
      - URL of the model's directory on the mirror; a file is fetched from C(<mirror_url>/<relative path>).
      - Required when O(mode=mirror). It must not carry user info (C(user:password@)); give
        O(mirror_username) and O(mirror_password) instead, so that the password stays out of results and messages.
    type: str
  mirror_username:
    description: User for HTTP basic authentication at the mirror.
    type: str
  mirror_password:
    description: Password for HTTP basic authentication at the mirror; never returned.
    type: str
  model:
    description: ModelScope model id (C(Owner/Name)); required when O(mode=modelscope).
    type: str
  modelscope_executable:
    description: The ModelScope CLI, a path or a name looked up on E(PATH).
    type: str
    default: modelscope
  modelscope_revision:
    description: Revision passed as C(--revision); the hub's default when not set.
    type: str
  modelscope_token:
    description:
      - ModelScope access token for private or gated models. It is passed to the CLI in the environment
        (C(MODELSCOPE_API_TOKEN)), never on the command line, and never returned.
    type: str
  modelscope_timeout:
    description:
      - Seconds the ModelScope CLI may take for the whole download. Past it the CLI is stopped (with anything it
        started) and the task fails saying so; the files it completed stay, and a re-run continues from them.
    type: int
    default: 7200
  write_manifest:
    description: Write the manifest in use to C(MANIFEST.sha256) in O(path) when it differs, so
      C(sha256sum -c MANIFEST.sha256) works there.
    type: bool
    default: true
  time_budget:
    description: Stop after about this many seconds and return C(finished=false); C(0) runs to the end.
      Ignored in check mode.
    type: float
    default: 0
  session:
    description: Opaque id shared by the calls of one task; a file hashed earlier in the same session is not
      hashed again while its size and mtime are unchanged.
    type: str
    default: ""
  timeout:
    description: Seconds an HTTP request may stall before it fails.
    type: int
    default: 60
  validate_certs:
    description: Verify the mirror's TLS certificate.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    details: Reports what would be fetched (C(fetched)) and changes nothing.
  diff_mode:
    support: none
notes:
  - C(modelscope) mode needs network access to ModelScope from the node and the C(modelscope) Python package.
  - C(docs/model-weights.md) in the collection describes the modes, the manifest and the command that generates
    it from a trusted copy.
"""

EXAMPLES = r"""
- name: Verify preloaded weights fully against the manifest in the model directory
  atlas.vllm.model_weights_sync:
    path: /root/.cache/modelscope/hub/models/Qwen/Qwen2___5-VL-7B-Instruct

- name: Nightly fast check (size and mtime against the last full verification)
  atlas.vllm.model_weights_sync:
    path: /root/.cache/modelscope/hub/models/Qwen/Qwen2___5-VL-7B-Instruct
    verify: size

- name: Download from the site's mirror, 30 seconds per call
  atlas.vllm.model_weights_sync:
    path: /root/.cache/modelscope/hub/models/Qwen/Qwen2___5-VL-7B-Instruct
    mode: mirror
    mirror_url: http://10.231.0.1:8090/Qwen/Qwen2.5-VL-7B-Instruct
    time_budget: 30
  register: weights
  until: weights.finished
  retries: 240
  delay: 0

- name: Download with the ModelScope CLI, checked against a manifest from the controller
  atlas.vllm.model_weights_sync:
    path: /root/.cache/modelscope/hub/models/Qwen/Qwen2___5-VL-7B-Instruct
    mode: modelscope
    model: Qwen/Qwen2.5-VL-7B-Instruct
    manifest_content: "{{ lookup('ansible.builtin.file', 'manifests/Qwen2.5-VL-7B-Instruct.sha256') }}"
    modelscope_token: "{{ vault_modelscope_token }}"
"""

RETURN = r"""
finished:
  description: False when O(time_budget) ran out; call again to continue.
  returned: always
  type: bool
  sample: true
complete:
  description: Every manifest file is present and verified.
  returned: always
  type: bool
  sample: true
model_dir:
  description: The model directory (not C(path), so that Ansible does not add the directory's owner and mode).
  returned: always
  type: str
  sample: /root/.cache/modelscope/hub/models/Qwen/Qwen2___5-VL-7B-Instruct
manifest_source:
  description: Where the manifest came from (C(task), the mirror URL, C(local), or C(generated)).
  returned: success
  type: str
  sample: http://10.231.0.1:8090/Qwen/Qwen2.5-VL-7B-Instruct/MANIFEST.sha256
files: {description: Number of files the manifest lists., returned: success, type: int, sample: 16}
bytes_total: {description: Size of all manifest files (the mirror's for files not downloaded yet; null when unknown).,
  returned: success, type: int, sample: 970414}
bytes_done: {description: Bytes of the manifest files that are present and verified or downloaded so far.,
  returned: success, type: int, sample: 970414}
hashed: {description: Files hashed by this call., returned: success, type: list, elements: str, sample: [config.json]}
fetched: {description: "Files downloaded by this call (in check mode, the files that would be downloaded).",
  returned: success, type: list, elements: str, sample: [model-00002-of-00005.safetensors]}
resumed: {description: Files whose download was continued from a partial copy (an HTTP Range request) by this call.,
  returned: success, type: list, elements: str, sample: [model-00002-of-00005.safetensors]}
missing: {description: Files found missing or partial before fetching., returned: always, type: list, elements: str,
  sample: []}
corrupt: {description: Files whose sha256 did not match the manifest before fetching.,
  returned: always, type: list, elements: str, sample: []}
manifest_written:
  description: C(MANIFEST.sha256) in O(path) was written (or would be, in check mode).
  returned: success
  type: bool
  sample: false
cmd:
  description: The ModelScope command line (the token is in the environment, not here).
  returned: when the ModelScope CLI ran or would run
  type: list
  elements: str
  sample: [modelscope, download, --model, Qwen/Qwen2.5-VL-7B-Instruct, --local_dir,
           /root/.cache/modelscope/hub/models/Qwen/Qwen2___5-VL-7B-Instruct]
failed_file:
  description: The file the failure is about.
  returned: when the failure is about one file (its download or reading it)
  type: str
  sample: model-00002-of-00005.safetensors
progress:
  description: One line with files and bytes done.
  returned: always
  type: str
  sample: "16 of 16 files, 977.1 KiB of 977.1 KiB (100%)"
"""

from typing import Any  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.atlas.vllm.plugins.module_utils.weights_sync import WeightsSync  # noqa: E402

ARGUMENT_SPEC: dict[str, Any] = {
    "path": {"type": "path", "required": True},
    "mode": {"type": "str", "choices": ["preloaded", "mirror", "modelscope"], "default": "preloaded"},
    "verify": {"type": "str", "choices": ["size", "sha256"], "default": "sha256"},
    "manifest_content": {"type": "str"},
    "mirror_url": {"type": "str"},
    "mirror_username": {"type": "str"},
    "mirror_password": {"type": "str", "no_log": True},
    "model": {"type": "str"},
    "modelscope_executable": {"type": "str", "default": "modelscope"},
    "modelscope_revision": {"type": "str"},
    "modelscope_token": {"type": "str", "no_log": True},
    "modelscope_timeout": {"type": "int", "default": 7200},
    "write_manifest": {"type": "bool", "default": True},
    "time_budget": {"type": "float", "default": 0},
    "session": {"type": "str", "default": ""},
    "timeout": {"type": "int", "default": 60},
    "validate_certs": {"type": "bool", "default": True},
}


def main() -> None:
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        supports_check_mode=True,
        required_if=[("mode", "mirror", ["mirror_url"]), ("mode", "modelscope", ["model"])],
    )
    if "@" in urlsplit(module.params["mirror_url"] or "").netloc:
        module.fail_json(msg="mirror_url carries user info; pass the mirror's user and password as mirror_username "
                             "and mirror_password (the role splits model_weights_mirror_url for you)")
    if module.params["modelscope_timeout"] < 1:
        module.fail_json(msg=f"modelscope_timeout must be at least 1, got {module.params['modelscope_timeout']}")
    if module.params["timeout"] < 1:
        module.fail_json(msg=f"timeout must be at least 1, got {module.params['timeout']}")
    result = WeightsSync(module).run()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
