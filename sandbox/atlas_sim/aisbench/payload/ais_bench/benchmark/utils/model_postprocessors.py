"""Post-processing of raw model output before scoring."""

from __future__ import annotations

import re

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL)


def extract_non_reasoning_content(text: str) -> str:
    """Drop reasoning blocks: complete ``<think>...</think>`` pairs, or everything up to a lone ``</think>``."""
    text = _THINK.sub("", text)
    if "</think>" in text:
        text = text.rsplit("</think>", 1)[1]
    return text.strip()
