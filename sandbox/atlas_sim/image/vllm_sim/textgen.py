"""Token counting and deterministic answers.

The tokenizer approximation counts a token per punctuation mark and per run of up to five word characters, which
lands close to Qwen's BPE on English text. `vllm bench serve` builds prompts from the same rule, so the server's
`prompt_tokens` and the benchmark's input lengths agree exactly.
"""

from __future__ import annotations

import re

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


def answer_text(images: list[tuple[str, int, int]], question: str) -> str:
    parts: list[str] = []
    for n, (fmt, width, height) in enumerate(images, start=1):
        label = "The image" if len(images) == 1 else f"Image {n}"
        parts.append(f"{label} is a {width}x{height} {fmt} picture.")
    snippet = " ".join(question.split()[:12])
    if snippet:
        parts.append(f'You asked: "{snippet}".')
    parts.append("This answer comes from a simulated Qwen2.5-VL model.")
    return " ".join(parts)


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
