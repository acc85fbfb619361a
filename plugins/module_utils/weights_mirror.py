# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Weights from an HTTP mirror (mode ``mirror``): the size of each file, and a download that resumes a partial
copy with a Range request and stops when the call's time budget is spent. Part of WeightsSync
(module_utils/weights_sync.py), which provides fail(), local(), out_of_time() and the counters used here."""

from __future__ import annotations

import hashlib
import os
from http.client import HTTPException
from typing import Any
from urllib.error import HTTPError, URLError

from ansible.module_utils.urls import open_url
from ansible_collections.atlas.vllm.plugins.module_utils import weights_manifest as wm


class Paused(Exception):
    """The time budget ran out mid-download; the partial file stays for the next call."""


class MirrorFetch:
    """The mirror's part of a weights sync."""

    def request(self, url: str, method: str = "GET", headers: dict[str, str] | None = None) -> Any:
        return open_url(
            url,
            method=method,
            headers=headers or {},
            timeout=self.params["timeout"],
            validate_certs=self.params["validate_certs"],
            follow_redirects="safe",
            url_username=self.params.get("mirror_username"),
            url_password=self.params.get("mirror_password"),
            force_basic_auth=bool(self.params.get("mirror_username")),
        )

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
