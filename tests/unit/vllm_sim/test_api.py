"""The OpenAI-compatible API of a running simulated server: shapes, image handling, streaming and auth."""

from __future__ import annotations

import base64
import http.client
import json

from vllm_sim_support import Server, png


def data_uri(payload: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(payload).decode()}"


def chat(url: str, text: str = "What is in the picture?", **extra: object) -> dict:
    content = [{"type": "image_url", "image_url": {"url": url}}, {"type": "text", "text": text}]
    return {"model": "qwen2.5-vl", "messages": [{"role": "user", "content": content}], "max_tokens": 64, **extra}


def test_health_version_ping(running: Server) -> None:
    assert running.request("GET", "/health")[::2] == (200, b"")
    assert running.request("POST", "/ping")[0] == 200
    assert running.json("GET", "/version") == (200, {"version": "0.11.0"})


def test_models_list_shape(running: Server) -> None:
    status, body = running.json("GET", "/v1/models")
    assert status == 200
    assert body["object"] == "list"
    (card,) = body["data"]
    assert set(card) == {"id", "object", "created", "owned_by", "root", "parent", "max_model_len", "permission"}
    assert card["id"] == "qwen2.5-vl"
    assert card["object"] == "model"
    assert card["owned_by"] == "vllm"
    assert card["root"] == str(running.sim.model)
    assert card["parent"] is None
    assert card["max_model_len"] == 16384
    (perm,) = card["permission"]
    assert perm["object"] == "model_permission"
    assert perm["id"].startswith("modelperm-")
    assert perm["organization"] == "*"
    assert perm["allow_sampling"] is True and perm["is_blocking"] is False


def test_chat_with_png_data_uri(running: Server) -> None:
    status, body = running.json("POST", "/v1/chat/completions", chat(data_uri(png(56, 28)), "Describe it please"))
    assert status == 200, body
    assert body["object"] == "chat.completion"
    assert body["id"].startswith("chatcmpl-")
    choice = body["choices"][0]
    assert choice["message"]["role"] == "assistant"
    assert "56x28 PNG" in choice["message"]["content"]
    assert "Describe it please" in choice["message"]["content"]
    assert choice["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["prompt_tokens"] > 4  # text + the image's (2x1 patches + 2 markers) tokens + template
    assert set(body) >= {"service_tier", "system_fingerprint", "prompt_logprobs", "kv_transfer_params"}


def test_non_image_data_uri_is_rejected(running: Server) -> None:
    status, body = running.json("POST", "/v1/chat/completions", chat(data_uri(b"hello, not an image", "image/png")))
    assert status == 400
    error = body["error"]
    assert error["type"] == "BadRequestError"
    assert error["code"] == 400
    assert error["message"].startswith("cannot identify image file <_io.BytesIO object at")


def test_http_image_url_fails_without_uplink(running: Server) -> None:
    url = "https://modelscope.oss-cn-beijing.aliyuncs.com/resource/qwen.png"
    status, body = running.json("POST", "/v1/chat/completions", chat(url))
    assert status == 500
    assert body["error"]["message"] == (
        "Cannot connect to host modelscope.oss-cn-beijing.aliyuncs.com:443 ssl:default "
        "[Temporary failure in name resolution]"
    )


def test_image_limit(running: Server) -> None:
    url = data_uri(png(8, 8))
    content = [{"type": "image_url", "image_url": {"url": url}}] * 3 + [{"type": "text", "text": "hi"}]
    status, body = running.json(
        "POST", "/v1/chat/completions", {"model": "qwen2.5-vl", "messages": [{"role": "user", "content": content}]}
    )
    assert status == 400
    assert body["error"]["message"] == "At most 2 image(s) may be provided in one prompt."


def test_unknown_model(running: Server) -> None:
    status, body = running.json("POST", "/v1/completions", {"model": "gpt-4", "prompt": "hi"})
    assert status == 404
    assert body == {
        "error": {"message": "The model `gpt-4` does not exist.", "type": "NotFoundError", "param": None, "code": 404}
    }


def test_completion_with_ignore_eos(running: Server) -> None:
    status, body = running.json(
        "POST",
        "/v1/completions",
        {"model": "qwen2.5-vl", "prompt": "alpha beta gamma", "max_tokens": 7, "ignore_eos": True},
    )
    assert status == 200
    assert body["object"] == "text_completion"
    assert body["usage"] == {
        "prompt_tokens": 3,
        "total_tokens": 10,
        "completion_tokens": 7,
        "prompt_tokens_details": None,
    }
    assert body["choices"][0]["finish_reason"] == "length"


def test_context_length_error(running: Server) -> None:
    status, body = running.json(
        "POST", "/v1/completions", {"model": "qwen2.5-vl", "prompt": "alpha beta", "max_tokens": 20000}
    )
    assert status == 400
    assert body["error"]["message"].startswith("This model's maximum context length is 16384 tokens.")


def stream_events(server: Server, path: str, body: dict) -> tuple[int, str, list[str]]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
    conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    raw = resp.read().decode()
    conn.close()
    return resp.status, resp.getheader("content-type") or "", [e for e in raw.split("\n\n") if e]


def test_chat_streaming(running: Server) -> None:
    body = chat(data_uri(png(16, 16)), stream=True, stream_options={"include_usage": True})
    status, ctype, events = stream_events(running, "/v1/chat/completions", body)
    assert status == 200
    assert ctype.startswith("text/event-stream")
    assert all(e.startswith("data: ") for e in events)
    assert events[-1] == "data: [DONE]"
    chunks = [json.loads(e[6:]) for e in events[:-1]]
    assert chunks[0]["object"] == "chat.completion.chunk"
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    texts = [c["choices"][0]["delta"]["content"] for c in chunks[1:-1]]
    assert "16x16 PNG" in "".join(texts)
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == len(texts)


def test_completion_streaming(running: Server) -> None:
    body = {"model": "qwen2.5-vl", "prompt": "alpha", "max_tokens": 5, "ignore_eos": True, "stream": True}
    status, _, events = stream_events(running, "/v1/completions", body)
    assert status == 200
    chunks = [json.loads(e[6:]) for e in events[:-1]]
    assert len(chunks) == 5
    assert all(c["object"] == "text_completion" for c in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"


def test_metrics(running: Server) -> None:
    status, headers, body = running.request("GET", "/metrics")
    assert status == 200
    assert headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    text = body.decode()
    for name in (
        "vllm:num_requests_running",
        "vllm:num_requests_waiting",
        "vllm:kv_cache_usage_perc",
        "vllm:prompt_tokens_total",
        "vllm:generation_tokens_total",
        "vllm:request_success_total",
        "vllm:num_preemptions_total",
        "vllm:time_to_first_token_seconds_bucket",
        "vllm:inter_token_latency_seconds_count",
        "vllm:e2e_request_latency_seconds_sum",
    ):
        assert f"\n{name}{{" in text, name
    assert "# TYPE vllm:time_to_first_token_seconds histogram" in text
    assert 'model_name="qwen2.5-vl"' in text


def test_access_log(running: Server) -> None:
    running.request("GET", "/version")
    assert '"GET /version HTTP/1.1" 200 OK' in running.stdout


def test_api_key(sim, server_factory) -> None:
    server = server_factory("--api-key", "s3cret")
    server.wait_ready()
    assert server.json("GET", "/v1/models") == (401, {"error": "Unauthorized"})
    assert server.json("GET", "/v1/models", headers={"Authorization": "Bearer wrong"})[0] == 401
    assert server.json("GET", "/v1/models", headers={"Authorization": "Bearer s3cret"})[0] == 200
    assert server.request("GET", "/health")[0] == 200


def test_a_route_asked_with_the_wrong_method_is_405_and_an_unknown_path_404(running: Server) -> None:
    # FastAPI answers 405 for a path it routes with other methods, 404 for a path it does not route.
    assert running.json("POST", "/docs/oauth2-redirect", {}) == (405, {"detail": "Method Not Allowed"})
    assert running.json("GET", "/v1/chat/completions") == (405, {"detail": "Method Not Allowed"})
    assert running.json("GET", "/no/such/route") == (404, {"detail": "Not Found"})
