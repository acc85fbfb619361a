"""Summary tables: ``summary/summary_<ts>.{txt,csv,md}`` and the markdown table printed at the end.

The table columns are AISBench's (``dataset | version | metric | mode | <model abbr>``); the text file's
sections follow OpenCompass's summarizer layout (tabulate, csv, markdown), rendered without third-party modules.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ais_bench.benchmark.config import dataset_version

_RULE = 128


def build_table(out: Path, models: list[dict[str, Any]], datasets: list[dict[str, Any]]) -> list[list[str]]:
    table = [["dataset", "version", "metric", "mode", *[m["abbr"] for m in models]]]
    for ds in datasets:
        row = [ds["abbr"], dataset_version(ds), "accuracy", "gen"]
        for model in models:
            path = out / "results" / model["abbr"] / f"{ds['abbr']}.json"
            row.append(f"{json.loads(path.read_text())['accuracy']:.2f}" if path.is_file() else "-")
        table.append(row)
    return table


def markdown(table: list[list[str]]) -> str:
    lines = ["| " + " | ".join(table[0]) + " |", "|" + " | ".join("-----" for _ in table[0]) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in table[1:]]
    return "\n".join(lines) + "\n"


def csv(table: list[list[str]]) -> str:
    return "".join(",".join(row) + "\n" for row in table)


def plain(table: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*table[0]).rstrip(), "  ".join("-" * w for w in widths)]
    lines += [fmt.format(*row).rstrip() for row in table[1:]]
    return "\n".join(lines) + "\n"


def write_summary(out: Path, stamp: str, models: list[dict[str, Any]], datasets: list[dict[str, Any]]) -> str:
    """Write the three summary files and return the markdown table."""
    table = build_table(out, models, datasets)
    folder = out / "summary"
    folder.mkdir(parents=True, exist_ok=True)
    md = markdown(table)
    sections = [("tabulate format", plain(table)), ("csv format", csv(table)), ("markdown format", md)]
    text = f"{stamp}\n"
    for index, (title, body) in enumerate(sections):
        if index:
            text += "-" * _RULE + " THIS IS A DIVIDER " + "-" * _RULE + "\n\n"
        text += f"{title}\n" + "^" * _RULE + "\n" + body + "$" * _RULE + "\n\n"
    (folder / f"summary_{stamp}.txt").write_text(text, encoding="utf-8")
    (folder / f"summary_{stamp}.csv").write_text(csv(table), encoding="utf-8")
    (folder / f"summary_{stamp}.md").write_text(md, encoding="utf-8")
    return md
