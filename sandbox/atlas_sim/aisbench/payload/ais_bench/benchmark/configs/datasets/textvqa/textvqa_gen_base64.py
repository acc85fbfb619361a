# fmt: off
# Kept in AISBench's own layout so the upstream instructions for editing this file apply as written.
from ais_bench.benchmark.datasets import TextVQADataset, TextVQAEvaluator

textvqa_datasets = [
    dict(
        abbr='textvqa',
        type=TextVQADataset,
        path='ais_bench/datasets/textvqa/textvqa_json/textvqa_val.jsonl',
        image_root='ais_bench/datasets/textvqa',
        image_encoding='base64',
        prompt='{question}\nAnswer the question using a single word or phrase.',
        eval_cfg=dict(evaluator=dict(type=TextVQAEvaluator)),
    )
]
