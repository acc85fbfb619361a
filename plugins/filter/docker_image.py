# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Registry digests of images.

``{{ 'quay.io/ascend/vllm-ascend@sha256:4f...' | atlas.vllm.image_digest }}`` -> ``'sha256:4f...'``

Docker lists an image's registry digests as ``<repository>@<digest>`` (``RepoDigests``), one per repository it
was pulled from; a mirror serving the same build gives the same digest, so a pin compares the part after ``@``.
"""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

_REPO_DIGEST = re.compile(r"^[^@\s]+@(sha256:[0-9a-f]{64})$")


def image_digest(repo_digest: object) -> str:
    match = _REPO_DIGEST.match(str(repo_digest or ""))
    if not match:
        raise AnsibleFilterError(f"a registry digest looks like 'repository@sha256:<64 hex>', got {repo_digest!r}")
    return match.group(1)


class FilterModule:
    def filters(self) -> dict:
        return {"image_digest": image_digest}
