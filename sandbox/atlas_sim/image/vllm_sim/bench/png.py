"""Minimal PNG encoder (zlib + struct): random-mm needs real images and the image has no Pillow."""

from __future__ import annotations

import random
import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_rgb(width: int, height: int, rows: bytes) -> bytes:
    """PNG of `height` rows of `width` RGB pixels (rows without filter bytes)."""
    stride = width * 3
    raw = b"".join(b"\x00" + rows[y * stride : (y + 1) * stride] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = _chunk(b"IDAT", zlib.compress(raw, 1))
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + idat + _chunk(b"IEND", b"")


def random_image(width: int, height: int, rng: random.Random) -> bytes:
    return encode_rgb(width, height, rng.randbytes(width * height * 3))
