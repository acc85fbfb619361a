"""Token counting and deterministic answers.

The tokenizer approximation counts a token per punctuation mark and per run of up to five word characters, which
lands close to Qwen's BPE on English text. `vllm bench serve` builds prompts from the same rule, so the server's
`prompt_tokens` and the benchmark's input lengths agree exactly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from . import ocr, pngread

_TOKEN = re.compile(r"\w{1,5}|[^\w\s]")
_PIECE = re.compile(r"\s*(?:\w{1,5}|[^\w\s])")
# Qwen2.5-VL's chat template: <|im_start|>role\n ... <|im_end|>\n per message, the default system prompt when none
# is given, and the assistant header that opens the answer.
MESSAGE_OVERHEAD = 5
DEFAULT_SYSTEM_TOKENS = 10
ASSISTANT_HEADER = 3
FILLER = (" the", " image", " shows", " a", " scene", " with", " clear", " shapes", " and", " soft", " light", ".")


def count_tokens(text: str) -> int:
    return len(_TOKEN.findall(text))


def pieces(text: str) -> list[str]:
    """Split text into streamable tokens, each carrying its leading whitespace."""
    return _PIECE.findall(text)


def image_tokens(width: int, height: int, patch: int = 14, merge: int = 2) -> int:
    """Qwen2.5-VL: smart-resize to multiples of 28 within [56*56, 12845056] pixels, one token per 28x28, +2 markers."""
    factor = patch * merge
    min_pixels, max_pixels = 56 * 56, 12845056
    h = max(factor, round(height / factor) * factor)
    w = max(factor, round(width / factor) * factor)
    if h * w > max_pixels:
        beta = ((height * width) / max_pixels) ** 0.5
        h = max(factor, int(height / beta // factor) * factor)
        w = max(factor, int(width / beta // factor) * factor)
    elif h * w < min_pixels:
        beta = (min_pixels / (height * width)) ** 0.5
        h = -(-int(height * beta) // factor) * factor
        w = -(-int(width * beta) // factor) * factor
    return (h // factor) * (w // factor) + 2


# Questions whose answer is the number on the sign rather than the whole text.
_NUMERIC = re.compile(r"\b(number|numbers|year|how many|how much|digits?|price|time)\b")
_WORD = re.compile(r"[a-z0-9]+")


def read_image_text(data: bytes | None) -> str | None:
    """Sign text in an encoded image, None when it is not a PNG of the sign font."""
    if not data:
        return None
    img = pngread.decode(data)
    return None if img is None else ocr.read_text(img)


def short_answer(question: str, text: str) -> str:
    """A VQA-style answer: the digits for number questions, else the text minus words the question already names."""
    q = question.lower()
    digits = re.findall(r"\d+", text)
    if digits and _NUMERIC.search(q):
        return " ".join(digits)
    words = text.lower().split()
    asked = set(_WORD.findall(q))
    # "which gate is shown?" over "GATE B" -> "b": annotators answer with what the question does not already say.
    rest = [w for w in words if w.strip("!.-") not in asked]
    return " ".join(rest or words)


def describe(images: list[tuple[str, int, int]], question: str) -> str:
    parts: list[str] = []
    for n, (fmt, width, height) in enumerate(images, start=1):
        label = "The image" if len(images) == 1 else f"Image {n}"
        parts.append(f"{label} is a {width}x{height} {fmt} picture.")
    snippet = " ".join(question.split()[:12])
    if snippet:
        parts.append(f'You asked: "{snippet}".')
    parts.append("This answer comes from a simulated Qwen2.5-VL model.")
    return " ".join(parts)


def answer_text(images: list[tuple[str, int, int]], question: str, image_data: Sequence[bytes | None] = ()) -> str:
    """The reply to a chat: a short answer from the first image whose text can be read, else a description.

    ``image_data`` holds the decoded bytes of each image part, in the order of ``images``.
    """
    for data in image_data:
        text = read_image_text(data)
        if text:
            return short_answer(question, text)
    return describe(images, question)


def generate(answer: str, max_tokens: int, ignore_eos: bool, min_tokens: int = 0) -> tuple[list[str], str]:
    """Tokens to stream and the finish reason: the answer, padded with filler when EOS is ignored."""
    toks = pieces(answer)
    target = max_tokens if ignore_eos else max(min_tokens, len(toks))
    i = 0
    while len(toks) < target:
        toks.append(FILLER[i % len(FILLER)])
        i += 1
    if len(toks) >= max_tokens:
        return toks[:max_tokens], "length"
    return toks, "stop"
