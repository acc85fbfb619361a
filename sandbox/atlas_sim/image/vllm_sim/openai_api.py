"""OpenAI-compatible request handling with vLLM 0.11.0's response and error shapes (no HTTP here)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from vllm_sim import media, shm, textgen
from vllm_sim.engine import Engine


class ApiError(Exception):
    def __init__(self, message: str, status: int = 400, err_type: str = "BadRequestError") -> None:
        super().__init__(message)
        self.message, self.status, self.err_type = message, status, err_type


def error_body(message: str, err_type: str, status: int) -> dict[str, Any]:
    return {"error": {"message": message, "type": err_type, "param": None, "code": status}}


def http_error(status: int, message: str) -> ApiError:
    # vLLM's HTTPException handler uses the status phrase as the error type.
    return ApiError(message, status, HTTPStatus(status).phrase)


def random_uuid() -> str:
    return uuid.uuid4().hex


@dataclass
class ServeContext:
    served_names: list[str]
    root: str
    max_model_len: int
    engine: Engine
    limit_mm: dict[str, int] = field(default_factory=dict)
    response_role: str = "assistant"
    created: int = field(default_factory=lambda: int(time.time()))


@dataclass
class Prepared:
    kind: str  # "chat" or "completion"
    model: str
    prompt_tokens: int
    tokens: list[str]
    finish_reason: str
    stream: bool
    include_usage: bool
    request_id: str
    # Decoded image bytes held in /dev/shm until the request is answered (vllm_sim/shm.py).
    shm_bytes: int = 0


def list_models(ctx: ServeContext) -> dict[str, Any]:
    now = int(time.time())
    cards = [
        {
            "id": name,
            "object": "model",
            "created": now,
            "owned_by": "vllm",
            "root": ctx.root,
            "parent": None,
            "max_model_len": ctx.max_model_len,
            "permission": [
                {
                    "id": f"modelperm-{random_uuid()}",
                    "object": "model_permission",
                    "created": now,
                    "allow_create_engine": False,
                    "allow_sampling": True,
                    "allow_logprobs": True,
                    "allow_search_indices": False,
                    "allow_view": True,
                    "allow_fine_tuning": False,
                    "organization": "*",
                    "group": None,
                    "is_blocking": False,
                }
            ],
        }
        for name in ctx.served_names
    ]
    return {"object": "list", "data": cards}


def _check_model(ctx: ServeContext, body: dict[str, Any]) -> str:
    model = body.get("model")
    if model is None:
        return ctx.served_names[0]
    if model not in ctx.served_names:
        raise ApiError(f"The model `{model}` does not exist.", 404, "NotFoundError")
    return str(model)


def _max_tokens(ctx: ServeContext, body: dict[str, Any], prompt_tokens: int, noun: str) -> int:
    if prompt_tokens >= ctx.max_model_len:
        raise ApiError(
            f"This model's maximum context length is {ctx.max_model_len} tokens. However, your request has "
            f"{prompt_tokens} input tokens. Please reduce the length of the input {noun}."
        )
    requested = body.get("max_completion_tokens") or body.get("max_tokens")
    if requested is None:
        return ctx.max_model_len - prompt_tokens
    if not isinstance(requested, int) or requested < 1:
        raise ApiError(f"max_tokens must be at least 1, got {requested}.")
    if prompt_tokens + requested > ctx.max_model_len:
        raise ApiError(
            f"This model's maximum context length is {ctx.max_model_len} tokens. However, you requested "
            f"{prompt_tokens + requested} tokens ({prompt_tokens} in the {noun}, {requested} in the completion). "
            f"Please reduce the length of the {noun} or completion."
        )
    return requested


def _stream_opts(body: dict[str, Any]) -> tuple[bool, bool]:
    stream = bool(body.get("stream", False))
    opts = body.get("stream_options") or {}
    return stream, bool(stream and isinstance(opts, dict) and opts.get("include_usage"))


def _parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return [p for p in content if isinstance(p, dict)]
    if content is None:
        return []
    raise ApiError("1 validation error for ChatCompletionRequest\nmessages: content must be a string or a list")


def prepare_chat(ctx: ServeContext, body: dict[str, Any]) -> Prepared:
    model = _check_model(ctx, body)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ApiError("[{'type': 'missing', 'loc': ('body', 'messages'), 'msg': 'Field required'}]")
    prompt_tokens = textgen.ASSISTANT_HEADER
    if not any(isinstance(m, dict) and m.get("role") == "system" for m in messages):
        prompt_tokens += textgen.DEFAULT_SYSTEM_TOKENS
    images: list[tuple[str, int, int]] = []
    image_data: list[bytes] = []
    question = ""
    image_urls: list[str] = []
    for message in messages:
        if not isinstance(message, dict):
            raise ApiError("Each message must be an object.")
        prompt_tokens += textgen.MESSAGE_OVERHEAD
        for part in _parts(message.get("content")):
            kind = part.get("type")
            if kind == "text":
                text = str(part.get("text", ""))
                prompt_tokens += textgen.count_tokens(text)
                if message.get("role") == "user":
                    question = text
            elif kind == "image_url":
                ref = part.get("image_url")
                image_urls.append(ref.get("url", "") if isinstance(ref, dict) else str(ref))
            elif kind in ("input_audio", "audio_url", "video_url"):
                raise ApiError(f"At most 0 {kind.split('_')[0]}(s) may be provided in one prompt.")
    allowed = int(ctx.limit_mm.get("image", 999))
    if len(image_urls) > allowed:
        raise ApiError(f"At most {allowed} image(s) may be provided in one prompt.")
    for url in image_urls:
        try:
            images.append(media.load_image(url))
            image_data.append(media.decode_data_uri(url))
        except media.BadImage as exc:
            raise ApiError(str(exc)) from exc
        except media.FetchFailed as exc:
            raise http_error(500, str(exc)) from exc
    # Held from here until the request is answered (the HTTP handler releases it); a refusal below gives it back.
    held = shm.image_bytes(images)
    shm.hold(held)
    try:
        prompt_tokens += sum(textgen.image_tokens(w, h) for _, w, h in images)
        max_tokens = _max_tokens(ctx, body, prompt_tokens, "messages")
        tokens, reason = textgen.generate(
            textgen.answer_text(images, question, image_data),
            max_tokens,
            bool(body.get("ignore_eos")),
            int(body.get("min_tokens") or 0),
        )
        stream, usage = _stream_opts(body)
    except BaseException:
        shm.release(held)
        raise
    return Prepared("chat", model, prompt_tokens, tokens, reason, stream, usage, f"chatcmpl-{random_uuid()}", held)


def prepare_completion(ctx: ServeContext, body: dict[str, Any]) -> Prepared:
    model = _check_model(ctx, body)
    prompt = body.get("prompt")
    if isinstance(prompt, list):
        if prompt and all(isinstance(t, int) for t in prompt):
            prompt_tokens, text = len(prompt), ""
        else:
            text = " ".join(str(p) for p in prompt)
            prompt_tokens = textgen.count_tokens(text)
    elif isinstance(prompt, str):
        text, prompt_tokens = prompt, textgen.count_tokens(prompt)
    else:
        raise ApiError("[{'type': 'missing', 'loc': ('body', 'prompt'), 'msg': 'Field required'}]")
    max_tokens = body.get("max_tokens")
    if max_tokens is None:
        body = {**body, "max_tokens": 16}  # the Completions API's default
    max_tokens = _max_tokens(ctx, body, prompt_tokens, "prompt")
    tokens, reason = textgen.generate(
        textgen.answer_text([], text), max_tokens, bool(body.get("ignore_eos")), int(body.get("min_tokens") or 0)
    )
    stream, usage = _stream_opts(body)
    return Prepared("completion", model, prompt_tokens, tokens, reason, stream, usage, f"cmpl-{random_uuid()}")


def _usage(prep: Prepared, completion: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prep.prompt_tokens,
        "total_tokens": prep.prompt_tokens + completion,
        "completion_tokens": completion,
        "prompt_tokens_details": None,
    }


def full_response(ctx: ServeContext, prep: Prepared) -> dict[str, Any]:
    out = list(ctx.engine.run(prep.prompt_tokens, prep.tokens))
    ctx.engine.finish(prep.finish_reason)
    text = "".join(out)
    created = int(time.time())
    if prep.kind == "chat":
        return {
            "id": prep.request_id,
            "object": "chat.completion",
            "created": created,
            "model": prep.model,
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": ctx.response_role,
                        "content": text,
                        "refusal": None,
                        "annotations": None,
                        "audio": None,
                        "function_call": None,
                        "tool_calls": [],
                        "reasoning_content": None,
                    },
                    "logprobs": None,
                    "finish_reason": prep.finish_reason,
                    "stop_reason": None,
                    "token_ids": None,
                }
            ],
            "service_tier": None,
            "system_fingerprint": None,
            "usage": _usage(prep, len(out)),
            "prompt_logprobs": None,
            "prompt_token_ids": None,
            "kv_transfer_params": None,
        }
    return {
        "id": prep.request_id,
        "object": "text_completion",
        "created": created,
        "model": prep.model,
        "choices": [
            {
                "index": 0,
                "text": text,
                "logprobs": None,
                "finish_reason": prep.finish_reason,
                "stop_reason": None,
                "token_ids": None,
                "prompt_logprobs": None,
                "prompt_token_ids": None,
            }
        ],
        "service_tier": None,
        "system_fingerprint": None,
        "usage": _usage(prep, len(out)),
        "kv_transfer_params": None,
    }


def _sse(obj: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(obj, separators=(',', ':'))}\n\n".encode()


def stream_response(ctx: ServeContext, prep: Prepared) -> Iterator[bytes]:
    """SSE events as vLLM sends them (exclude_unset JSON, a role chunk first for chat, usage last, [DONE])."""
    created = int(time.time())
    head = {
        "id": prep.request_id,
        "object": "chat.completion.chunk" if prep.kind == "chat" else "text_completion",
        "created": created,
        "model": prep.model,
    }
    sent = 0
    last = len(prep.tokens) - 1
    for i, tok in enumerate(ctx.engine.run(prep.prompt_tokens, prep.tokens)):
        finish = prep.finish_reason if i == last else None
        if prep.kind == "chat":
            if i == 0:
                role = {
                    "index": 0,
                    "delta": {"role": ctx.response_role, "content": ""},
                    "logprobs": None,
                    "finish_reason": None,
                }
                yield _sse({**head, "choices": [role]})
            choice: dict[str, Any] = {"index": 0, "delta": {"content": tok}, "logprobs": None, "finish_reason": finish}
        else:
            choice = {"index": 0, "text": tok, "logprobs": None, "finish_reason": finish}
        if finish is not None:
            choice["stop_reason"] = None
        sent += 1
        yield _sse({**head, "choices": [choice]})
    ctx.engine.finish(prep.finish_reason)
    if prep.include_usage:
        usage = _usage(prep, sent)
        usage.pop("prompt_tokens_details")
        yield _sse({**head, "choices": [], "usage": usage})
    yield b"data: [DONE]\n\n"
