# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""One call of atlas.vllm.model_weights_sync: bring a model directory to its manifest (resolve the manifest, look
at what is on disk, hash what needs it, fetch or download what is missing or wrong, write the manifest and the
verification record) within the call's time budget. The mirror download is in weights_mirror.py, the ModelScope
CLI in weights_modelscope.py; the manifest format in weights_manifest.py."""

from __future__ import annotations

import os
import tempfile
import time
from typing import Any
from urllib.error import HTTPError, URLError

from ansible_collections.atlas.vllm.plugins.module_utils import weights_manifest as wm
from ansible_collections.atlas.vllm.plugins.module_utils.weights_mirror import MirrorFetch, Paused
from ansible_collections.atlas.vllm.plugins.module_utils.weights_modelscope import ModelScopeDownload


class WeightsSync(MirrorFetch, ModelScopeDownload):
    def __init__(self, module: Any) -> None:
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
