"""AISBench summaries (Markdown, CSV, the .txt with both) and the accuracy record with its minimum."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.atlas.vllm.plugins.filter.aisbench_summary import aisbench_accuracy, aisbench_summary

# The table AISBench prints and writes to summary/summary_<ts>.md (vllm-ascend using_ais_bench.md format).
MARKDOWN = """| dataset | version | metric | mode | vllm-api-general-chat |
|----- | ----- | ----- | ----- | -----|
| textvqa | cfce47 | accuracy | gen | 80.00 |
"""

# The same in summary_<ts>.csv.
CSV = """dataset,version,metric,mode,vllm-api-general-chat
textvqa,cfce47,accuracy,gen,80.00
"""

# A .txt summary holds a tabulate table, the csv and the Markdown table.
TXT = """20261129_221500
tabulate format
^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
dataset    version    metric    mode      vllm-api-general-chat
---------  ---------  --------  ------  -----------------------
textvqa    cfce47     accuracy  gen                       80.00
$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$

-------------------------------------------------------------------------------------------------------------------------------- THIS IS A DIVIDER --------------------------------------------------------------------------------------------------------------------------------

csv format
^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
dataset,version,metric,mode,vllm-api-general-chat
textvqa,cfce47,accuracy,gen,80.00
$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$

markdown format
^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
| dataset | version | metric | mode | vllm-api-general-chat |
|----- | ----- | ----- | ----- | -----|
| textvqa | cfce47 | accuracy | gen | 80.00 |
$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$
"""

ROW = {"dataset": "textvqa", "version": "cfce47", "metric": "accuracy", "mode": "gen",
       "scores": {"vllm-api-general-chat": 80.0}}


@pytest.mark.parametrize("text", [MARKDOWN, CSV, TXT], ids=["md", "csv", "txt"])
def test_every_summary_file_gives_the_same_rows(text: str) -> None:
    assert aisbench_summary(text) == [ROW]


def test_a_row_without_its_version_cell_is_read() -> None:
    # As published for Qwen3-VL-8B in the vllm-ascend docs.
    text = "| dataset | version | metric | mode | vllm-api-general-chat |\n|---|---|---|---|---|\n" \
           "| text_vqa | accuracy | gen | 80.57 |\n"
    assert aisbench_summary(text) == [{"dataset": "text_vqa", "version": "", "metric": "accuracy", "mode": "gen",
                                       "scores": {"vllm-api-general-chat": 80.57}}]


def test_several_models_and_an_unevaluated_cell() -> None:
    text = "| dataset | version | metric | mode | vllm-api-general-chat | vllm-api-stream-chat |\n" \
           "|----- | ----- | ----- | ----- | ----- | -----|\n" \
           "| textvqa | cfce47 | accuracy | gen | 62.50 | - |\n"
    assert aisbench_summary(text)[0]["scores"] == {"vllm-api-general-chat": 62.5, "vllm-api-stream-chat": None}


@pytest.mark.parametrize("text, message", [
    ("", "no table"),
    ("| model | score |\n|---|---|\n| a | 1 |\n", "no table"),
    ("| dataset | metric | vllm-api-general-chat |\n|---|---|---|\n| textvqa | accuracy | 1 |\n", "unexpected columns"),
    ("| dataset | version | metric | mode | vllm-api-general-chat |\n|---|---|---|---|---|\n", "no rows"),
    ("| dataset | version | metric | mode | vllm-api-general-chat |\n|---|---|---|---|---|\n| textvqa | x |\n",
     "has 2 cells"),
    ("| dataset | version | metric | mode | vllm-api-general-chat |\n|---|---|---|---|---|\n"
     "| textvqa | cfce47 | accuracy | gen | high |\n", "'high' is not a number"),
])
def test_bad_summaries_are_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(AnsibleFilterError, match=message):
        aisbench_summary(text)


def test_the_record_has_what_the_fleet_report_reads() -> None:
    record = aisbench_accuracy(aisbench_summary(MARKDOWN), "vllm-0", "textvqa", 60)
    assert {key: record[key] for key in ("instance", "dataset", "accuracy", "min_accuracy", "status")} == {
        "instance": "vllm-0", "dataset": "textvqa", "accuracy": 80.0, "min_accuracy": 60.0, "status": "PASS"}


def test_below_the_minimum_fails_and_the_minimum_is_inclusive() -> None:
    rows = aisbench_summary(MARKDOWN)
    assert aisbench_accuracy(rows, "vllm-0", "textvqa", 80.01)["status"] == "FAIL"
    assert aisbench_accuracy(rows, "vllm-0", "textvqa", "80")["status"] == "PASS"


def test_no_minimum_passes_but_no_score_fails() -> None:
    assert aisbench_accuracy(aisbench_summary(MARKDOWN), "vllm-0", "textvqa", None)["status"] == "PASS"
    unscored = MARKDOWN.replace("80.00", "-")
    assert aisbench_accuracy(aisbench_summary(unscored), "vllm-0", "textvqa", None)["status"] == "FAIL"


def test_dataset_names_match_ignoring_case_and_underscores() -> None:
    rows = aisbench_summary(MARKDOWN.replace("| textvqa |", "| Text_VQA |"))
    assert aisbench_accuracy(rows, "vllm-0", "textvqa")["dataset"] == "Text_VQA"


def test_a_missing_dataset_or_model_column_is_named() -> None:
    rows = aisbench_summary(MARKDOWN)
    with pytest.raises(AnsibleFilterError, match="vllm-0: the AISBench summary has no accuracy row for gsm8k"):
        aisbench_accuracy(rows, "vllm-0", "gsm8k")
    with pytest.raises(AnsibleFilterError, match="no column 'vllm-api-stream-chat'"):
        aisbench_accuracy(rows, "vllm-0", "textvqa", None, "vllm-api-stream-chat")


def test_a_bad_minimum_is_refused() -> None:
    with pytest.raises(AnsibleFilterError, match="aisbench_min_accuracy is 'high'"):
        aisbench_accuracy(aisbench_summary(MARKDOWN), "vllm-0", "textvqa", "high")
