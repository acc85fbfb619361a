# Copyright: contributors to atlas-vllm
# Apache License 2.0 (see LICENSE)
"""Helpers for waiting on a vLLM OpenAI-compatible server and probing it, for the ``vllm_health`` module.

They run on the target node, so they use the standard library only and stay compatible with Python 3.9. Apart
from ``http_request`` (one HTTP exchange) nothing here does I/O: the classifiers and parsers take what was
received and return plain data, so the unit tests exercise them without servers or containers.

Readiness follows how ``vllm serve`` starts: it binds its port before loading the model but only listens once the
engine is up, so a refused connection means "still loading", not "down". ``/health`` then answers 200 and
``/v1/models`` lists the served model with its ``max_model_len``.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import ssl
import time
from typing import Any
from urllib.parse import urlsplit

LOADING = "loading"
UNREACHABLE = "unreachable"
UNHEALTHY = "unhealthy"
READY = "ready"
FAILED = "failed"
STATES = (LOADING, UNREACHABLE, UNHEALTHY, READY, FAILED)

DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant."

# The suboptions every module that talks to vLLM servers takes for each of its O(instances).
INSTANCE_OPTIONS: dict[str, dict[str, Any]] = {
    "name": {"type": "str", "required": True},
    "url": {"type": "str", "required": True},
}

_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
)


# --- endpoints and HTTP ---------------------------------------------------------------------------------------


def parse_url(url: str) -> dict[str, Any]:
    """``http://10.0.0.5:8000/`` → ``{scheme, host, port, base}``; ValueError names what is wrong."""
    parts = urlsplit((url or "").strip())
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"url {url!r} must start with http:// or https://")
    if not parts.hostname:
        raise ValueError(f"url {url!r} has no host")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"url {url!r} has an invalid port") from exc
    return {
        "scheme": parts.scheme,
        "host": parts.hostname,
        "port": port or (443 if parts.scheme == "https" else 80),
        "base": parts.path.rstrip("/"),
    }


def short_label(name: str, url: str) -> str:
    """How progress lines name an instance: its name and port, e.g. ``qwen-b :8001``."""
    try:
        return f"{name} :{parse_url(url)['port']}"
    except ValueError:
        return name


def classify_exception(exc: BaseException) -> tuple[str, str]:
    """Map a failed connection attempt to ``(kind, detail)``; kind is refused, timeout, reset or unreachable."""
    if isinstance(exc, ConnectionRefusedError):
        return "refused", "connection refused"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timeout", "timed out"
    if isinstance(exc, socket.gaierror):
        return "unreachable", f"cannot resolve host: {exc.strerror or exc}"
    if isinstance(exc, (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected)):
        return "reset", f"connection closed by the server ({type(exc).__name__})"
    if isinstance(exc, ssl.SSLError):
        return "unreachable", f"TLS error: {exc}"
    if isinstance(exc, http.client.HTTPException):
        return "reset", f"bad HTTP response ({type(exc).__name__}: {exc})"
    if isinstance(exc, OSError):
        return "unreachable", exc.strerror or str(exc) or type(exc).__name__
    return "unreachable", f"{type(exc).__name__}: {exc}"


def auth_headers(api_key: str | None) -> dict[str, str]:
    """``--api-key`` guards the ``/v1`` routes with ``Authorization: Bearer KEY``; sending it everywhere is harmless."""
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def http_request(
    url: str,
    path: str,
    method: str = "GET",
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 5.0,
    validate_certs: bool = True,
) -> dict[str, Any]:
    """One HTTP exchange. Never raises for network trouble: returns ``{status, body, error_kind, error, elapsed_s}``.

    ``status`` is None when no HTTP response arrived; then ``error_kind`` says why (see ``classify_exception``).
    """
    endpoint = parse_url(url)
    if endpoint["scheme"] == "https":
        context = ssl.create_default_context()
        if not validate_certs:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            endpoint["host"], endpoint["port"], timeout=timeout, context=context
        )
    else:
        conn = http.client.HTTPConnection(endpoint["host"], endpoint["port"], timeout=timeout)
    send_headers = {"Accept": "application/json", **(headers or {})}
    payload = None
    if body is not None:
        payload = json.dumps(body).encode("utf-8")
        send_headers["Content-Type"] = "application/json"
    started = time.monotonic()
    try:
        conn.request(method, endpoint["base"] + path, body=payload, headers=send_headers)
        response = conn.getresponse()
        data = response.read()
        return {"status": response.status, "body": data, "error_kind": None, "error": None,
                "elapsed_s": time.monotonic() - started}
    except Exception as exc:  # noqa: BLE001 - every failure becomes a state, the caller keeps polling
        kind, detail = classify_exception(exc)
        return {"status": None, "body": b"", "error_kind": kind, "error": detail,
                "elapsed_s": time.monotonic() - started}
    finally:
        conn.close()


def network_state(reply: dict[str, Any], what: str) -> tuple[str, str]:
    """State of an instance whose request got no HTTP response. Refused means vLLM is still loading the model."""
    if reply["error_kind"] == "refused":
        return LOADING, f"{what}: connection refused (the server binds its port but listens only once loaded)"
    return UNREACHABLE, f"{what}: {reply['error']}"


def health_state(reply: dict[str, Any]) -> tuple[str, str]:
    """``GET /health`` → ``(state, detail)``; READY here only means "go on and read /v1/models"."""
    if reply["status"] is None:
        return network_state(reply, "GET /health")
    if reply["status"] == 200:
        return READY, "GET /health returned 200"
    # vLLM answers 503 when the engine died; the process normally exits right after.
    return UNHEALTHY, f"GET /health returned {reply['status']}{_body_hint(reply['body'])}"


def models_state(reply: dict[str, Any], served_model_name: str | None) -> tuple[str, str, dict[str, Any]]:
    """``GET /v1/models`` → ``(state, detail, model)``.

    A missing served name, a rejected API key or a server that is not OpenAI-compatible cannot fix itself by
    waiting, so those are FAILED at once instead of burning the whole deadline.
    """
    if reply["status"] is None:
        state, detail = network_state(reply, "GET /v1/models")
        return state, detail, {}
    status = reply["status"]
    if status in (401, 403):
        return FAILED, f"GET /v1/models returned {status}: api_key is missing or wrong", {}
    if status == 404:
        return FAILED, "GET /v1/models returned 404: not an OpenAI-compatible (vLLM) server", {}
    if status != 200:
        return UNHEALTHY, f"GET /v1/models returned {status}{_body_hint(reply['body'])}", {}
    try:
        model = parse_models(reply["body"], served_model_name)
    except ValueError as exc:
        return UNHEALTHY, f"GET /v1/models: {exc}", {}
    if not model["found"]:
        return (
            FAILED,
            f"model {served_model_name!r} is not served here; /v1/models lists {model['ids']!r} "
            "(check served_model_name against --served-model-name)",
            model,
        )
    return READY, f"serving {model['id']!r}, max_model_len {model['max_model_len']}", model


def parse_models(body: bytes | str, served_model_name: str | None) -> dict[str, Any]:
    """Find the served model in a ``ModelList``; without a name, the first model counts.

    Returns ``{found, ids, id, max_model_len, root}``; ValueError when the body is not a model list.
    """
    try:
        data = json.loads(body or b"null")
    except ValueError as exc:
        raise ValueError("the answer is not JSON") from exc
    cards = data.get("data") if isinstance(data, dict) else None
    if not isinstance(cards, list):
        raise ValueError("the answer has no 'data' list of models")
    ids = [card.get("id") for card in cards if isinstance(card, dict)]
    match = None
    for card in cards:
        if isinstance(card, dict) and (served_model_name is None or card.get("id") == served_model_name):
            match = card
            break
    if match is None:
        return {"found": False, "ids": ids, "id": None, "max_model_len": None, "root": None}
    max_len = match.get("max_model_len")
    return {
        "found": True,
        "ids": ids,
        "id": match.get("id"),
        "max_model_len": max_len if isinstance(max_len, int) else None,
        "root": match.get("root"),
    }


def error_message(body: bytes | str) -> str | None:
    """The message of an OpenAI/vLLM error body (``{"error": {...}}``, ``{"message": ...}`` or ``{"detail": ...}``)."""
    try:
        data = json.loads(body or b"null")
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    error = data.get("error")
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    if isinstance(error, str):
        return error
    for key in ("message", "detail"):
        if data.get(key):
            return str(data[key])
    return None


def _body_hint(body: bytes | str) -> str:
    message = error_message(body)
    if message:
        return f": {message[:300]}"
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
    text = " ".join(text.split())
    return f": {text[:300]}" if text else ""


# --- multimodal probe -----------------------------------------------------------------------------------------


def sniff_image_mime(data: bytes) -> str | None:
    """MIME type from the first bytes (PNG, JPEG, GIF, BMP, WebP); None when unknown."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for magic, mime in _IMAGE_MAGIC:
        if data.startswith(magic):
            return mime
    return None


def image_data_uri(data: bytes) -> str:
    """``data:image/png;base64,...``; ValueError for bytes that are not a known image format."""
    mime = sniff_image_mime(data)
    if mime is None:
        raise ValueError("not a PNG, JPEG, GIF, BMP or WebP image (unknown magic bytes)")
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def build_chat_request(
    model: str,
    image: bytes,
    prompt: str,
    max_tokens: int = 64,
    system: str | None = DEFAULT_SYSTEM_PROMPT,
) -> dict[str, Any]:
    """Body of ``POST /v1/chat/completions`` with one inline image and one question, as in the Qwen2.5-VL tutorial.

    Temperature 0 keeps the answer reproducible between runs, so nightly reports can be compared.
    """
    messages: list[dict[str, Any]] = []
    if system:
        messages.append({"role": "system", "content": system})
    messages.append(
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": image_data_uri(image)}},
                {"type": "text", "text": prompt},
            ],
        }
    )
    return {"model": model, "messages": messages, "max_tokens": max_tokens, "temperature": 0}


def parse_chat_response(body: bytes | str) -> dict[str, Any]:
    """``ChatCompletionResponse`` → ``{answer, finish_reason, usage, model, id}``; ValueError on another shape."""
    try:
        data = json.loads(body or b"null")
    except ValueError as exc:
        raise ValueError("the answer is not JSON") from exc
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise ValueError("the answer has no choices")
    message = choices[0].get("message") or {}
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, list):  # some servers return content parts
        content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
    raw_usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    usage = {key: raw_usage.get(key) for key in ("prompt_tokens", "completion_tokens", "total_tokens")}
    return {
        "answer": content if isinstance(content, str) else "",
        "finish_reason": choices[0].get("finish_reason"),
        "usage": usage,
        "model": data.get("model"),
        "id": data.get("id"),
    }
