"""TextVQA: loading the jsonl with its images, and the VQA accuracy rule."""

from __future__ import annotations

import base64
import json
import mimetypes
import re
from pathlib import Path
from typing import Any

__all__ = ["TextVQADataset", "TextVQAEvaluator", "normalize_answer", "resolve_path", "vqa_accuracy"]

PACKAGE_PARENT = Path(__file__).resolve().parents[3]


def resolve_path(path: str) -> Path:
    """Absolute paths as given; relative ones under the working directory, else next to the installed package."""
    candidate = Path(path)
    if candidate.is_absolute() or candidate.exists():
        return candidate
    return PACKAGE_PARENT / candidate


class TextVQADataset:
    """Rows of ``{"question_id", "image", "question", "answers": [10 strings]}``; ``image`` is relative to
    ``image_root`` unless absolute."""

    def __init__(self, path: str, image_root: str = "", prompt: str = "{question}", abbr: str = "textvqa",
                 image_encoding: str = "base64", **_ignored: Any) -> None:  # fmt: skip
        self.path = resolve_path(path)
        self.image_root = resolve_path(image_root) if image_root else self.path.parent.parent
        self.prompt = prompt
        self.abbr = abbr
        self.image_encoding = image_encoding

    def load(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            hint = "extract textvqa.tar.gz into ais_bench/datasets"
            raise FileNotFoundError(f"dataset file not found: {self.path} ({hint})")
        rows = []
        with self.path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    rows.append(json.loads(line))
        for row in rows:
            image = Path(row["image"])
            row["image_path"] = str(image if image.is_absolute() else self.image_root / image)
        return rows

    def image_url(self, row: dict[str, Any]) -> str:
        """A data URI: the server never needs to reach the dataset's files (the ``_base64`` in the config name)."""
        path = Path(row["image_path"])
        if self.image_encoding != "base64":
            return path.as_uri()
        mime = mimetypes.guess_type(path.name)[0] or "image/png"
        return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")

    def content(self, row: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {"type": "image_url", "image_url": {"url": self.image_url(row)}},
            {"type": "text", "text": self.prompt.format(question=row["question"])},
        ]


_PUNCT = re.compile(r"[;/\[\]\"{}()=+\\_\-><@`,?!*#%^&$~|:']")
_PERIOD = re.compile(r"(?<!\d)\.(?!\d)")
_NUMBERS = {"none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
            "seven": "7", "eight": "8", "nine": "9", "ten": "10"}  # fmt: skip
_ARTICLES = {"a", "an", "the"}


def normalize_answer(text: str) -> str:
    """VQA-style normalisation: case, punctuation (decimal points kept), number words, articles, spaces."""
    text = text.replace("\n", " ").replace("\t", " ").strip().lower()
    text = _PERIOD.sub("", _PUNCT.sub("", text))
    words = [_NUMBERS.get(w, w) for w in text.split() if w not in _ARTICLES]
    return " ".join(words)


def vqa_accuracy(prediction: str, answers: list[str]) -> float:
    """min(#annotators who gave the prediction / 3, 1), after normalising both sides."""
    pred = normalize_answer(prediction)
    matches = sum(1 for answer in answers if normalize_answer(answer) == pred)
    return min(1.0, matches / 3)


class TextVQAEvaluator:
    def score(self, predictions: list[str], rows: list[dict[str, Any]]) -> dict[str, Any]:
        scores, details = [], []
        for pred, row in zip(predictions, rows):  # noqa: B905 - same length by construction
            acc = vqa_accuracy(pred, row["answers"])
            scores.append(acc)
            details.append({"question_id": row.get("question_id"), "question": row["question"], "pred": pred,
                            "answers": row["answers"], "accuracy": round(acc, 4), "correct": acc == 1.0})  # fmt: skip
        accuracy = 100 * sum(scores) / len(scores) if scores else 0.0
        return {"accuracy": accuracy, "details": details}
