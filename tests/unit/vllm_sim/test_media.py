"""Image sniffing of chat inputs: formats and dimensions parsed from the bytes, like PIL identifies them."""

from __future__ import annotations

import struct
import sys

import pytest
from test_api import png
from vllm_sim_support import IMAGE_DIR

sys.path.insert(0, str(IMAGE_DIR))

from vllm_sim import media, textgen  # noqa: E402


def test_png() -> None:
    assert media.image_size(png(640, 480)) == ("PNG", 640, 480)


def test_gif() -> None:
    assert media.image_size(b"GIF89a" + struct.pack("<HH", 31, 17) + b"\x00" * 8) == ("GIF", 31, 17)


def test_jpeg() -> None:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00" + b"\x00" * 9
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, 720, 1280, 3) + b"\x00" * 3
    assert media.image_size(b"\xff\xd8" + app0 + sof0) == ("JPEG", 1280, 720)


def test_webp_vp8x() -> None:
    body = b"VP8X" + struct.pack("<I", 10) + b"\x00" * 4 + (99).to_bytes(3, "little") + (49).to_bytes(3, "little")
    assert media.image_size(b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body) == ("WEBP", 100, 50)


@pytest.mark.parametrize("payload", [b"", b"hello", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\x00\x00"])
def test_rejects_non_images(payload: bytes) -> None:
    with pytest.raises(media.BadImage, match="cannot identify image file"):
        media.image_size(payload)


def test_remote_url_never_connects() -> None:
    with pytest.raises(media.FetchFailed, match=r"Cannot connect to host 10\.0\.0\.1:80 ssl:default"):
        media.load_image("http://10.0.0.1/x.png")


def test_qwen_image_tokens() -> None:
    # 28x28 pixels per token after resizing to multiples of 28, plus the vision start/end markers.
    assert textgen.image_tokens(224, 224) == 64 + 2
    assert textgen.image_tokens(1280, 720) == 46 * 26 + 2
