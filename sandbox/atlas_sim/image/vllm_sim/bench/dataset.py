"""Synthetic datasets of `vllm bench serve`: random (text) and random-mm (text + images).

Prompts are built from one-token words of the server's tokenizer approximation, so a prompt of N words is N
tokens on both sides. Images are random-pixel PNGs (vLLM sends JPEGs; the image has no encoder for those).
"""

from __future__ import annotations

import argparse
import base64
import random
from dataclasses import dataclass, field

from vllm_sim import logs
from vllm_sim.bench.png import random_image

WORDS = (
    "alpha",
    "beta",
    "gamma",
    "delta",
    "omega",
    "node",
    "rack",
    "chip",
    "link",
    "port",
    "cache",
    "batch",
    "token",
    "layer",
    "head",
    "model",
    "image",
    "pixel",
    "frame",
    "query",
)
# Distinct random images kept per size: enough variety for the server, bounded memory for large runs.
_IMAGES_PER_SIZE = 4


@dataclass
class SampleRequest:
    prompt: str
    prompt_len: int
    expected_output_len: int
    images: list[str] = field(default_factory=list)


def _words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def _lens(base: int, ratio: float, rng: random.Random, n: int) -> list[int]:
    low, high = int(base * (1 - ratio)), int(base * (1 + ratio))
    return [rng.randint(max(low, 1), max(high, 1)) for _ in range(n)]


def random_requests(args: argparse.Namespace) -> list[SampleRequest]:
    rng = random.Random(args.seed)
    n = args.num_prompts
    ratio = args.random_range_ratio
    in_low, in_high = int(args.random_input_len * (1 - ratio)), int(args.random_input_len * (1 + ratio))
    out_low, out_high = int(args.random_output_len * (1 - ratio)), int(args.random_output_len * (1 + ratio))
    logs.log(
        "INFO",
        "datasets.py:507",
        f"Sampling input_len from [{in_low}, {in_high}] and output_len from [{out_low}, {out_high}]",
    )
    prefix = _words(rng, args.random_prefix_len)
    in_lens = _lens(args.random_input_len, ratio, rng, n)
    out_lens = _lens(args.random_output_len, ratio, rng, n)
    requests = []
    for in_len, out_len in zip(in_lens, out_lens, strict=True):
        body = _words(rng, in_len)
        prompt = f"{prefix} {body}" if prefix else body
        requests.append(SampleRequest(prompt, args.random_prefix_len + in_len, out_len))
    return requests


def random_mm_requests(args: argparse.Namespace) -> list[SampleRequest]:
    requests = random_requests(args)
    rng = random.Random(args.seed + 1)
    limit = int((args.random_mm_limit_mm_per_prompt or {}).get("image", 255))
    buckets = [(k, p) for k, p in args.random_mm_bucket_config.items() if p > 0 and k[2] == 1]
    if not buckets:
        raise ValueError("No image buckets with positive probability in --random-mm-bucket-config")
    base = args.random_mm_base_items_per_request
    spread = int(base * args.random_mm_num_mm_items_range_ratio)
    cache: dict[tuple[int, int], list[str]] = {}
    for req in requests:
        count = min(max(rng.randint(base - spread, base + spread), 0), limit)
        for _ in range(count):
            ((height, width, _t),) = rng.choices([k for k, _ in buckets], weights=[p for _, p in buckets])
            pool = cache.setdefault((height, width), [])
            if len(pool) < _IMAGES_PER_SIZE:
                data = random_image(width, height, rng)
                pool.append("data:image/png;base64," + base64.b64encode(data).decode())
            req.images.append(pool[rng.randrange(len(pool))])
    return requests
