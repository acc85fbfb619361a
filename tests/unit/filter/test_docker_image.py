from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.atlas.vllm.plugins.filter.docker_image import image_digest

DIGEST = "sha256:" + "4f" * 32


def test_the_digest_is_the_part_after_the_at_sign() -> None:
    assert image_digest(f"quay.io/ascend/vllm-ascend@{DIGEST}") == DIGEST
    # A registry with a port has a colon before the @: only the @ splits.
    assert image_digest(f"10.231.0.1:5000/ascend/vllm-ascend@{DIGEST}") == DIGEST


@pytest.mark.parametrize("value", [None, "", DIGEST, "quay.io/ascend/vllm-ascend:v0.11.0rc1",
                                   "quay.io/x@sha256:abc", "quay.io/x@sha512:" + "4f" * 64])
def test_anything_else_is_refused_naming_the_value(value: object) -> None:
    with pytest.raises(AnsibleFilterError, match="repository@sha256"):
        image_digest(value)
