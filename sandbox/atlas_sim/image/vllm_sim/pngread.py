"""Decode simple PNG files into RGB pixels with the standard library only.

Covers what signs and test images use: 8-bit greyscale, grey+alpha, RGB, RGBA and palette images, every scanline
filter, any number of IDAT chunks, no interlacing. Anything else yields None so callers can fall back quietly.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

SIGNATURE = b"\x89PNG\r\n\x1a\n"
RGB = tuple[int, int, int]
# Colour type -> samples per pixel (8-bit depth only).
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


@dataclass(frozen=True)
class Image:
    width: int
    height: int
    pixels: list[RGB]  # row-major; alpha is dropped because the simulated model only looks at colour

    def at(self, x: int, y: int) -> RGB:
        return self.pixels[y * self.width + x]


def _chunks(data: bytes) -> list[tuple[bytes, bytes]] | None:
    out: list[tuple[bytes, bytes]] = []
    pos = len(SIGNATURE)
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if len(body) != length:
            return None
        out.append((kind, body))
        pos += 12 + length
        if kind == b"IEND":
            break
    return out


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _unfilter(raw: bytes, stride: int, bpp: int, height: int) -> bytearray | None:
    out = bytearray(stride * height)
    prev = bytearray(stride)
    pos = 0
    for y in range(height):
        if pos + 1 + stride > len(raw):
            return None
        kind = raw[pos]
        line = bytearray(raw[pos + 1 : pos + 1 + stride])
        pos += 1 + stride
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif kind == 2:
            for i in range(stride):
                line[i] = (line[i] + prev[i]) & 0xFF
        elif kind == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                upleft = prev[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + _paeth(left, prev[i], upleft)) & 0xFF
        elif kind != 0:
            return None
        out[y * stride : (y + 1) * stride] = line
        prev = line
    return out


def _to_rgb(buf: bytearray, ctype: int, count: int, palette: list[RGB]) -> list[RGB] | None:
    if ctype == 0:
        return [(v, v, v) for v in buf[:count]]
    if ctype == 4:
        return [(v, v, v) for v in buf[0 : 2 * count : 2]]
    if ctype == 2:
        return list(zip(buf[0 : 3 * count : 3], buf[1 : 3 * count : 3], buf[2 : 3 * count : 3], strict=True))
    if ctype == 6:
        return list(zip(buf[0 : 4 * count : 4], buf[1 : 4 * count : 4], buf[2 : 4 * count : 4], strict=True))
    if any(i >= len(palette) for i in buf[:count]):
        return None
    return [palette[i] for i in buf[:count]]


def decode(data: bytes, max_pixels: int = 4_000_000) -> Image | None:
    """Pixels of a PNG, or None when the file is not a PNG this reader supports."""
    if not data.startswith(SIGNATURE):
        return None
    chunks = _chunks(data)
    if not chunks or chunks[0][0] != b"IHDR" or len(chunks[0][1]) != 13:
        return None
    width, height, depth, ctype, method, filt, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    if depth != 8 or ctype not in _CHANNELS or method or filt or interlace or not 0 < width * height <= max_pixels:
        return None
    palette: list[RGB] = []
    for kind, body in chunks:
        if kind == b"PLTE":
            palette = [(body[i], body[i + 1], body[i + 2]) for i in range(0, len(body) - 2, 3)]
    if ctype == 3 and not palette:
        return None
    try:
        raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    except zlib.error:
        return None
    bpp = _CHANNELS[ctype]
    buf = _unfilter(raw, width * bpp, bpp, height)
    if buf is None:
        return None
    pixels = _to_rgb(buf, ctype, width * height, palette)
    return None if pixels is None else Image(width, height, pixels)
