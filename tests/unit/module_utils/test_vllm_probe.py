"""The pure helpers of vllm_health: connection classification, /v1/models, the multimodal request, docker state."""

from __future__ import annotations

import base64
import json
import socket
import sys
from pathlib import Path

import pytest
from ansible_collections.atlas.vllm.plugins.module_utils import vllm_containers as vc
from ansible_collections.atlas.vllm.plugins.module_utils import vllm_probe as vp

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vllm_health"
sys.path.insert(0, str(FIXTURES))

from vllm_health_fakes import PNG_2X2, FakeVllm, inspect_record  # noqa: E402


def text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def reply(status=None, body=b"", kind=None, error=None):
    return {"status": status, "body": body, "error_kind": kind, "error": error, "elapsed_s": 0.01}


# --- urls and connection attempts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8000", {"scheme": "http", "host": "127.0.0.1", "port": 8000, "base": ""}),
        ("http://10.0.0.5:8001/", {"scheme": "http", "host": "10.0.0.5", "port": 8001, "base": ""}),
        ("https://gw.example/vllm/", {"scheme": "https", "host": "gw.example", "port": 443, "base": "/vllm"}),
        ("http://[::1]:8000", {"scheme": "http", "host": "::1", "port": 8000, "base": ""}),
    ],
)
def test_parse_url(url, expected):
    assert vp.parse_url(url) == expected


@pytest.mark.parametrize("url", ["127.0.0.1:8000", "ftp://x", "http://", "http://h:99999"])
def test_parse_url_rejects(url):
    with pytest.raises(ValueError, match="url"):
        vp.parse_url(url)


def test_short_label_uses_the_port():
    assert vp.short_label("vllm-1", "http://127.0.0.1:8001") == "vllm-1 :8001"
    assert vp.short_label("odd", "nonsense") == "odd"


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (ConnectionRefusedError(111, "Connection refused"), "refused"),
        (TimeoutError(), "timeout"),
        (socket.gaierror(-2, "Name or service not known"), "unreachable"),
        (ConnectionResetError(104, "reset"), "reset"),
        (OSError(113, "No route to host"), "unreachable"),
    ],
)
def test_classify_exception(exc, kind):
    assert vp.classify_exception(exc)[0] == kind


def test_http_request_to_a_bound_but_not_listening_port_is_refused():
    server = FakeVllm(load_seconds=None)
    try:
        got = vp.http_request(server.url, "/health", timeout=2)
        assert (got["status"], got["error_kind"]) == (None, "refused")
        assert vp.health_state(got)[0] == vp.LOADING
        server.start_listening()
        got = vp.http_request(server.url, "/health", headers=vp.auth_headers("k"), timeout=2)
        assert got["status"] == 200
        assert server.requests[-1]["headers"]["Authorization"] == "Bearer k"
    finally:
        server.close()


def test_health_state():
    assert vp.health_state(reply(200))[0] == vp.READY
    state, detail = vp.health_state(reply(503, b'{"error": {"message": "engine dead"}}'))
    assert state == vp.UNHEALTHY and "503: engine dead" in detail
    state, detail = vp.health_state(reply(kind="timeout", error="timed out"))
    assert state == vp.UNREACHABLE and "timed out" in detail
    assert vp.health_state(reply(kind="refused", error="connection refused"))[0] == vp.LOADING


def test_auth_headers_empty_without_key():
    assert vp.auth_headers(None) == {}
    assert vp.auth_headers("") == {}


# --- /v1/models ---------------------------------------------------------------------------------------------


def test_parse_models_on_the_reference_sample():
    body = text("v1_models_sample.json")
    model = vp.parse_models(body, "DeepSeek-R1-Distill-Qwen-1.5B")
    assert model == {"found": True, "ids": ["DeepSeek-R1-Distill-Qwen-1.5B"], "id": "DeepSeek-R1-Distill-Qwen-1.5B",
                     "max_model_len": 20096, "root": "/data/model"}
    assert vp.parse_models(body, None)["id"] == "DeepSeek-R1-Distill-Qwen-1.5B"


def test_models_state_missing_name_fails_at_once_and_lists_what_is_served():
    state, detail, model = vp.models_state(reply(200, text("v1_models_sample.json").encode()), "qwen2.5-vl")
    assert state == vp.FAILED
    assert "'qwen2.5-vl' is not served here" in detail
    assert "DeepSeek-R1-Distill-Qwen-1.5B" in detail
    assert model["found"] is False


@pytest.mark.parametrize(
    ("status", "state"), [(401, vp.FAILED), (403, vp.FAILED), (404, vp.FAILED), (500, vp.UNHEALTHY)]
)
def test_models_state_http_errors(status, state):
    assert vp.models_state(reply(status, b'{"error": "Unauthorized"}'), "m")[0] == state


def test_models_state_ready_reports_max_model_len():
    state, detail, model = vp.models_state(reply(200, text("v1_models_sample.json").encode()), None)
    assert state == vp.READY
    assert "max_model_len 20096" in detail
    assert model["max_model_len"] == 20096


@pytest.mark.parametrize("body", [b"<html>", b"[]", b'{"data": 3}'])
def test_models_state_garbage_is_transient(body):
    assert vp.models_state(reply(200, body), "m")[0] == vp.UNHEALTHY


# --- the multimodal probe -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (PNG_2X2, "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"GIF89a\x01\x00", "image/gif"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"BM\x36\x00", "image/bmp"),
        (b"hello", None),
    ],
)
def test_sniff_image_mime(data, mime):
    assert vp.sniff_image_mime(data) == mime


def test_build_chat_request_matches_the_tutorial_shape():
    body = vp.build_chat_request("qwen2.5-vl", PNG_2X2, "What is the text in the illustrate?", 32)
    assert body["model"] == "qwen2.5-vl"
    assert body["max_tokens"] == 32
    assert body["temperature"] == 0
    system, user = body["messages"]
    assert system == {"role": "system", "content": "You are a helpful assistant."}
    image, question = user["content"]
    assert image["type"] == "image_url"
    url = image["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    assert base64.b64decode(url.split(",", 1)[1]) == PNG_2X2
    assert question == {"type": "text", "text": "What is the text in the illustrate?"}
    json.dumps(body)  # must be serialisable as is


def test_build_chat_request_without_system_message():
    body = vp.build_chat_request("m", PNG_2X2, "q", system="")
    assert [m["role"] for m in body["messages"]] == ["user"]


def test_build_chat_request_refuses_non_images():
    with pytest.raises(ValueError, match="not a PNG, JPEG"):
        vp.build_chat_request("m", b"%PDF-1.7", "q")


def test_parse_chat_response_on_the_reference_sample():
    parsed = vp.parse_chat_response(text("chat_completion_sample.json"))
    assert parsed["answer"] == "The text in the illustration is:\n\n**TONGYI Qwen**"
    assert parsed["usage"] == {"prompt_tokens": 73, "completion_tokens": 16, "total_tokens": 89}
    assert parsed["finish_reason"] == "stop"
    assert parsed["model"] == "Qwen/Qwen2.5-VL-32B-Instruct"


@pytest.mark.parametrize("body", ["", "{}", '{"choices": []}', "not json"])
def test_parse_chat_response_rejects_other_shapes(body):
    with pytest.raises(ValueError):
        vp.parse_chat_response(body)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"error": {"message": "The model `x` does not exist.", "type": "NotFoundError", "code": 404}}',
         "The model `x` does not exist."),
        ('{"object": "error", "message": "old style", "code": 400}', "old style"),
        ('{"detail": "Not Found"}', "Not Found"),
        ('{"error": "Unauthorized"}', "Unauthorized"),
        ("plain", None),
    ],
)
def test_error_message(body, message):
    assert vp.error_message(body) == message


# --- containers ---------------------------------------------------------------------------------------------


def test_parse_inspect_running():
    container = vc.parse_inspect(text("docker_inspect_running.json"))
    assert container == {
        "name": "vllm-qwen-0", "status": "running", "running": True, "restarting": False, "exit_code": 0,
        "oom_killed": False, "error": None, "started_at": "2026-11-29T21:59:01.123456789Z",
        "finished_at": "0001-01-01T00:00:00Z", "restart_count": 0, "restart_policy": "always",
        "shm_size": 1073741824, "image": "quay.io/ascend/vllm-ascend:v0.11.0rc1",
        "image_id": "sha256:9b1c3e5a7d9f1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b1d",
    }
    assert vc.judge_container(container, vc.baseline_of(container)) == (False, "is running")
    # Without --shm-size docker reports 0 and gives the container its 64 MB default.
    unset = inspect_record("c")
    unset[0]["HostConfig"]["ShmSize"] = 0
    assert vc.parse_inspect(json.dumps(unset))["shm_size"] == 64 * 1024 * 1024


@pytest.mark.parametrize("body", ["[]", "", "{}", "[{}]"])
def test_parse_inspect_without_container(body):
    with pytest.raises(ValueError):
        vc.parse_inspect(body)


def judge(baseline=None, **state):
    return vc.judge_container(vc.parse_inspect(json.dumps(inspect_record("c", **state))), baseline)


def test_exited_container_is_a_crash_with_its_exit_code():
    crashed, reason = judge(status="exited", exit_code=1)
    assert crashed and reason == "has exited with exit code 1"


def test_restarting_container_is_a_crash():
    crashed, reason = judge(status="restarting", exit_code=1, restarting=True, restart_count=3)
    assert crashed and "exited with code 1" in reason and "restart policy" in reason


def test_restart_count_above_baseline_is_a_crash_even_when_running_again():
    base = {"restart_count": 0, "started_at": "2026-11-29T21:59:01.123456789Z"}
    crashed, reason = judge(base, restart_count=1, started_at="2026-11-29T22:00:14.2Z", exit_code=1)
    assert crashed and "0 → 1 restarts" in reason and "last exit code 1" in reason


def test_new_start_time_is_a_crash_even_with_the_same_restart_count():
    # `docker restart` or a daemon-side restart leaves RestartCount alone but changes StartedAt.
    base = {"restart_count": 2, "started_at": "2026-11-29T21:59:01.123456789Z"}
    crashed, reason = judge(base, restart_count=2, started_at="2026-11-29T22:05:00.0Z")
    assert crashed and "restarted at 2026-11-29T22:05:00.0Z" in reason


def test_running_with_old_restarts_is_fine_against_its_own_baseline():
    base = {"restart_count": 2, "started_at": "2026-11-29T21:59:01.123456789Z"}
    assert judge(base, restart_count=2) == (False, "is running")


def test_oom_and_start_errors_are_named():
    record = inspect_record("c", status="exited", exit_code=137)
    record[0]["State"]["OOMKilled"] = True
    crashed, reason = vc.judge_container(vc.parse_inspect(json.dumps(record)), None)
    assert crashed and "137 (killed by the OOM killer)" in reason
    record = inspect_record("c", status="created", exit_code=128)
    record[0]["State"]["Error"] = "error gathering device information while adding custom device \"/dev/davinci3\""
    crashed, reason = vc.judge_container(vc.parse_inspect(json.dumps(record)), None)
    assert crashed and reason.startswith("could not start: error gathering device")


def test_merge_log_tail_orders_streams_by_time_and_strips_colours():
    lines = vc.merge_log_tail(text("docker_logs_crash.out"), text("docker_logs_crash.err"), limit=20)
    assert lines == [
        "(APIServer pid=1) INFO 11-29 21:59:03 [api_server.py:1839] vLLM API server version 0.11.0",
        "(APIServer pid=1) INFO 11-29 21:59:41 [api_server.py:1912] Starting vLLM API server 0 on http://0.0.0.0:8000",
        "(APIServer pid=1) INFO:     Application startup complete.",
        "(EngineCore_DP0 pid=211) ERROR 11-29 22:00:12 [core.py:710] EngineCore encountered a fatal error.",
        "Traceback (most recent call last):",
        "RuntimeError: ACL stream synchronize failed, error code:507053",
        "(APIServer pid=1) ERROR 11-29 22:00:12 [core_client.py:564] Engine core proc EngineCore_DP0 died unexpectedly, shutting down client.",
    ]
    assert vc.merge_log_tail(text("docker_logs_crash.out"), text("docker_logs_crash.err"), limit=2)[0].startswith(
        "RuntimeError"
    )


def test_merge_log_tail_keeps_lines_without_timestamps_in_place():
    assert vc.merge_log_tail("a\nb\n", "", 5) == ["a", "b"]
    assert vc.merge_log_tail("x", "", 0) == []


def test_docker_timestamps_with_nanoseconds_become_unix_seconds() -> None:
    from ansible_collections.atlas.vllm.plugins.module_utils.vllm_containers import rfc3339_to_unix

    assert rfc3339_to_unix("1970-01-01T00:00:10.5Z") == 10.5
    assert rfc3339_to_unix("2026-11-29T21:59:01.123456789Z") == pytest.approx(1795989541.123456789)
    assert rfc3339_to_unix("0001-01-01T00:00:00Z") is None and rfc3339_to_unix("not a time") is None


def test_a_restart_is_seen_in_the_count_the_start_time_or_the_restarting_flag() -> None:
    from ansible_collections.atlas.vllm.plugins.module_utils.vllm_containers import restarted_since

    base = {"restart_count": 0, "started_at": "2026-11-29T21:59:01Z"}
    assert not restarted_since({"restart_count": 0, "started_at": "2026-11-29T21:59:01Z"}, base)
    assert restarted_since({"restart_count": 1, "started_at": "2026-11-29T21:59:01Z"}, base)
    assert restarted_since({"restart_count": 0, "started_at": "2026-11-29T22:00:00Z"}, base)
    assert restarted_since({"restarting": True}, None)
