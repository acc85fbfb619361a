"""vllm_health module runs against vLLM-like servers on 127.0.0.1 and a fake docker CLI.

The module runs in-process through its real main(), exit_json and fail_json (so no_log masking is exercised);
the servers and the docker script are real, so readiness, fail-fast and timing are measured, not mocked.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible_collections.atlas.vllm.plugins.modules import vllm_health
from module_main import run_main

UNIT = Path(__file__).resolve().parents[1]
FIXTURES = UNIT / "fixtures" / "vllm_health"
sys.path.insert(0, str(FIXTURES))

from vllm_health_fakes import PNG_2X2, FakeDocker, FakeVllm, chat_response, self_signed_cert  # noqa: E402

SECRET = "sk-atlas-do-not-print-7f3a"


def run(capsys: pytest.CaptureFixture[str], args: dict[str, Any]) -> tuple[bool, dict[str, Any], float]:
    """main() as Ansible runs it: returns (failed, result, seconds)."""
    failed, result, _, elapsed = run_main(capsys, vllm_health, args)
    return failed, result, elapsed


@pytest.fixture
def docker(tmp_path: Path) -> FakeDocker:
    return FakeDocker(tmp_path / "docker")


def instance(server: FakeVllm, name: str = "vllm-0", **extra: Any) -> dict[str, Any]:
    return {"name": name, "url": server.url, "served_model_name": "qwen2.5-vl", **extra}


def later(delay: float, action) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(delay), action()), daemon=True)
    thread.start()
    return thread


# --- documentation ------------------------------------------------------------------------------------------



# --- readiness ----------------------------------------------------------------------------------------------


def test_refused_while_loading_then_ready_soon_after_listening(capsys, servers):
    server = servers(load_seconds=1.0)
    failed, result, _ = run(capsys, {"instances": [instance(server)], "wait_seconds": 10})
    seen = time.time()
    assert not failed and result["changed"] is False
    (one,) = result["instances"]
    assert one["state"] == "ready" and one["ready"] is True
    assert one["max_model_len"] == 16384
    assert one["models"] == ["qwen2.5-vl"]
    assert one["root"] == "/models/Qwen2.5-VL-7B-Instruct"
    assert one["ready_after_s"] >= 0.9
    assert seen - server.listening_at < 2.0  # typically one poll interval (0.5 s) plus the requests
    assert result["ready"] is True and result["msg"] == "1/1 ready"


def test_one_look_reports_loading_without_failing(capsys, servers):
    server = servers(load_seconds=None)
    failed, result, elapsed = run(capsys, {"instances": [instance(server)]})
    assert not failed and elapsed < 1
    (one,) = result["instances"]
    assert one["state"] == "loading" and one["ready"] is False
    assert "connection refused" in one["detail"]
    assert result["ready"] is False


def test_all_instances_are_waited_for_concurrently(capsys, servers):
    fleet = [servers(load_seconds=1.0) for _ in range(6)]
    failed, result, elapsed = run(
        capsys, {"instances": [instance(s, f"vllm-{i}") for i, s in enumerate(fleet)], "wait_seconds": 10}
    )
    assert not failed
    assert [r["state"] for r in result["instances"]] == ["ready"] * 6
    assert elapsed < 4  # one after the other would take 6 s


def test_deadline_of_one_run_returns_the_last_state(capsys, servers):
    server = servers(load_seconds=None)
    failed, result, elapsed = run(capsys, {"instances": [instance(server)], "wait_seconds": 1.0})
    assert not failed
    assert 0.9 <= elapsed < 2
    assert result["instances"][0]["state"] == "loading"


def test_served_name_missing_fails_at_once_naming_what_is_served(capsys, servers):
    server = servers(served=("Qwen/Qwen2.5-VL-7B-Instruct",))
    failed, result, elapsed = run(capsys, {"instances": [instance(server)], "wait_seconds": 30})
    assert failed and elapsed < 5  # not the 30 s wait
    assert f"vllm-0 ({server.url}): model 'qwen2.5-vl' is not served here" in result["msg"]
    assert "'Qwen/Qwen2.5-VL-7B-Instruct'" in result["msg"]
    assert result["instances"][0]["state"] == "failed"


def test_without_served_name_any_model_counts(capsys, servers):
    server = servers(served=("Qwen/Qwen2.5-VL-7B-Instruct",))
    failed, result, _ = run(capsys, {"instances": [{"name": "a", "url": server.url}]})
    assert not failed and result["instances"][0]["ready"]


def test_unreachable_host_is_reported_as_unreachable(capsys):
    # A port nobody bound: refused as well, so use an address that drops packets instead.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        # A listening socket that never accepts: the connect succeeds, the request times out.
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        failed, result, _ = run(capsys, {"instances": [{"name": "slow", "url": url}], "request_timeout": 0.3})
    assert not failed
    assert result["instances"][0]["state"] == "unreachable"
    assert "timed out" in result["instances"][0]["detail"]


@pytest.mark.parametrize("args,message", [
    ({"poll_interval": 0}, "poll_interval must be greater than 0"),
    ({"instances": [{"name": "a", "url": "127.0.0.1:8000"}]}, "instance a: url '127.0.0.1:8000' must start with"),
    ({"instances": [{"name": "a", "url": "http://h:1"}, {"name": "a", "url": "http://h:2"}]}, "repeated: a"),
    ({"instances": []}, "instances is empty"),
    ({"probe": {"image_path": "/nonexistent.png", "max_tokens": 0}}, "probe.max_tokens must be at least 1"),
])
def test_bad_arguments(capsys, args, message):
    failed, result, _ = run(capsys, {"instances": [{"name": "a", "url": "http://127.0.0.1:1"}], **args})
    assert failed and message in result["msg"]


def test_https_with_and_without_certificate_validation(capsys, servers, tmp_path):
    server = servers(tls=self_signed_cert(tmp_path))
    failed, result, _ = run(capsys, {"instances": [instance(server)]})
    assert not failed
    assert result["instances"][0]["state"] == "unreachable"
    assert "TLS error" in result["instances"][0]["detail"] and "CERTIFICATE_VERIFY_FAILED" in result["msg"]
    failed, result, _ = run(capsys, {"instances": [instance(server)], "validate_certs": False})
    assert not failed and result["instances"][0]["ready"] is True


# --- api_key ------------------------------------------------------------------------------------------------


def test_api_key_is_sent_and_never_returned(capsys, servers):
    server = servers(api_key=SECRET)
    image = Path(os.environ.get("TMPDIR", "/tmp")) / f"probe-{os.getpid()}.png"
    image.write_bytes(PNG_2X2)
    try:
        failed, result, _ = run(capsys, {"instances": [instance(server)], "api_key": SECRET,
                                         "probe": {"image_path": str(image)}})
    finally:
        image.unlink()
    assert not failed, result["msg"]
    assert {r["headers"].get("Authorization") for r in server.requests} == {f"Bearer {SECRET}"}
    assert SECRET not in json.dumps(result)
    assert result["invocation"]["module_args"]["api_key"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


def test_wrong_api_key_fails_at_once(capsys, servers):
    server = servers(api_key=SECRET)
    failed, result, elapsed = run(capsys, {"instances": [instance(server)], "api_key": "not-the-key-123", "wait_seconds": 30})
    assert failed and elapsed < 5
    assert "401: api_key is missing or wrong" in result["msg"]


# --- probe --------------------------------------------------------------------------------------------------


@pytest.fixture
def png_file(tmp_path: Path) -> Path:
    path = tmp_path / "probe.png"
    path.write_bytes(PNG_2X2)
    return path


def test_probe_sends_an_inline_image_and_returns_answer_latency_usage(capsys, servers, png_file):
    server = servers()
    failed, result, _ = run(capsys, {
        "instances": [instance(server)],
        "probe": {"image_path": str(png_file), "prompt": "What colour is it?", "max_tokens": 16},
    })
    assert not failed, result["msg"]
    probe = result["instances"][0]["probe"]
    assert probe["answer"] == "A 2x2 PNG. You asked: What colour is it?"
    assert probe["usage"] == {"prompt_tokens": 73, "completion_tokens": 16, "total_tokens": 89}
    assert probe["finish_reason"] == "stop" and probe["error"] is None
    assert 0 <= probe["latency_s"] < 5
    (chat,) = [r for r in server.requests if r["path"] == "/v1/chat/completions"]
    assert chat["body"]["model"] == "qwen2.5-vl"
    assert chat["body"]["max_tokens"] == 16
    assert chat["body"]["messages"][0]["role"] == "system"


def test_probe_waits_until_every_instance_is_ready(capsys, servers, png_file):
    ready, loading = servers(), servers(load_seconds=None)
    failed, result, _ = run(capsys, {"instances": [instance(ready, "a"), instance(loading, "b")],
                                     "probe": {"image_path": str(png_file)}})
    assert not failed
    assert [r["probe"] for r in result["instances"]] == [None, None]
    assert not [r for r in ready.requests if r["path"] == "/v1/chat/completions"]


def test_probe_error_fails_naming_the_instance(capsys, servers, png_file):
    def reject(body):
        return 400, {"error": {"message": "At most 0 image(s) may be provided in one request.",
                               "type": "BadRequestError", "code": 400}}

    server = servers(chat=reject)
    failed, result, _ = run(capsys, {"instances": [instance(server)], "probe": {"image_path": str(png_file)}})
    assert failed
    assert result["msg"] == (f"vllm-0 ({server.url}): probe failed: POST /v1/chat/completions returned 400: "
                             "At most 0 image(s) may be provided in one request.")


def test_probe_result_without_usage_is_still_an_answer(capsys, servers, png_file):
    def bare(body):
        response = chat_response(body["model"], "ok")
        del response["usage"]
        return 200, response

    server = servers(chat=bare)
    failed, result, _ = run(capsys, {"instances": [instance(server)], "probe": {"image_path": str(png_file)}})
    assert not failed
    assert result["instances"][0]["probe"]["usage"] == {"prompt_tokens": None, "completion_tokens": None,
                                                         "total_tokens": None}


@pytest.mark.parametrize(("content", "message"), [(None, "No such file or directory"),
                                                  (b"%PDF-1.7", "not a PNG, JPEG")])
def test_probe_image_problems_fail_before_waiting(capsys, tmp_path, content, message):
    path = tmp_path / "image"
    if content is not None:
        path.write_bytes(content)
    failed, result, _ = run(capsys, {"instances": [{"name": "a", "url": "http://127.0.0.1:1"}],
                                     "probe": {"image_path": str(path)}, "wait_seconds": 30})
    assert failed and result["msg"].startswith(f"probe.image_path {path}: ") and message in result["msg"]


# --- containers ---------------------------------------------------------------------------------------------


def test_container_exit_fails_fast_with_exit_code_and_logs(capsys, servers, docker):
    server = servers(load_seconds=None)
    docker.set_state("vllm-0")
    docker.set_logs("vllm-0", (FIXTURES / "docker_logs_crash.out").read_text(),
                    (FIXTURES / "docker_logs_crash.err").read_text())
    crash_at: list[float] = []
    later(1.0, lambda: (docker.set_state("vllm-0", status="exited", exit_code=1), crash_at.append(time.monotonic())))
    failed, result, _ = run(capsys, {"instances": [instance(server, container="vllm-0")], "wait_seconds": 30,
                                     "docker_executable": str(docker.path)})
    reported = time.monotonic()
    assert failed
    assert reported - crash_at[0] < 3  # typically one poll interval plus a docker call or two
    msg = result["msg"]
    assert msg.startswith(f"vllm-0 ({server.url}): container vllm-0 has exited with exit code 1\n")
    assert "last 7 log lines of vllm-0:\n" in msg
    assert msg.endswith("Engine core proc EngineCore_DP0 died unexpectedly, shutting down client.")
    assert "RuntimeError: ACL stream synchronize failed, error code:507053" in msg
    container = result["instances"][0]["container"]
    assert container["status"] == "exited" and container["exit_code"] == 1
    assert len(container["logs_tail"]) == 7
    # ACL stream synchronize failures have no known cause: none is claimed.
    assert container["cause"] is None
    # Enough of the log is read to find a root cause printed before the tracebacks; log_lines of it are shown.
    assert ["logs", "--timestamps", "--tail", "400", "vllm-0"] in docker.calls()


def test_api_key_in_the_crash_logs_is_masked(capsys, servers, docker):
    # vLLM logs its non-default arguments, --api-key included, right at start-up; an early crash shows that line.
    server = servers(load_seconds=None)
    docker.set_state("vllm-0", status="exited", exit_code=1)
    docker.set_logs("vllm-0", "2026-11-29T21:59:03.301934512Z (APIServer pid=1) INFO 11-29 21:59:03 [utils.py:233] "
                    f"non-default args: {{'model_tag': '/models/q', 'api_key': ['{SECRET}'], 'port': 8000}}\n")
    failed, result, _ = run(capsys, {"instances": [instance(server, container="vllm-0")], "api_key": SECRET,
                                     "docker_executable": str(docker.path)})
    assert failed
    assert "non-default args:" in result["msg"]
    assert SECRET not in json.dumps(result)


def test_restart_hidden_by_restart_policy_is_a_crash(capsys, servers, docker):
    server = servers(load_seconds=None)
    docker.set_state("vllm-0", restart_count=0)
    baseline = {"restart_count": 0, "started_at": "2026-11-29T21:59:01.123456789Z"}
    # Docker resets State.ExitCode when the policy restarts the container; the code survives in the die event.
    docker.set_died("vllm-0", 1)
    later(0.6, lambda: docker.set_state("vllm-0", restart_count=1, exit_code=0,
                                        started_at="2026-11-29T22:00:14.2Z"))
    failed, result, elapsed = run(capsys, {
        "instances": [instance(server, container="vllm-0", container_baseline=baseline)],
        "wait_seconds": 30, "docker_executable": str(docker.path),
    })
    assert failed and elapsed < 5
    assert "container vllm-0 restarted (0 → 1 restarts; last exit code 1)" in result["msg"]
    assert result["instances"][0]["container"]["baseline"] == baseline


def test_first_look_records_the_baseline(capsys, servers, docker):
    server = servers()
    docker.set_state("vllm-0", restart_count=2, started_at="2026-11-29T21:00:00.0Z")
    failed, result, _ = run(capsys, {"instances": [instance(server, container="vllm-0")],
                                     "docker_executable": str(docker.path)})
    assert not failed
    container = result["instances"][0]["container"]
    assert container["baseline"] == {"restart_count": 2, "started_at": "2026-11-29T21:00:00.0Z"}
    assert container["status"] == "running" and container["logs_tail"] == []


def test_ready_instance_keeps_its_container_watched_while_others_load(capsys, servers, docker):
    ready, loading = servers(), servers(load_seconds=None)
    docker.set_state("a")
    docker.set_state("b")
    later(1.0, lambda: docker.set_state("a", status="exited", exit_code=137))
    failed, result, elapsed = run(capsys, {
        "instances": [instance(ready, "a", container="a"), instance(loading, "b", container="b")],
        "wait_seconds": 30, "docker_executable": str(docker.path),
    })
    assert failed and elapsed < 5
    assert "a (http://127.0.0.1:" in result["msg"] and "exit code 137" in result["msg"]
    assert [r["state"] for r in result["instances"]] == ["failed", "loading"]


def test_missing_container_fails(capsys, servers, docker):
    server = servers()
    failed, result, _ = run(capsys, {"instances": [instance(server, container="gone")],
                                     "docker_executable": str(docker.path)})
    assert failed
    assert "container gone does not exist (removed after it stopped?): Error: No such object: gone" in result["msg"]


def test_docker_not_installed(capsys, servers):
    server = servers()
    failed, result, _ = run(capsys, {"instances": [instance(server, container="c")],
                                     "docker_executable": "no-such-docker-cli"})
    assert failed and result["msg"] == "no-such-docker-cli not found on PATH; it is needed to watch the containers"


# --- the simulator ------------------------------------------------------------------------------------------


def load_sim_helpers():
    """make_sim and Server from the simulator's own tests, wherever they currently live."""
    for file in ("vllm_sim_support.py", "conftest.py"):
        path = UNIT / "vllm_sim" / file
        spec = importlib.util.spec_from_file_location(f"vllm_health_sim_{path.stem}", path)
        if not path.exists() or spec is None or spec.loader is None:
            continue
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up there
        try:
            spec.loader.exec_module(module)
        except Exception:  # noqa: BLE001, S112 - the simulator belongs to another component and may be mid-change
            continue
        if hasattr(module, "make_sim") and hasattr(module, "Server"):
            return module
    pytest.skip("the vllm_sim test helpers (make_sim, Server) are not importable")


def test_against_the_vllm_simulator(capsys, tmp_path, png_file):
    helpers = load_sim_helpers()
    sim = helpers.make_sim(tmp_path / "sim", load_seconds=1.0)
    server = helpers.Server(sim, "--served-model-name", "qwen2.5-vl", "--max-model-len", "16384",
                            "--api-key", SECRET)
    try:
        failed, result, _ = run(capsys, {
            "instances": [{"name": "sim", "url": f"http://127.0.0.1:{server.port}", "served_model_name": "qwen2.5-vl"}],
            "api_key": SECRET, "wait_seconds": 30, "probe": {"image_path": str(png_file), "prompt": "Describe it"},
        })
        if server.proc.poll() is not None:
            pytest.skip(f"simulator did not start: {server.stderr[-500:]}")
    finally:
        server.stop()
    assert not failed, result["msg"]
    (one,) = result["instances"]
    assert one["state"] == "ready" and one["max_model_len"] == 16384
    assert one["ready_after_s"] >= 0.5  # it refused connections while loading
    assert "2x2 PNG" in one["probe"]["answer"]
    usage = one["probe"]["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_crash_is_reported_without_waiting_for_a_slow_instance(capsys, servers, docker):
    # The other instance accepts connections but never answers: its request would hold the run for 5 s.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        ready = servers()
        docker.set_state("a")
        later(0.8, lambda: docker.set_state("a", status="exited", exit_code=1))
        failed, result, elapsed = run(capsys, {
            "instances": [instance(ready, "a", container="a"),
                          {"name": "b", "url": f"http://127.0.0.1:{silent.getsockname()[1]}"}],
            "wait_seconds": 30, "request_timeout": 5, "docker_executable": str(docker.path),
        })
    assert failed and elapsed < 4  # b's request alone would hold the run until 5 s
    assert [r["state"] for r in result["instances"]] == ["failed", "loading"]
    assert result["instances"][1]["waited_s"] >= 0.8


def test_every_returned_key_is_documented(capsys, servers, docker, png_file):
    server = servers()
    docker.set_state("vllm-0")
    failed, result, _ = run(capsys, {"instances": [instance(server, container="vllm-0")],
                                     "docker_executable": str(docker.path), "probe": {"image_path": str(png_file)}})
    assert not failed
    documented = yaml.safe_load(vllm_health.RETURN)["instances"]["contains"]
    (one,) = result["instances"]
    # time_to_ready_s is added by the action plugin.
    assert set(one) == set(documented) - {"time_to_ready_s"}
    assert set(one["container"]) == set(documented["container"]["contains"])
    assert set(one["probe"]) == set(documented["probe"]["contains"])


def test_a_docker_daemon_that_does_not_answer_fails_the_instance_naming_the_call(capsys, servers, docker):
    server = servers(load_seconds=30)
    docker.hang()
    failed, result, elapsed = run(capsys, {"instances": [instance(server, container="vllm-0")], "wait_seconds": 60,
                                           "docker_timeout": 1, "docker_executable": str(docker.path)})
    assert failed and elapsed < 20
    assert result["instances"][0]["state"] == "failed"
    assert (f"cannot inspect container vllm-0: '{docker.path} inspect --type container vllm-0' did not answer in 1 s "
            "and was stopped") in result["msg"]
