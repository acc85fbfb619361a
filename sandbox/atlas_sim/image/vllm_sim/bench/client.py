"""One streamed request, timed as vLLM's backend_request_func does (first chunk = TTFT, then one ITL per chunk)."""

from __future__ import annotations

import http.client
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from vllm_sim.bench.dataset import SampleRequest

TIMEOUT_S = 6 * 60 * 60  # aiohttp.ClientTimeout(total=6 * 60 * 60) in vLLM


@dataclass
class RequestOutput:
    prompt_len: int = 0
    output_tokens: int = 0
    generated_text: str = ""
    success: bool = False
    latency: float = 0.0
    ttft: float = 0.0
    itl: list[float] = field(default_factory=list)
    start_time: float = 0.0
    error: str = ""


def build_payload(backend: str, model: str, req: SampleRequest, args: Any) -> dict[str, Any]:
    sampling = {
        k: v
        for k, v in (
            ("top_p", args.top_p),
            ("top_k", args.top_k),
            ("min_p", args.min_p),
            ("temperature", args.temperature),
        )
        if v is not None
    }
    if backend == "openai-chat":
        content: list[dict[str, Any]] = [{"type": "text", "text": req.prompt}]
        content += [{"type": "image_url", "image_url": {"url": url}} for url in req.images]
        payload: dict[str, Any] = {
            "model": model,
            "messages": [{"role": "user", "content": content}],
            "temperature": 0.0,
            "max_completion_tokens": req.expected_output_len,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
    else:
        payload = {
            "model": model,
            "prompt": req.prompt,
            "temperature": 0.0,
            "repetition_penalty": 1.0,
            "max_tokens": req.expected_output_len,
            "logprobs": args.logprobs,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
    payload.update(sampling)
    if args.ignore_eos:
        payload["ignore_eos"] = True
    return payload


def send(url: str, payload: dict[str, Any], headers: dict[str, str], prompt_len: int, chat: bool) -> RequestOutput:
    out = RequestOutput(prompt_len=prompt_len)
    parts = urlsplit(url)
    conn_cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    body = json.dumps(payload).encode()
    hdrs = {"Content-Type": "application/json", **headers}
    api_key = os.environ.get("OPENAI_API_KEY")
    if api_key:
        hdrs["Authorization"] = f"Bearer {api_key}"
    start = time.perf_counter()
    out.start_time = start
    last = start
    conn = conn_cls(parts.hostname or "127.0.0.1", parts.port, timeout=TIMEOUT_S)
    try:
        conn.request("POST", parts.path + (f"?{parts.query}" if parts.query else ""), body=body, headers=hdrs)
        resp = conn.getresponse()
        if resp.status != 200:
            out.error = resp.reason or str(resp.status)
            resp.read()
            return out
        while True:
            line = resp.readline()
            if not line:
                break
            chunk = line.strip()
            if not chunk.startswith(b"data:"):
                continue
            data = chunk[5:].strip()
            if data == b"[DONE]":
                continue
            obj = json.loads(data)
            now = time.perf_counter()
            if choices := obj.get("choices"):
                text = (choices[0].get("delta") or {}).get("content") if chat else choices[0].get("text")
                if out.ttft == 0.0:
                    out.ttft = now - start
                else:
                    out.itl.append(now - last)
                last = now
                out.generated_text += text or ""
            elif usage := obj.get("usage"):
                out.output_tokens = int(usage.get("completion_tokens") or 0)
        out.latency = last - start
        out.success = bool(out.generated_text) or out.output_tokens > 0
        if not out.success:
            out.error = "Never received a valid chunk to calculate TTFT.This response will be marked as failed!"
    except (OSError, http.client.HTTPException, json.JSONDecodeError) as exc:
        out.error = f"{type(exc).__name__}: {exc}"
        out.success = False
    finally:
        conn.close()
    return out
