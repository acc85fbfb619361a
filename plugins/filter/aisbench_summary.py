# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Read the summary AISBench writes after an accuracy run and gate it on a minimum.

``{{ text | atlas.vllm.aisbench_summary }}``                      -> rows of the summary (list of dicts)
``{{ rows | atlas.vllm.aisbench_accuracy(instance, dataset, minimum, model_abbr) }}``
                                                                 -> the accuracy record the fleet report reads

AISBench writes ``outputs/default/<ts>/summary/summary_<ts>.{md,csv,txt}``. The Markdown file is the table
printed at the end of a run::

    | dataset | version | metric | mode | vllm-api-general-chat |
    |----- | ----- | ----- | ----- | -----|
    | textvqa | cfce47 | accuracy | gen | 80.00 |

and the CSV file holds the same columns (``dataset,version,metric,mode,vllm-api-general-chat``). Each model
column is named after the model config's ``abbr`` and holds a percentage, or ``-`` when the dataset was not
evaluated. Some published tables leave out the ``version`` cell (``| text_vqa | accuracy | gen | 80.57 |``);
such rows are read as well.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from ansible.errors import AnsibleFilterError

_FIXED = ("dataset", "version", "metric", "mode")
_SEPARATOR = re.compile(r"^\|?[\s:|-]+\|?$")


def _score(text: str) -> float | None:
    text = text.strip()
    if text in ("", "-"):
        return None
    try:
        return float(text)
    except ValueError:
        raise AnsibleFilterError(f"AISBench summary: score {text!r} is not a number") from None


def _markdown_rows(lines: list[str]) -> list[list[str]]:
    rows = []
    for line in lines:
        line = line.strip()
        if not line.startswith("|") or _SEPARATOR.match(line):
            continue
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def _table_rows(text: str) -> list[list[str]]:
    lines = [line for line in text.splitlines() if line.strip()]
    # The .txt summary carries the table several times (tabulate, csv, markdown); the Markdown one is
    # unambiguous, so it wins whenever present.
    markdown = _markdown_rows(lines)
    if markdown:
        return markdown
    return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO("\n".join(lines))) if row]


def aisbench_summary(text: Any) -> list[dict[str, Any]]:
    if not isinstance(text, str):
        raise AnsibleFilterError(f"aisbench_summary needs the text of a summary file, got {type(text).__name__}")
    rows = _table_rows(text)
    header_index = next((i for i, row in enumerate(rows) if row and row[0].lower() == "dataset"), None)
    if header_index is None:
        raise AnsibleFilterError("AISBench summary: no table with a 'dataset' column found")
    header = [cell.lower() for cell in rows[header_index]]
    if tuple(header[:4]) != _FIXED or len(header) < 5:
        raise AnsibleFilterError(f"AISBench summary: unexpected columns {rows[header_index]}; expected "
                                 f"{' | '.join(_FIXED)} | <model abbr> ...")
    models = rows[header_index][4:]
    parsed = []
    for row in rows[header_index + 1:]:
        if len(row) == len(header) - 1:
            # A row without its version cell.
            row = [row[0], "", *row[1:]]
        if len(row) != len(header):
            raise AnsibleFilterError(f"AISBench summary: row {row} has {len(row)} cells, the header {len(header)}")
        parsed.append({"dataset": row[0], "version": row[1], "metric": row[2], "mode": row[3],
                       "scores": {model: _score(cell) for model, cell in zip(models, row[4:], strict=True)}})
    if not parsed:
        raise AnsibleFilterError("AISBench summary: the table has no rows")
    return parsed


def _normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def aisbench_accuracy(rows: list[dict[str, Any]], instance: str, dataset: str, minimum: Any = None,
                      model_abbr: str = "vllm-api-general-chat") -> dict[str, Any]:
    """The record of one instance: its accuracy on the dataset and whether it reaches ``minimum``.

    ``dataset`` matches the summary's dataset name ignoring case and punctuation (``textvqa`` matches
    ``text_vqa``); the row's metric must be ``accuracy``.
    """
    wanted = _normalise(dataset)
    matches = [row for row in rows if _normalise(row["dataset"]).startswith(wanted)
               and row["metric"].lower() == "accuracy"]
    if not matches:
        seen = ", ".join(f"{row['dataset']}/{row['metric']}" for row in rows) or "nothing"
        raise AnsibleFilterError(f"{instance}: the AISBench summary has no accuracy row for {dataset} (it has {seen})")
    row = matches[0]
    if model_abbr not in row["scores"]:
        raise AnsibleFilterError(f"{instance}: the AISBench summary has no column {model_abbr!r} "
                                 f"(it has {', '.join(row['scores'])})")
    accuracy = row["scores"][model_abbr]
    if minimum in (None, ""):
        minimum = None
    else:
        try:
            minimum = float(minimum)
        except (TypeError, ValueError):
            raise AnsibleFilterError(f"aisbench_min_accuracy is {minimum!r}, not a number") from None
    if accuracy is None:
        status = "FAIL"
    else:
        status = "PASS" if minimum is None or accuracy >= minimum else "FAIL"
    return {"instance": instance, "dataset": row["dataset"], "version": row["version"], "metric": row["metric"],
            "mode": row["mode"], "model_abbr": model_abbr, "accuracy": accuracy, "min_accuracy": minimum,
            "status": status}


class FilterModule:
    def filters(self) -> dict:
        return {"aisbench_summary": aisbench_summary, "aisbench_accuracy": aisbench_accuracy}
