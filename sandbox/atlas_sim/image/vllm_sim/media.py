"""Image inputs of chat requests: data URIs are decoded and checked like PIL would; remote URLs fail offline.

vLLM turns PIL's UnidentifiedImageError into a ValueError, which the chat handler reports as a 400 with
`f"{e} {e.__cause__}"`; a fetch error escapes as a 500 carrying aiohttp's message.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import struct
from urllib.parse import urlsplit


class BadImage(ValueError):
    """400: the payload is not an image (the message is what vLLM returns)."""


class FetchFailed(RuntimeError):
    """500: the URL could not be fetched."""


def _bytesio_repr() -> str:
    return "<_io.BytesIO object at 0xffff7c1d2e30>"


def _unidentified() -> BadImage:
    text = f"cannot identify image file {_bytesio_repr()}"
    return BadImage(f"{text} {text}")


def image_size(data: bytes) -> tuple[str, int, int]:
    """(format, width, height) for PNG, JPEG, GIF and WebP; BadImage for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return _checked("PNG", width, height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return _checked("GIF", width, height)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp(data)
    if data[:2] == b"\xff\xd8":
        return _jpeg(data)
    raise _unidentified()


def _checked(fmt: str, width: int, height: int) -> tuple[str, int, int]:
    if width <= 0 or height <= 0:
        raise _unidentified()
    return fmt, width, height


def _webp(data: bytes) -> tuple[str, int, int]:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30:
        width, height = struct.unpack("<HH", data[26:30])
        return _checked("WEBP", width & 0x3FFF, height & 0x3FFF)
    if chunk == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return _checked("WEBP", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8X" and len(data) >= 30:
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return _checked("WEBP", width, height)
    raise _unidentified()


def _jpeg(data: bytes) -> tuple[str, int, int]:
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            raise _unidentified()
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        # SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC) and i + 9 <= len(data):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return _checked("JPEG", width, height)
        i += 2 + length
    raise _unidentified()


def decode_data_uri(url: str) -> bytes:
    header, sep, payload = url.partition(",")
    if not sep:
        raise BadImage("Invalid data URL: missing comma None")
    if ";base64" not in header:
        raise BadImage("Only base64 data URLs are supported for now. None")
    try:
        return base64.b64decode(payload, validate=False)
    except (binascii.Error, ValueError) as exc:
        raise BadImage(f"{exc} None") from exc


def load_image(url: str) -> tuple[str, int, int]:
    scheme = urlsplit(url).scheme.lower()
    if scheme == "data":
        return image_size(decode_data_uri(url))
    if scheme in ("http", "https"):
        raise FetchFailed(_unreachable(url))
    if scheme == "file":
        raise BadImage("Cannot load local files without `--allowed-local-media-path`. None")
    raise BadImage("The URL must be either a HTTP, data or file URL. None")


def _unreachable(url: str) -> str:
    # The lab has no uplink and no resolver: a name fails to resolve, an address has no route. Nothing is sent.
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        ipaddress.ip_address(host)
        reason = "Network is unreachable"
    except ValueError:
        reason = "Temporary failure in name resolution"
    return f"Cannot connect to host {host}:{port} ssl:default [{reason}]"
