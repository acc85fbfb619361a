"""Read text drawn with the sign font (5x7 cells, integer scale, two colours) out of a decoded image.

This is the whole of the simulated model's "vision": it recovers the characters the sandbox's TextVQA kit paints,
and gives up (None) on anything that does not look like that font on a plain background.
"""

from __future__ import annotations

from collections import Counter

from .pngread import RGB, Image

# The glyph table of the AISBench kit's renderer, copied because this package runs alone inside the image.
# One string per row, '#' = ink.
FONT: dict[str, tuple[str, ...]] = {
    "A": (" ### ", "#   #", "#   #", "#####", "#   #", "#   #", "#   #"),
    "B": ("#### ", "#   #", "#   #", "#### ", "#   #", "#   #", "#### "),
    "C": (" ### ", "#   #", "#    ", "#    ", "#    ", "#   #", " ### "),
    "D": ("#### ", "#   #", "#   #", "#   #", "#   #", "#   #", "#### "),
    "E": ("#####", "#    ", "#    ", "#### ", "#    ", "#    ", "#####"),
    "F": ("#####", "#    ", "#    ", "#### ", "#    ", "#    ", "#    "),
    "G": (" ### ", "#   #", "#    ", "# ###", "#   #", "#   #", " ####"),
    "H": ("#   #", "#   #", "#   #", "#####", "#   #", "#   #", "#   #"),
    "I": (" ### ", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "),
    "J": ("  ###", "   # ", "   # ", "   # ", "   # ", "#  # ", " ##  "),
    "K": ("#   #", "#  # ", "# #  ", "##   ", "# #  ", "#  # ", "#   #"),
    "L": ("#    ", "#    ", "#    ", "#    ", "#    ", "#    ", "#####"),
    "M": ("#   #", "## ##", "# # #", "# # #", "#   #", "#   #", "#   #"),
    "N": ("#   #", "#   #", "##  #", "# # #", "#  ##", "#   #", "#   #"),
    "O": (" ### ", "#   #", "#   #", "#   #", "#   #", "#   #", " ### "),
    "P": ("#### ", "#   #", "#   #", "#### ", "#    ", "#    ", "#    "),
    "Q": (" ### ", "#   #", "#   #", "#   #", "# # #", "#  # ", " ## #"),
    "R": ("#### ", "#   #", "#   #", "#### ", "# #  ", "#  # ", "#   #"),
    "S": (" ####", "#    ", "#    ", " ### ", "    #", "    #", "#### "),
    "T": ("#####", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", "  #  "),
    "U": ("#   #", "#   #", "#   #", "#   #", "#   #", "#   #", " ### "),
    "V": ("#   #", "#   #", "#   #", "#   #", "#   #", " # # ", "  #  "),
    "W": ("#   #", "#   #", "#   #", "# # #", "# # #", "# # #", " # # "),
    "X": ("#   #", "#   #", " # # ", "  #  ", " # # ", "#   #", "#   #"),
    "Y": ("#   #", "#   #", " # # ", "  #  ", "  #  ", "  #  ", "  #  "),
    "Z": ("#####", "    #", "   # ", "  #  ", " #   ", "#    ", "#####"),
    "0": (" ### ", "#   #", "#  ##", "# # #", "##  #", "#   #", " ### "),
    "1": ("  #  ", " ##  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "),
    "2": (" ### ", "#   #", "    #", "   # ", "  #  ", " #   ", "#####"),
    "3": ("#####", "   # ", "  #  ", "   # ", "    #", "#   #", " ### "),
    "4": ("   # ", "  ## ", " # # ", "#  # ", "#####", "   # ", "   # "),
    "5": ("#####", "#    ", "#### ", "    #", "    #", "#   #", " ### "),
    "6": ("  ## ", " #   ", "#    ", "#### ", "#   #", "#   #", " ### "),
    "7": ("#####", "    #", "   # ", "  #  ", " #   ", " #   ", " #   "),
    "8": (" ### ", "#   #", "#   #", " ### ", "#   #", "#   #", " ### "),
    "9": (" ### ", "#   #", "#   #", " ####", "    #", "   # ", " ##  "),
    " ": ("     ",) * 7,
    "-": ("     ", "     ", "     ", "#####", "     ", "     ", "     "),
    "!": ("  #  ", "  #  ", "  #  ", "  #  ", "  #  ", "     ", "  #  "),
    ".": ("     ", "     ", "     ", "     ", "     ", " ##  ", " ##  "),
}
GLYPH_W, GLYPH_H = 5, 7
# Up to this many of the 35 cell bits may disagree before a cell counts as unknown; absorbs speckle noise.
MAX_DISTANCE = 4
_BITS = {ch: tuple(c == "#" for row in rows for c in row) for ch, rows in FONT.items()}


def _mostly_two_colours(pixels: list[RGB], share: float) -> bool:
    counts = Counter(pixels).most_common(2)
    return len(counts) == 2 and counts[0][1] + counts[1][1] >= share * len(pixels)


def _colours(img: Image) -> tuple[RGB, RGB] | None:
    # A cheap look at every 61st pixel first: random-pixel benchmark images must not cost a full histogram.
    if not _mostly_two_colours(img.pixels[::61], 0.6):
        return None
    counts = Counter(img.pixels).most_common(2)
    if len(counts) < 2:
        return None
    # A sign is mostly background; photos and test cards spread their pixels over many colours.
    if counts[0][1] + counts[1][1] < 0.8 * len(img.pixels):
        return None
    return counts[0][0], counts[1][0]


def _ink_mask(img: Image, bg: RGB, fg: RGB) -> list[list[bool]]:
    def near_fg(p: RGB) -> bool:
        dist_fg = sum((a - b) ** 2 for a, b in zip(p, fg, strict=True))
        dist_bg = sum((a - b) ** 2 for a, b in zip(p, bg, strict=True))
        return dist_fg < dist_bg

    cache: dict[RGB, bool] = {}
    rows = []
    for y in range(img.height):
        row = img.pixels[y * img.width : (y + 1) * img.width]
        rows.append([cache[p] if p in cache else cache.setdefault(p, near_fg(p)) for p in row])
    return rows


def _strip_frame(mask: list[list[bool]]) -> list[list[bool]]:
    """Drop edge rows/columns that are nearly all ink: the renderer draws a frame around the sign."""
    changed = True
    while changed and mask and mask[0]:
        changed = False
        for edge in (0, -1):
            if mask and sum(mask[edge]) >= 0.9 * len(mask[edge]):
                mask = mask[1:] if edge == 0 else mask[:-1]
                changed = True
        if not mask:
            break
        for edge in (0, -1):
            if mask[0] and sum(r[edge] for r in mask) >= 0.9 * len(mask):
                mask = [r[1:] if edge == 0 else r[:-1] for r in mask]
                changed = True
    return mask


def _runs(line: list[bool]) -> list[int]:
    runs, n = [], 0
    for v in line:
        if v:
            n += 1
        elif n:
            runs.append(n)
            n = 0
    if n:
        runs.append(n)
    return runs


def detect_scale(mask: list[list[bool]]) -> int:
    """Largest stroke unit that (nearly) every ink run is a multiple of; strokes are whole glyph pixels wide."""
    runs = Counter(r for row in mask for r in _runs(row))
    runs.update(r for col in zip(*mask, strict=True) for r in _runs(list(col)))
    total = sum(runs.values())
    if not total:
        return 0
    for scale in range(max(runs), 0, -1):
        fitting = sum(n for length, n in runs.items() if length % scale == 0)
        # Glyph strokes all have width 1 in font units, so the true scale also occurs as a run length itself.
        if fitting >= 0.9 * total and runs.get(scale, 0) > 0:
            return scale
    return 1


def _cell_bits(mask: list[list[bool]], left: int, top: int, scale: int) -> tuple[bool, ...]:
    bits = []
    for gy in range(GLYPH_H):
        for gx in range(GLYPH_W):
            ink = 0
            for y in range(top + gy * scale, top + (gy + 1) * scale):
                row = mask[y] if 0 <= y < len(mask) else []
                ink += sum(row[x] for x in range(left + gx * scale, left + (gx + 1) * scale) if 0 <= x < len(row))
            bits.append(2 * ink > scale * scale)  # majority vote over the block so lone noisy pixels do not flip it
    return tuple(bits)


def match_cell(bits: tuple[bool, ...]) -> tuple[str, int]:
    """Nearest glyph by Hamming distance, '?' when even the nearest is too far off."""
    best = min(_BITS, key=lambda ch: (sum(a != b for a, b in zip(bits, _BITS[ch], strict=True)), ch))
    dist = sum(a != b for a, b in zip(bits, _BITS[best], strict=True))
    return (best if dist <= MAX_DISTANCE else "?"), dist


def _read_line(mask: list[list[bool]], scale: int) -> str | None:
    width = len(mask[0])
    # A glyph row that has ink has at least one full stroke (>= scale pixels); isolated noise has fewer.
    rows = [y for y, row in enumerate(mask) if sum(row) >= scale]
    if not rows:
        return None
    top = rows[0]
    band = mask[top : top + GLYPH_H * scale]
    cols = [x for x in range(width) if sum(r[x] for r in band) >= scale]
    if not cols:
        return None
    advance = (GLYPH_W + 1) * scale
    best: tuple[int, str] | None = None
    # The first glyph may start with empty columns (e.g. '1'), so try each offset of the grid and keep the best fit.
    for offset in range(GLYPH_W):
        left = cols[0] - offset * scale
        count = (cols[-1] - left) // advance + 1
        text, cost = "", 0
        for n in range(count):
            ch, dist = match_cell(_cell_bits(mask, left + n * advance, top, scale))
            text += ch
            cost += dist if ch != "?" else 2 * MAX_DISTANCE
        if best is None or cost < best[0]:
            best = (cost, text)
    assert best is not None
    text = " ".join(best[1].split())
    if not text or 2 * text.count("?") > len(text.replace(" ", "")):
        return None
    return text


def read_text(img: Image) -> str | None:
    """The single line of sign text in ``img``, upper-case as drawn, or None when none can be read."""
    colours = _colours(img)
    if colours is None:
        return None
    bg, fg = colours
    mask = _strip_frame(_ink_mask(img, bg, fg))
    if not mask or not mask[0]:
        return None
    scale = detect_scale(mask)
    if scale < 1 or GLYPH_H * scale > len(mask):
        return None
    return _read_line(mask, scale)
