# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Weights through the ModelScope CLI (mode ``modelscope``): the download command, its environment (the token where
``ps`` cannot show it) and a manifest generated from what it wrote, for later runs to verify. Part of WeightsSync
(module_utils/weights_sync.py), which provides module, fail(), local() and the result used here."""

from __future__ import annotations

import os
from typing import Any

from ansible_collections.atlas.vllm.plugins.module_utils import bounded_run
from ansible_collections.atlas.vllm.plugins.module_utils import weights_manifest as wm
from ansible_collections.atlas.vllm.plugins.module_utils.locale_env import C_LOCALE

TOKEN_ENV = "MODELSCOPE_API_TOKEN"


def modelscope_argv(executable: str, model: str, path: str, revision: str | None = None) -> list[str]:
    """The CLI download of one model into ``path`` (``--local_dir`` bypasses the cache layout's own naming)."""
    argv = [executable, "download", "--model", model, "--local_dir", path]
    if revision:
        argv += ["--revision", revision]
    return argv


def modelscope_env(token: str | None) -> dict[str, str]:
    """Environment for the CLI: a pinned locale, and the token where ``ps`` and logs cannot show it."""
    env = dict(C_LOCALE)
    if token:
        env[TOKEN_ENV] = token
    return env


class ModelScopeDownload:
    """The ModelScope CLI's part of a weights sync."""

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
        deadline = params["modelscope_timeout"]
        outcome = bounded_run.run_bounded(argv, deadline, modelscope_env(params["modelscope_token"]))
        if outcome.timed_out:
            self.fail(f"the ModelScope CLI did not finish downloading {params['model']} into {self.root} within "
                      f"{deadline} s (model_weights_timeout) and was stopped; the files it completed stay and a "
                      "re-run continues from them", timed_out=True)
        rc, stdout, stderr = outcome.rc, outcome.stdout, outcome.stderr
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
