"""The simulated engine: admission (max-num-seqs), token timing and the counters behind /metrics and the log.

Timing knobs (milliseconds, from the environment so a benchmark measures real waits):
- VLLM_SIM_TTFT_MS (default 80): time to first token of a request, plus VLLM_SIM_PREFILL_US_PER_TOKEN (default 20 us)
  per prompt token;
- VLLM_SIM_TPOT_MS (default 30): time per output token, growing 0.5 % per other running request (batching cost).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from vllm_sim import logs

TTFT_BUCKETS = (
    0.001,
    0.005,
    0.01,
    0.02,
    0.04,
    0.06,
    0.08,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
    20.0,
    40.0,
    80.0,
    160.0,
    640.0,
    2560.0,
)
ITL_BUCKETS = (
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.15,
    0.2,
    0.3,
    0.4,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
    20.0,
    40.0,
    80.0,
)
E2E_BUCKETS = (
    0.3,
    0.5,
    0.8,
    1.0,
    1.5,
    2.0,
    2.5,
    5.0,
    10.0,
    15.0,
    20.0,
    30.0,
    40.0,
    50.0,
    60.0,
    120.0,
    240.0,
    480.0,
    960.0,
    1920.0,
    7680.0,
)


def _env_ms(name: str, default: float) -> float:
    try:
        return max(float(os.environ.get(name, default)), 0.0) / 1000.0
    except ValueError:
        return default / 1000.0


@dataclass
class Histogram:
    buckets: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    n: int = 0

    def observe(self, value: float) -> None:
        if not self.counts:
            self.counts = [0] * len(self.buckets)
        for i, edge in enumerate(self.buckets):
            if value <= edge:
                self.counts[i] += 1
        self.total += value
        self.n += 1


@dataclass
class Stats:
    prompt_tokens: int = 0
    generation_tokens: int = 0
    success: dict[str, int] = field(default_factory=lambda: {"stop": 0, "length": 0, "abort": 0})
    ttft: Histogram = field(default_factory=lambda: Histogram(TTFT_BUCKETS))
    itl: Histogram = field(default_factory=lambda: Histogram(ITL_BUCKETS))
    e2e: Histogram = field(default_factory=lambda: Histogram(E2E_BUCKETS))
    running: int = 0
    waiting: int = 0


class Engine:
    def __init__(self, max_num_seqs: int, kv_tokens: int) -> None:
        self.slots = threading.BoundedSemaphore(max(max_num_seqs, 1))
        self.kv_tokens = max(kv_tokens, 1)
        self.lock = threading.Lock()
        self.stats = Stats()
        self.ttft_s = _env_ms("VLLM_SIM_TTFT_MS", 80.0)
        self.tpot_s = _env_ms("VLLM_SIM_TPOT_MS", 30.0)
        self.prefill_s = _env_ms("VLLM_SIM_PREFILL_US_PER_TOKEN", 20.0) / 1000.0
        self._kv_in_use = 0
        self._interval_prompt = 0
        self._interval_gen = 0

    def kv_usage(self) -> float:
        with self.lock:
            return min(self._kv_in_use / self.kv_tokens, 1.0)

    def run(self, prompt_tokens: int, tokens: list[str]) -> Iterator[str]:
        """Yield tokens at the simulated times; the caller streams or collects them."""
        with self.lock:
            self.stats.waiting += 1
        self.slots.acquire()
        start = time.monotonic()
        with self.lock:
            self.stats.waiting -= 1
            self.stats.running += 1
            self._kv_in_use += prompt_tokens + len(tokens)
            others = self.stats.running - 1
        try:
            tpot = self.tpot_s * (1.0 + 0.005 * others)
            first_at = start + self.ttft_s + self.prefill_s * prompt_tokens
            last = start
            for i, tok in enumerate(tokens):
                due = first_at + i * tpot
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                now = time.monotonic()
                with self.lock:
                    if i == 0:
                        self.stats.ttft.observe(now - start)
                        self.stats.prompt_tokens += prompt_tokens
                        self._interval_prompt += prompt_tokens
                    else:
                        self.stats.itl.observe(now - last)
                    self.stats.generation_tokens += 1
                    self._interval_gen += 1
                last = now
                yield tok
        finally:
            with self.lock:
                self.stats.running -= 1
                self._kv_in_use -= prompt_tokens + len(tokens)
            self.slots.release()
        with self.lock:
            self.stats.e2e.observe(time.monotonic() - start)

    def finish(self, reason: str) -> None:
        with self.lock:
            self.stats.success[reason] = self.stats.success.get(reason, 0) + 1

    def start_stat_logger(self, interval: float = 10.0) -> None:
        thread = threading.Thread(target=self._log_loop, args=(interval,), daemon=True)
        thread.start()

    def _log_loop(self, interval: float) -> None:
        idle_before = True
        while True:
            time.sleep(interval)
            with self.lock:
                prompt, gen = self._interval_prompt, self._interval_gen
                self._interval_prompt = self._interval_gen = 0
                running, waiting = self.stats.running, self.stats.waiting
            idle = prompt == 0 and gen == 0 and running == 0 and waiting == 0
            # vLLM logs at INFO only while there is activity (or right after it ended).
            if idle and idle_before:
                continue
            idle_before = idle
            logs.info(
                "loggers.py:123",
                f"Engine 000: Avg prompt throughput: {prompt / interval:.1f} tokens/s, Avg generation throughput: "
                f"{gen / interval:.1f} tokens/s, Running: {running} reqs, Waiting: {waiting} reqs, "
                f"GPU KV cache usage: {self.kv_usage() * 100:.1f}%, Prefix cache hit rate: 0.0%",
            )
