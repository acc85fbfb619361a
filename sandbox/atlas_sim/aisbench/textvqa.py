"""A 20-question TextVQA-style dataset with generated sign images and 10 human answers per question.

Record layout (one JSON object per line of ``textvqa_json/textvqa_val.jsonl``)::

    {"question_id": 0, "image_id": "atlas_0000", "image": "train_images/atlas_0000.png",
     "question": "what does the sign say?", "answers": ["stop", ... 10 answers ...], "ocr_text": "STOP"}

``image`` is relative to the dataset directory (``textvqa/``). Answer lists mimic real annotations: mostly one
answer, with variants (case, articles, number words, longer phrases) that the accuracy rule must handle.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .png import encode_png, render_text


@dataclass(frozen=True)
class Item:
    text: str
    question: str
    answers: tuple[str, ...]

    @property
    def majority(self) -> str:
        """The answer most annotators gave (what a correct model says)."""
        return max(set(self.answers), key=lambda a: (self.answers.count(a), a))


def _rep(answer: str, n: int) -> tuple[str, ...]:
    return (answer,) * n


ITEMS: tuple[Item, ...] = (
    Item("STOP", "what does the sign say?", _rep("stop", 9) + ("stop sign",)),
    Item("EXIT", "what word is written on the sign?", _rep("exit", 8) + ("EXIT", "exit sign")),
    Item("OPEN", "is the shop open or closed?", _rep("open", 10)),
    Item("CAFE", "what is the name of the place?", _rep("cafe", 7) + ("the cafe", "café", "coffee")),
    Item("BUS 42", "what is the bus number?", _rep("42", 8) + ("bus 42", "forty two")),
    Item("HOTEL", "what kind of building is this?", _rep("hotel", 10)),
    Item("SALE", "what word is on the banner?", _rep("sale", 9) + ("sales",)),
    Item("PIZZA", "what food is advertised?", _rep("pizza", 10)),
    Item("ROOM 7", "what number is the room?", _rep("7", 6) + _rep("seven", 3) + ("room 7",)),
    Item("GATE B", "which gate is shown?", _rep("b", 6) + _rep("gate b", 4)),
    Item("2024", "what year is written?", _rep("2024", 10)),
    Item("PARK", "what does the sign say?", _rep("park", 8) + _rep("parking", 2)),
    Item("BANK", "what type of business is this?", _rep("bank", 10)),
    Item("TAXI", "what is written on the roof sign?", _rep("taxi", 9) + ("taxi!",)),
    Item("MILK", "what product is on the label?", _rep("milk", 9) + ("milk carton",)),
    Item("ZOO", "where does the sign point to?", _rep("zoo", 10)),
    Item("NO 5", "what number comes after no?", _rep("5", 8) + ("five", "no 5")),
    Item("BOOKS", "what is sold here?", _rep("books", 8) + ("book store", "bookstore")),
    Item("RADIO", "what word is shown?", _rep("radio", 10)),
    Item("QUIZ", "what event is announced?", _rep("quiz", 7) + _rep("quiz night", 3)),
)

_PALETTE = [((255, 255, 255), (190, 20, 30)), ((20, 20, 20), (250, 210, 40)), ((255, 255, 255), (20, 90, 170)),
            ((10, 60, 20), (235, 235, 225)), ((250, 250, 250), (30, 120, 60))]  # fmt: skip


def image_name(index: int) -> str:
    return f"atlas_{index:04d}"


def image_png(index: int) -> bytes:
    fg, bg = _PALETTE[index % len(_PALETTE)]
    width, height, rgb = render_text(ITEMS[index].text, scale=8, fg=fg, bg=bg)
    return encode_png(width, height, rgb)


def records() -> list[dict[str, object]]:
    return [
        {"question_id": i, "image_id": image_name(i), "image": f"train_images/{image_name(i)}.png",
         "question": item.question, "answers": list(item.answers), "ocr_text": item.text}
        for i, item in enumerate(ITEMS)
    ]  # fmt: skip


def files() -> dict[str, bytes]:
    """Archive members relative to the dataset's parent (``textvqa/...``)."""
    out = {f"textvqa/train_images/{image_name(i)}.png": image_png(i) for i in range(len(ITEMS))}
    jsonl = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records())
    out["textvqa/textvqa_json/textvqa_val.jsonl"] = jsonl.encode()
    return out
