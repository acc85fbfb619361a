#!/usr/bin/python
# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)

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
  - atlas-vllm contributors
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
      - Required when O(mode=mirror).
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
files:
  description: Number of files the manifest lists.
  returned: success
  type: int
  sample: 16
bytes_total:
  description: Size of all manifest files (the mirror's size for files not yet downloaded; null when unknown).
  returned: success
  type: int
  sample: 970414
bytes_done:
  description: Bytes of the manifest files that are present and verified or downloaded so far.
  returned: success
  type: int
  sample: 970414
hashed:
  description: Files hashed by this call.
  returned: success
  type: list
  elements: str
  sample: [config.json]
fetched:
  description: Files downloaded by this call (in check mode, the files that would be downloaded).
  returned: success
  type: list
  elements: str
  sample: [model-00002-of-00005.safetensors]
resumed:
  description: Files whose download was continued from a partial copy (an HTTP Range request) by this call.
  returned: success
  type: list
  elements: str
  sample: [model-00002-of-00005.safetensors]
missing:
  description: Files found missing or partial before fetching.
  returned: always
  type: list
  elements: str
  sample: []
corrupt:
  description: Files whose sha256 did not match the manifest before fetching.
  returned: always
  type: list
  elements: str
  sample: []
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

import hashlib  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from http.client import HTTPException  # noqa: E402
from typing import Any  # noqa: E402
from urllib.error import HTTPError, URLError  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.urls import open_url  # noqa: E402
from ansible_collections.atlas.vllm.plugins.module_utils import weights_manifest as wm  # noqa: E402
from ansible_collections.atlas.vllm.plugins.module_utils.locale_env import C_LOCALE as LOCALE  # noqa: E402

TOKEN_ENV = "MODELSCOPE_API_TOKEN"

ARGUMENT_SPEC: dict[str, Any] = {
    "path": {"type": "path", "required": True},
    "mode": {"type": "str", "choices": ["preloaded", "mirror", "modelscope"], "default": "preloaded"},
    "verify": {"type": "str", "choices": ["size", "sha256"], "default": "sha256"},
    "manifest_content": {"type": "str"},
    "mirror_url": {"type": "str"},
    "model": {"type": "str"},
    "modelscope_executable": {"type": "str", "default": "modelscope"},
    "modelscope_revision": {"type": "str"},
    "modelscope_token": {"type": "str", "no_log": True},
    "write_manifest": {"type": "bool", "default": True},
    "time_budget": {"type": "float", "default": 0},
    "session": {"type": "str", "default": ""},
    "timeout": {"type": "int", "default": 60},
    "validate_certs": {"type": "bool", "default": True},
}


class Paused(Exception):
    """The time budget ran out mid-download; the partial file stays for the next call."""


def modelscope_argv(executable: str, model: str, path: str, revision: str | None = None) -> list[str]:
    """The CLI download of one model into ``path`` (``--local_dir`` bypasses the cache layout's own naming)."""
    argv = [executable, "download", "--model", model, "--local_dir", path]
    if revision:
        argv += ["--revision", revision]
    return argv


def modelscope_env(token: str | None) -> dict[str, str]:
    """Environment for the CLI: a pinned locale, and the token where ``ps`` and logs cannot show it."""
    env = dict(LOCALE)
    if token:
        env[TOKEN_ENV] = token
    return env


class WeightsSync:
    def __init__(self, module: AnsibleModule) -> None:
        self.module = module
        self.params = module.params
        self.root = self.params["path"]
        self.check_mode = module.check_mode
        budget = self.params["time_budget"] or 0
        self.deadline = time.monotonic() + budget if budget > 0 and not self.check_mode else None
        self.changed = False
        self.worked = False
        self.result: dict[str, Any] = {
            "model_dir": self.root,
            "finished": True,
            "complete": False,
            "hashed": [],
            "fetched": [],
            "resumed": [],
            "missing": [],
            "corrupt": [],
            "manifest_written": False,
        }
        self.sizes: dict[str, int | None] = {}
        self.done: dict[str, int] = {}
        self.current = ""
        self.manifest_text = ""
        # Files the module hashed itself while writing a manifest: hashing them again proves nothing.
        self.pre_hashed: dict[str, str] = {}

    # -- helpers --------------------------------------------------------------------------------------------

    def local(self, relpath: str) -> str:
        return os.path.join(self.root, *relpath.split("/"))

    def out_of_time(self) -> bool:
        # Every call does some work before it may stop, or a tiny budget would never finish.
        return self.worked and self.deadline is not None and time.monotonic() >= self.deadline

    def fail(self, msg: str, **extra: Any) -> None:
        self.result.update(extra)
        self.result["progress"] = self.progress()
        self.module.fail_json(msg=msg, changed=self.changed, **self.result)

    def progress(self) -> str:
        total = None if any(size is None for size in self.sizes.values()) else sum(self.sizes.values())
        files_done = sum(1 for path, size in self.sizes.items() if size is not None and self.done.get(path) == size)
        return wm.progress_line(files_done, len(self.sizes), sum(self.done.values()), total, self.current)

    def request(self, url: str, method: str = "GET", headers: dict[str, str] | None = None) -> Any:
        return open_url(
            url,
            method=method,
            headers=headers or {},
            timeout=self.params["timeout"],
            validate_certs=self.params["validate_certs"],
            follow_redirects="safe",
        )

    def write_atomic(self, relname: str, text: str) -> None:
        fd, tmp = tempfile.mkstemp(prefix=".atlas-tmp-", dir=self.root)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.chmod(tmp, 0o644)
            os.replace(tmp, os.path.join(self.root, relname))
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    # -- manifest -------------------------------------------------------------------------------------------

    def local_manifest(self) -> str | None:
        try:
            with open(os.path.join(self.root, wm.MANIFEST_NAME), encoding="utf-8") as handle:
                return handle.read()
        except OSError:
            return None

    def resolve_manifest(self) -> dict[str, str] | None:
        text, source = self.params["manifest_content"], "task"
        if not text and self.params["mode"] == "mirror":
            source = wm.file_url(self.params["mirror_url"], wm.MANIFEST_NAME)
            try:
                text = self.request(source).read().decode("utf-8")
            except (HTTPError, URLError, OSError, UnicodeDecodeError) as exc:
                self.fail(
                    f"cannot read the manifest {source}: {exc}. Put a MANIFEST.sha256 beside the model on "
                    f"the mirror (see docs/model-weights.md), or pass the manifest from the controller."
                )
        if not text:
            text, source = self.local_manifest(), "local"
        if not text:
            if self.params["mode"] == "modelscope":
                return None
            self.fail(
                f"no manifest for {self.root}: none was given and {wm.MANIFEST_NAME} is not in the "
                f"directory. Generate one from a trusted copy (docs/model-weights.md) and pass it."
            )
        try:
            entries = wm.parse_manifest(text)
        except wm.ManifestError as exc:
            self.fail(f"manifest from {source} is not usable: {exc}")
        self.result["manifest_source"] = source
        self.manifest_text = wm.render_manifest(entries)
        return entries

    # -- local state ----------------------------------------------------------------------------------------

    def observe(self, entries: dict[str, str]) -> dict[str, dict[str, int | None]]:
        observed: dict[str, dict[str, int | None]] = {}
        for path in entries:
            seen: dict[str, int | None] = {"size": None, "mtime_ns": None, "part_size": None}
            try:
                st = os.stat(self.local(path))
                if os.path.isfile(self.local(path)):
                    seen["size"], seen["mtime_ns"] = st.st_size, st.st_mtime_ns
            except OSError:
                pass
            try:
                seen["part_size"] = os.stat(self.local(wm.part_name(path))).st_size
            except OSError:
                pass
            observed[path] = seen
        return observed

    def load_record(self, digest: str) -> dict[str, Any]:
        try:
            with open(os.path.join(self.root, wm.STATE_NAME), encoding="utf-8") as handle:
                text = handle.read()
        except OSError:
            text = None
        record = wm.load_state(text, digest)
        session = self.params["session"]
        if session and record["session"] != session:
            record["session"], record["hashed"] = session, []
        return record

    def save_record(self, record: dict[str, Any]) -> None:
        if self.check_mode or not os.path.isdir(self.root):
            return
        try:
            self.write_atomic(wm.STATE_NAME, wm.render_state(record))
        except OSError as exc:
            self.module.warn(f"could not write {wm.STATE_NAME} in {self.root}: {exc}; the next size check hashes")

    def remember(self, record: dict[str, Any], path: str) -> None:
        st = os.stat(self.local(path))
        record["files"][path] = [st.st_size, st.st_mtime_ns]
        if path not in record["hashed"]:
            record["hashed"].append(path)

    # -- download -------------------------------------------------------------------------------------------

    def remote_size(self, path: str) -> int | None:
        try:
            response = self.request(wm.file_url(self.params["mirror_url"], path), method="HEAD")
            length = response.headers.get("Content-Length")
            return int(length) if length is not None else None
        except HTTPError as exc:
            if exc.code in (405, 501):
                return None  # a server without HEAD still serves GET; the size is learnt while downloading
            self.fail(
                f"{path}: the mirror cannot serve {wm.file_url(self.params['mirror_url'], path)}: {exc}. "
                f"Check that the mirror holds this model with the files its manifest lists.",
                failed_file=path,
            )
        except (URLError, OSError, ValueError) as exc:
            self.fail(
                f"{path}: the mirror cannot serve {wm.file_url(self.params['mirror_url'], path)}: {exc}. "
                f"Check that the mirror holds this model with the files its manifest lists.",
                failed_file=path,
            )

    def fetch(self, path: str, digest: str, size: int | None, allow_resume: bool = True) -> bool:
        """Bring ``path`` to the manifest's bytes; True when an earlier partial copy was continued."""
        url = wm.file_url(self.params["mirror_url"], path)
        final, part = self.local(path), self.local(wm.part_name(path))
        os.makedirs(os.path.dirname(final), exist_ok=True)
        offset = os.path.getsize(part) if allow_resume and os.path.exists(part) else 0
        if size is not None and offset > size:
            offset = 0
        hasher = wm.sha256_file(part, limit=offset) if offset else None
        # A part that is already whole needs no request; only a Range continuation counts as resumed.
        resumed = offset > 0 and (size is None or offset < size)
        if size is None or offset < size:
            header = wm.range_header(offset)
            try:
                response = self.request(url, headers={"Range": header} if header else None)
            except (HTTPError, URLError, OSError) as exc:
                self.fail(f"{path}: download from {url} failed: {exc}", failed_file=path)
            status = response.getcode()
            if offset and status == 206:
                first = (wm.parse_content_range(response.headers.get("Content-Range")) or (None,))[0]
                if first != offset:
                    response.close()
                    return self.fetch(path, digest, size, allow_resume=False)
            elif offset:
                offset, hasher, resumed = 0, None, False  # the server sent the whole file: start over
            hasher = hasher or hashlib.sha256()
            self.done[path] = offset
            self.current = path
            try:
                with open(part, "ab" if offset else "wb") as handle:
                    handle.truncate(offset)
                    while True:
                        chunk = response.read(wm.CHUNK)
                        if not chunk:
                            break
                        handle.write(chunk)
                        hasher.update(chunk)
                        self.done[path] += len(chunk)
                        self.changed = self.worked = True
                        if (size is None or self.done[path] < size) and self.out_of_time():
                            raise Paused(path)
            except (OSError, HTTPException) as exc:
                # What arrived stays in the .part file; the next run continues from there.
                self.fail(
                    f"{path}: download from {url} stopped after {self.done[path]} bytes: {exc!r}. "
                    f"Run again to continue it.",
                    failed_file=path,
                )
            finally:
                response.close()
            self.current = ""
        if size is not None and os.path.getsize(part) != size:
            self.fail(
                f"{path}: the mirror sent {os.path.getsize(part)} of {size} bytes; run again to resume.",
                failed_file=path,
            )
        if hasher.hexdigest() != digest:
            os.unlink(part)
            self.changed = True
            if offset and allow_resume:
                return self.fetch(path, digest, size, allow_resume=False)
            self.fail(
                f"{path}: the mirror's copy at {url} does not match the manifest (sha256 {hasher.hexdigest()}, "
                f"expected {digest}). Fix the copy on the mirror or the manifest.",
                failed_file=path,
            )
        os.chmod(part, 0o644)
        os.replace(part, final)
        self.changed = True
        return resumed

    # -- modes ----------------------------------------------------------------------------------------------

    def run_modelscope(self) -> None:
        params = self.params
        executable = params["modelscope_executable"]
        found = executable if os.path.isabs(executable) else self.module.get_bin_path(executable)
        argv = modelscope_argv(found or executable, params["model"], self.root, params["modelscope_revision"])
        self.result["cmd"] = argv
        if self.check_mode:
            self.changed = True
            return
        if not found or not os.access(found, os.X_OK):
            self.fail(
                f"the ModelScope CLI {executable!r} is not on the node; install it (pip install modelscope) "
                f"or use the mirror mode."
            )
        os.makedirs(self.root, exist_ok=True)
        before = self.snapshot()
        rc, stdout, stderr = self.module.run_command(argv, environ_update=modelscope_env(params["modelscope_token"]))
        if rc != 0:
            tail = "\n".join((stdout + stderr).strip().splitlines()[-5:])
            self.fail(f"modelscope download of {params['model']} into {self.root} failed (rc {rc}): {tail}", rc=rc)
        self.changed = self.changed or self.snapshot() != before

    def snapshot(self) -> dict[str, Any]:
        found = {}
        for directory, dirs, names in os.walk(self.root):
            # Dot-files and dot-directories are download-tool state (.msc, ._____temp, our .part files), not model.
            dirs[:] = [name for name in dirs if not name.startswith(".")]
            for name in names:
                if name.startswith("."):
                    continue
                full = os.path.join(directory, name)
                st = os.stat(full)
                found[os.path.relpath(full, self.root).replace(os.sep, "/")] = (st.st_size, st.st_mtime_ns)
        return found

    def generated_manifest(self) -> dict[str, str]:
        """Manifest of what the CLI downloaded, for later runs to verify against."""
        entries = {
            path: wm.sha256_file(self.local(path)).hexdigest()
            for path in sorted(self.snapshot())
            if path != wm.MANIFEST_NAME
        }
        self.pre_hashed = dict(entries)
        if not entries:
            self.fail(f"modelscope download left no files in {self.root}")
        self.result["manifest_source"] = "generated"
        self.manifest_text = wm.render_manifest(entries)
        return entries

    # -- the run --------------------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        params = self.params
        mode = params["mode"]
        if not os.path.isdir(self.root):
            if mode == "preloaded":
                self.fail(
                    f"model directory {self.root} does not exist; copy the model there or choose the mirror "
                    f"or modelscope mode.",
                    missing=[],
                )
            if os.path.exists(self.root):
                self.fail(f"{self.root} exists and is not a directory")
        entries = self.resolve_manifest()
        if entries is None:  # modelscope without any manifest: download first, then record what arrived
            self.run_modelscope()
            if self.check_mode:
                self.result.update(
                    progress="would run modelscope download and write a manifest",
                    files=0,
                    bytes_total=None,
                    bytes_done=0,
                    manifest_written=True,
                )
                return self.finish()
            entries = self.generated_manifest()
        if not os.path.isdir(self.root) and not self.check_mode:
            os.makedirs(self.root, exist_ok=True)
            self.changed = True
        digest = wm.manifest_digest(entries)
        record = self.load_record(digest)
        plan = wm.plan_files(entries, self.observe(entries), record, params["verify"], params["session"])
        self.sizes = {item["path"]: item["size"] for item in plan}
        self.done = {item["path"]: item["size"] for item in plan if item["status"] == wm.COMPLETE}

        broken: list[dict[str, Any]] = [item for item in plan if item["status"] in (wm.MISSING, wm.PARTIAL)]
        self.result["missing"] = [item["path"] for item in broken]
        for item in plan:
            if item["status"] != wm.CHECK:
                continue
            if self.out_of_time():
                return self.pause(record)
            path = item["path"]
            try:
                actual = self.pre_hashed.get(path) or wm.sha256_file(self.local(path)).hexdigest()
            except OSError as exc:
                self.fail(f"{path}: cannot read {self.local(path)}: {exc}", failed_file=path)
            self.worked = True
            if actual == entries[path]:
                self.result["hashed"].append(path)
                self.done[path] = item["size"]
                self.remember(record, path)
            else:
                self.result["corrupt"].append(path)
                record["files"].pop(path, None)
                broken.append(item)

        if broken and mode == "preloaded":
            self.save_record(record)
            self.fail(self.broken_message(broken))
        if broken and mode == "modelscope":
            self.run_modelscope()
            if not self.check_mode:
                for item in broken:
                    path = item["path"]
                    if not os.path.isfile(self.local(path)):
                        self.fail(f"{path} is still missing after modelscope download; " + self.broken_message(broken))
                    if wm.sha256_file(self.local(path)).hexdigest() != entries[path]:
                        self.fail(
                            f"{path} does not match the manifest after modelscope download (a different "
                            f"revision?); set the revision the manifest was made from.",
                            failed_file=path,
                        )
                    self.remember(record, path)
                    self.done[path] = os.path.getsize(self.local(path))
                    self.sizes[path] = self.done[path]
            self.result["fetched"] = [item["path"] for item in broken]
        if broken and mode == "mirror":
            order = {path: index for index, path in enumerate(entries)}
            broken.sort(key=lambda item: order[item["path"]])
            for item in broken:
                self.sizes[item["path"]] = self.remote_size(item["path"])
            self.result["fetched"] = [item["path"] for item in broken]
            self.check_space(broken)
            if self.check_mode:
                self.changed = True
            else:
                for item in broken:
                    path = item["path"]
                    if self.out_of_time():
                        self.result["fetched"] = self.result["fetched"][: self.result["fetched"].index(path)]
                        return self.pause(record)
                    self.prepare_resume(item)
                    try:
                        if self.fetch(path, entries[path], self.sizes[path]):
                            self.result["resumed"].append(path)
                    except Paused:
                        self.result["fetched"] = self.result["fetched"][: self.result["fetched"].index(path) + 1]
                        return self.pause(record)
                    self.remember(record, path)
                    self.done[path] = self.sizes[path] or os.path.getsize(self.local(path))

        self.write_manifest()
        self.save_record(record)
        # In check mode nothing was fetched, so the directory is complete only if nothing had to be.
        self.result["complete"] = not (self.check_mode and broken)
        self.clean_stale_parts(entries)
        return self.finish()

    def check_space(self, broken: list[dict[str, Any]]) -> None:
        """Refuse to start what the disk cannot hold, rather than stop with ENOSPC half-way through."""
        need = sum((self.sizes.get(item["path"]) or 0) - (item["part_size"] or 0) for item in broken)
        probe = self.root
        while not os.path.isdir(probe) and os.path.dirname(probe) != probe:
            probe = os.path.dirname(probe)
        try:
            st = os.statvfs(probe)
        except OSError:
            return
        free = st.f_bavail * st.f_frsize
        if need > free:
            self.fail(
                f"{self.root} needs {wm.human_bytes(need)} more for {len(broken)} files but {probe} has "
                f"{wm.human_bytes(free)} free; free space there or move the model cache."
            )

    def prepare_resume(self, item: dict[str, Any]) -> None:
        """A final-named file shorter than the mirror's copy is a download that stopped: continue it."""
        path, size = item["path"], self.sizes.get(item["path"])
        final, part = self.local(path), self.local(wm.part_name(path))
        if item["status"] == wm.CHECK and size is not None and item["size"] < size and not os.path.exists(part):
            os.replace(final, part)
        elif item["status"] == wm.CHECK and os.path.exists(final):
            os.unlink(final)
        self.changed = True

    def clean_stale_parts(self, entries: dict[str, str]) -> None:
        if self.check_mode:
            return
        for path in entries:
            part = self.local(wm.part_name(path))
            if os.path.exists(part) and os.path.isfile(self.local(path)):
                os.unlink(part)

    def write_manifest(self) -> None:
        if not self.params["write_manifest"] or self.result.get("manifest_source") == "local":
            return
        if self.local_manifest() == self.manifest_text:
            return
        if not self.check_mode:
            try:
                self.write_atomic(wm.MANIFEST_NAME, self.manifest_text)
            except OSError as exc:
                # A read-only copy (e.g. a shared mount) is still verified; only the convenience copy is lost.
                self.module.warn(f"could not write {wm.MANIFEST_NAME} in {self.root}: {exc}")
                return
        self.result["manifest_written"] = True
        self.changed = True

    def broken_message(self, broken: list[dict[str, Any]]) -> str:
        missing = [item["path"] for item in broken if item["status"] in (wm.MISSING, wm.PARTIAL)]
        corrupt = [item["path"] for item in broken if item["status"] == wm.CHECK]
        parts = []
        if missing:
            parts.append(f"missing: {', '.join(missing)}")
        if corrupt:
            parts.append(f"corrupt (sha256 differs from the manifest): {', '.join(corrupt)}")
        return f"{self.root} is not complete; {'; '.join(parts)}"

    def pause(self, record: dict[str, Any]) -> dict[str, Any]:
        self.save_record(record)
        self.result["finished"] = False
        return self.finish()

    def finish(self) -> dict[str, Any]:
        fetched = self.result["fetched"]
        if self.check_mode and fetched and "progress" not in self.result:
            known = [self.sizes.get(path) for path in fetched]
            size = wm.human_bytes(None if None in known else sum(known))
            names = ", ".join(fetched[:5]) + (f" and {len(fetched) - 5} more" if len(fetched) > 5 else "")
            count = f"{len(fetched)} of {len(self.sizes)} files"
            self.result["progress"] = f"check mode: would fetch {count} ({size}): {names}"
        if "progress" not in self.result:
            self.result["progress"] = self.progress()
        total = None if any(size is None for size in self.sizes.values()) else sum(self.sizes.values())
        self.result.setdefault("files", len(self.sizes))
        self.result.setdefault("bytes_total", total)
        self.result.setdefault("bytes_done", sum(self.done.values()))
        self.result["changed"] = self.changed
        return self.result


def main() -> None:
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        supports_check_mode=True,
        required_if=[("mode", "mirror", ["mirror_url"]), ("mode", "modelscope", ["model"])],
    )
    if module.params["timeout"] < 1:
        module.fail_json(msg=f"timeout must be at least 1, got {module.params['timeout']}")
    result = WeightsSync(module).run()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
