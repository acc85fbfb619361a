"""The simulated model's sight: PNG decoding, reading the sign font, and VQA-style answers on the TextVQA kit."""

from __future__ import annotations

import random
import struct
import sys
import zlib

import pytest
from vllm_sim_support import IMAGE_DIR, SANDBOX_DIR

sys.path.insert(0, str(IMAGE_DIR))
sys.path.insert(0, str(SANDBOX_DIR))

from atlas_sim.aisbench import png as kit_png  # noqa: E402
from atlas_sim.aisbench import textvqa  # noqa: E402
from vllm_sim import ocr, pngread, textgen  # noqa: E402

PROBE = IMAGE_DIR.parents[2] / "roles" / "vllm" / "files" / "probe.png"
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _filter(line: bytes, prev: bytes, bpp: int, kind: int) -> bytes:
    out = bytearray()
    for i, v in enumerate(line):
        a = line[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        pred = (0, a, b, (a + b) // 2, _paeth(a, b, c))[kind]
        out.append((v - pred) & 0xFF)
    return bytes([kind]) + bytes(out)


def encode(width: int, height: int, ctype: int, samples: bytes, filters: list[int], **extra: bytes) -> bytes:
    """PNG with scanline i filtered by filters[i % len(filters)], IDAT split into several chunks."""
    stride = width * CHANNELS[ctype]
    prev = bytes(stride)
    raw = b""
    for y in range(height):
        line = samples[y * stride : (y + 1) * stride]
        raw += _filter(line, prev, CHANNELS[ctype], filters[y % len(filters)])
        prev = line
    body = zlib.compress(raw)
    idat = b"".join(_chunk(b"IDAT", body[i : i + 7]) for i in range(0, len(body), 7))
    ihdr = _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, ctype, 0, 0, 0))
    plte = _chunk(b"PLTE", extra["plte"]) if "plte" in extra else b""
    return pngread.SIGNATURE + ihdr + plte + idat + _chunk(b"IEND", b"")


def _rgb_image(width: int, height: int, seed: int) -> list[tuple[int, int, int]]:
    rng = random.Random(seed)
    return [(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(width * height)]


@pytest.mark.parametrize("kind", [0, 1, 2, 3, 4])
def test_rgb_each_filter(kind: int) -> None:
    pixels = _rgb_image(7, 5, kind)
    data = encode(7, 5, 2, bytes(v for p in pixels for v in p), [kind])
    img = pngread.decode(data)
    assert img is not None and (img.width, img.height) == (7, 5)
    assert img.pixels == pixels


def test_paeth_mixed_filters_rgba() -> None:
    pixels = _rgb_image(9, 6, 42)
    samples = bytes(v for i, p in enumerate(pixels) for v in (*p, i % 256))
    img = pngread.decode(encode(9, 6, 6, samples, [4, 0, 1, 4, 2, 3]))
    assert img is not None and img.pixels == pixels


def test_greyscale_and_grey_alpha() -> None:
    grey = bytes(range(0, 240, 10))  # 6x4
    img = pngread.decode(encode(6, 4, 0, grey, [4, 3]))
    assert img is not None and img.pixels == [(v, v, v) for v in grey]
    img = pngread.decode(encode(6, 4, 4, bytes(v for g in grey for v in (g, 255)), [1, 4]))
    assert img is not None and img.pixels == [(v, v, v) for v in grey]


def test_palette() -> None:
    palette = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    indices = bytes(i % 3 for i in range(20))  # 5x4
    img = pngread.decode(encode(5, 4, 3, indices, [4], plte=bytes(v for p in palette for v in p)))
    assert img is not None and img.pixels == [palette[i] for i in indices]


def test_unsupported_gives_none() -> None:
    assert pngread.decode(b"\xff\xd8\xff\xe0JFIF") is None
    ihdr16 = _chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 16, 2, 0, 0, 0))
    assert pngread.decode(pngread.SIGNATURE + ihdr16 + _chunk(b"IEND", b"")) is None
    interlaced = _chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 1))
    assert pngread.decode(pngread.SIGNATURE + interlaced + _chunk(b"IEND", b"")) is None
    assert pngread.decode(pngread.SIGNATURE + b"\x00\x00") is None
    truncated = encode(2, 2, 2, bytes(12), [0])[:-20]  # ends inside an IDAT chunk
    assert pngread.decode(truncated) is None


@pytest.mark.parametrize("index", range(len(textvqa.ITEMS)))
def test_reads_every_kit_image(index: int) -> None:
    img = pngread.decode(textvqa.image_png(index))
    assert img is not None
    assert ocr.read_text(img) == textvqa.ITEMS[index].text


@pytest.mark.parametrize("scale", [1, 2, 3, 5, 11])
def test_any_scale(scale: int) -> None:
    width, height, rgb = kit_png.render_text("BUS 1-7 ZOO!", scale=scale, fg=(0, 0, 0), bg=(255, 255, 255), pad=6)
    img = pngread.decode(kit_png.encode_png(width, height, rgb))
    assert img is not None and ocr.read_text(img) == "BUS 1-7 ZOO!"


def test_tolerates_speckle_noise() -> None:
    width, height, rgb = kit_png.render_text("NOISE 9", scale=4, fg=(20, 20, 20), bg=(240, 240, 200))
    rng = random.Random(7)
    for _ in range(30):
        i = rng.randrange(width * height) * 3
        rgb[i : i + 3] = bytes((rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    img = pngread.decode(kit_png.encode_png(width, height, rgb))
    assert img is not None and ocr.read_text(img) == "NOISE 9"


def test_plain_image_reads_nothing() -> None:
    img = pngread.decode(kit_png.encode_png(20, 20, bytes(20 * 20 * 3)))
    assert img is not None and ocr.read_text(img) is None


def png_size(data: bytes) -> tuple[str, int, int]:
    width, height = struct.unpack(">II", data[16:24])
    return "PNG", width, height


def _score(answer: str, answers: tuple[str, ...]) -> float:
    return min(sum(a.lower() == answer.lower() for a in answers) / 3, 1.0)


def test_textvqa_accuracy() -> None:
    scores = []
    for i, item in enumerate(textvqa.ITEMS):
        data = textvqa.image_png(i)
        answer = textgen.answer_text([png_size(data)], item.question, [data])
        scores.append(_score(answer, item.answers))
    assert sum(scores) / len(scores) >= 0.7


@pytest.mark.parametrize(
    ("question", "text", "answer"),
    [
        ("what is the bus number?", "BUS 42", "42"),
        ("what number is the room?", "ROOM 7", "7"),
        ("which gate is shown?", "GATE B", "b"),
        ("what year is written?", "2024", "2024"),
        ("what does the sign say?", "STOP", "stop"),
        ("is the shop open or closed?", "OPEN", "open"),
    ],
)
def test_short_answer_rules(question: str, text: str, answer: str) -> None:
    assert textgen.short_answer(question, text) == answer


def test_non_text_image_still_answers() -> None:
    data = PROBE.read_bytes()
    answer = textgen.answer_text([png_size(data)], "what is in the picture?", [data])
    assert answer.strip()


def test_without_image_bytes_keeps_description() -> None:
    answer = textgen.answer_text([("PNG", 64, 32)], "what does the sign say?")
    assert answer.startswith("The image is a 64x32 PNG picture.")


def test_unreadable_bytes_keep_description() -> None:
    answer = textgen.answer_text([("JPEG", 8, 8)], "hi", [b"\xff\xd8\xff", None])
    assert answer.startswith("The image is a 8x8 JPEG picture.")


def test_the_reader_knows_every_glyph_the_kit_paints_exactly_as_painted() -> None:
    # The image's package carries its own copy of the kit's font (it runs alone in the container): one table.
    assert ocr.FONT == kit_png.FONT
