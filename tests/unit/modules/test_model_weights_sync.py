"""atlas.vllm.model_weights_sync against a model directory on disk and a Range-capable HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from ansible.module_utils import basic
from ansible_collections.atlas.vllm.plugins.module_utils import bounded_run, weights_modelscope
from ansible_collections.atlas.vllm.plugins.module_utils import weights_manifest as wm
from ansible_collections.atlas.vllm.plugins.modules import model_weights_sync
from module_args import patch_module_args

MODEL = "Qwen/Qwen2.5-VL-7B-Instruct"
FILES = {
    "config.json": b'{"architectures": ["Qwen2_5_VLForConditionalGeneration"]}\n',
    "model-00001-of-00002.safetensors": bytes(range(256)) * 64,
    "model-00002-of-00002.safetensors": bytes(reversed(range(256))) * 48,
    "sub/tokenizer.json": b'{"version": "1.0"}\n',
}
MANIFEST = "".join(f"{hashlib.sha256(data).hexdigest()}  {path}\n" for path, data in sorted(FILES.items()))
SHARD = "model-00001-of-00002.safetensors"
TOKEN = "ms-secret-token-0123456789"


class Mirror:
    """Files served at /<model>/<path>; GET and HEAD, one ``bytes=a-`` range; every request is recorded."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = {f"/{MODEL}/{path}": data for path, data in files.items()}
        self.files[f"/{MODEL}/MANIFEST.sha256"] = MANIFEST.encode()
        self.requests: list[tuple[str, str, str | None]] = []
        self.honour_ranges = True
        self.cut_after: int | None = None  # send only this many body bytes, then hang up
        mirror = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                mirror.requests.append((self.command, self.path, self.headers.get("Range")))
                data = mirror.files.get(self.path)
                if data is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                match = re.match(r"^bytes=(\d+)-$", self.headers.get("Range") or "")
                first = int(match.group(1)) if match and mirror.honour_ranges else 0
                if first >= len(data) and match and mirror.honour_ranges:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206 if first else 200)
                if first:
                    self.send_header("Content-Range", f"bytes {first}-{len(data) - 1}/{len(data)}")
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Length", str(len(data) - first))
                self.end_headers()
                if self.command == "GET":
                    body = data[first:]
                    if mirror.cut_after is not None:
                        body = body[: mirror.cut_after]
                        self.close_connection = True
                    self.wfile.write(body)

            do_HEAD = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/{MODEL}"

    def ranges(self) -> list[tuple[str, str]]:
        return [(path.rsplit("/", 1)[-1], rng) for method, path, rng in self.requests if method == "GET" and rng]

    def gets(self) -> list[str]:
        return [path.split(f"/{MODEL}/", 1)[1] for method, path, _ in self.requests if method == "GET"]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def mirror(monkeypatch):
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    server = Mirror(FILES)
    yield server
    server.close()


class ModuleExit(Exception):
    def __init__(self, failed: bool, result: dict[str, Any]) -> None:
        super().__init__(result.get("msg", ""))
        self.failed = failed
        self.result = result


@pytest.fixture
def run(monkeypatch):
    """run(args, check_mode=False, command=None) -> (failed, result); ``command(argv, env)`` fakes the CLI."""
    calls: list[tuple[list[str], dict[str, str]]] = []

    def runner(args: dict[str, Any], check_mode: bool = False, command=None) -> tuple[bool, dict[str, Any]]:
        def fake_run_command(self, argv, environ_update=None, **kwargs):
            calls.append((list(argv), dict(environ_update or {})))
            return command(argv, environ_update or {}) if command else (127, "", "not expected")

        def fake_exit_json(self, **result):
            raise ModuleExit(False, result)

        def fake_fail_json(self, msg, **result):
            raise ModuleExit(True, dict(result, msg=msg, failed=True))

        def fake_run_bounded(argv, timeout, environ_update=None):
            calls.append((list(argv), dict(environ_update or {})))
            if not command:
                return bounded_run.Outcome(127, "", "not expected")
            reply = command(argv, environ_update or {})
            if reply == "hang":
                return bounded_run.Outcome(-9, "", "", timed_out=True)
            return bounded_run.Outcome(*reply)

        monkeypatch.setattr(basic.AnsibleModule, "run_command", fake_run_command)
        monkeypatch.setattr(bounded_run, "run_bounded", fake_run_bounded)
        monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda self, arg, *a, **k: f"/usr/bin/{arg}")
        monkeypatch.setattr(basic.AnsibleModule, "exit_json", fake_exit_json)
        monkeypatch.setattr(basic.AnsibleModule, "fail_json", fake_fail_json)
        monkeypatch.setattr(os, "access", lambda path, mode: True)
        with patch_module_args(dict(args, _ansible_check_mode=check_mode)), pytest.raises(ModuleExit) as exited:
            model_weights_sync.main()
        return exited.value.failed, exited.value.result

    runner.calls = calls
    return runner


def write_model(root: Path, files: dict[str, bytes] = FILES, manifest: bool = True) -> None:
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    if manifest:
        (root / "MANIFEST.sha256").write_text(MANIFEST)


def assert_complete(root: Path) -> None:
    for path, data in FILES.items():
        assert (root / path).read_bytes() == data, path
    assert wm.parse_manifest((root / "MANIFEST.sha256").read_text()) == wm.parse_manifest(MANIFEST)
    assert not list(root.rglob("*.part"))


def mirror_args(root: Path, server: Mirror, **extra: Any) -> dict[str, Any]:
    return dict({"path": str(root), "mode": "mirror", "mirror_url": server.url}, **extra)


# -- mirror mode --------------------------------------------------------------------------------------------


def test_fresh_download_then_idempotent(tmp_path, mirror, run):
    root = tmp_path / "model"
    failed, result = run(mirror_args(root, mirror))
    assert not failed, result
    assert result["changed"] and result["finished"] and result["complete"]
    assert sorted(result["fetched"]) == sorted(FILES)
    assert result["missing"] == sorted(FILES) or sorted(result["missing"]) == sorted(FILES)
    assert result["manifest_written"] and result["manifest_source"].endswith("/MANIFEST.sha256")
    assert result["bytes_total"] == result["bytes_done"] == sum(len(data) for data in FILES.values())
    assert_complete(root)
    state = json.loads((root / wm.STATE_NAME).read_text())
    assert set(state["files"]) == set(FILES)

    mirror.requests.clear()
    failed, again = run(mirror_args(root, mirror))
    assert not failed and again["changed"] is False and again["fetched"] == []
    assert sorted(again["hashed"]) == sorted(FILES)  # sha256 level hashes everything, every time
    assert mirror.gets() == ["MANIFEST.sha256"]


def test_partial_download_is_continued_with_a_range(tmp_path, mirror, run):
    root = tmp_path / "model"
    write_model(root)
    (root / SHARD).unlink()
    (root / wm.part_name(SHARD)).write_bytes(FILES[SHARD][:5000])
    failed, result = run(mirror_args(root, mirror))
    assert not failed, result
    assert result["resumed"] == [SHARD] and result["fetched"] == [SHARD] and result["missing"] == [SHARD]
    assert mirror.ranges() == [(SHARD, "bytes=5000-")]
    assert_complete(root)


def test_truncated_final_file_is_continued(tmp_path, mirror, run):
    root = tmp_path / "model"
    write_model(root)
    (root / SHARD).write_bytes(FILES[SHARD][:3000])
    failed, result = run(mirror_args(root, mirror))
    assert not failed, result
    assert result["corrupt"] == [SHARD] and result["resumed"] == [SHARD]
    assert mirror.ranges() == [(SHARD, "bytes=3000-")]
    assert_complete(root)


def test_corrupt_file_is_fetched_again_whole(tmp_path, mirror, run):
    root = tmp_path / "model"
    write_model(root)
    data = bytearray(FILES[SHARD])
    data[100] ^= 0xFF
    (root / SHARD).write_bytes(bytes(data))
    failed, result = run(mirror_args(root, mirror))
    assert not failed, result
    assert result["corrupt"] == [SHARD] and result["fetched"] == [SHARD] and result["resumed"] == []
    assert mirror.ranges() == []
    assert_complete(root)


def test_bad_partial_prefix_falls_back_to_a_whole_download(tmp_path, mirror, run):
    root = tmp_path / "model"
    write_model(root)
    (root / SHARD).unlink()
    (root / wm.part_name(SHARD)).write_bytes(b"\xff" * 5000)
    failed, result = run(mirror_args(root, mirror))
    assert not failed, result
    assert mirror.ranges() == [(SHARD, "bytes=5000-")]
    assert mirror.gets().count(SHARD) == 2  # the continued copy failed its hash, then a whole one was fetched
    assert_complete(root)


def test_server_ignoring_ranges_still_gives_a_complete_copy(tmp_path, mirror, run):
    root = tmp_path / "model"
    write_model(root)
    (root / SHARD).unlink()
    (root / wm.part_name(SHARD)).write_bytes(FILES[SHARD][:5000])
    mirror.honour_ranges = False
    failed, result = run(mirror_args(root, mirror))
    assert not failed, result
    assert result["resumed"] == []
    assert_complete(root)


def test_time_budget_pauses_and_the_next_call_resumes(tmp_path, mirror, run, monkeypatch):
    monkeypatch.setattr(wm, "CHUNK", 4096)
    root = tmp_path / "model"
    calls = 0
    resumed: list[str] = []
    while True:
        calls += 1
        failed, result = run(mirror_args(root, mirror, time_budget=0.000001, session="s1"))
        assert not failed, result
        resumed += result["resumed"]
        if result["finished"]:
            break
        assert result["complete"] is False and result["changed"] is True
        assert re.match(r"^\d+ of 4 files, .* of [\d.]+ KiB \(\d+%\)", result["progress"]), result["progress"]
        assert calls < 50
    assert calls > 2 and SHARD in resumed
    assert any(path == SHARD and rng != "bytes=0-" for path, rng in mirror.ranges())
    assert_complete(root)


def test_interrupted_transfer_keeps_the_part_and_the_next_run_continues(tmp_path, mirror, run):
    root = tmp_path / "model"
    write_model(root)
    (root / SHARD).unlink()
    mirror.cut_after = 1000
    failed, result = run(mirror_args(root, mirror))
    assert failed and result["failed_file"] == SHARD
    assert f"the mirror sent 1000 of {len(FILES[SHARD])} bytes" in result["msg"]
    assert (root / wm.part_name(SHARD)).stat().st_size == 1000
    mirror.cut_after = None
    failed, result = run(mirror_args(root, mirror))
    assert not failed and result["resumed"] == [SHARD]
    assert mirror.ranges() == [(SHARD, "bytes=1000-")]
    assert_complete(root)


def test_refuses_to_start_without_the_disk_space(tmp_path, mirror, run, monkeypatch):
    class Full:
        f_bavail, f_frsize = 2, 4096

    monkeypatch.setattr(os, "statvfs", lambda path: Full())
    failed, result = run(mirror_args(tmp_path / "model", mirror))
    assert failed and "needs 28.1 KiB more for 4 files" in result["msg"] and "8.0 KiB free" in result["msg"]
    assert not (tmp_path / "model").exists() or not list((tmp_path / "model").iterdir())


def test_check_mode_reports_and_writes_nothing(tmp_path, mirror, run):
    root = tmp_path / "model"
    failed, result = run(mirror_args(root, mirror), check_mode=True)
    assert not failed, result
    assert result["changed"] is True and result["complete"] is False
    assert sorted(result["fetched"]) == sorted(FILES)
    assert not root.exists()
    assert set(mirror.gets()) == {"MANIFEST.sha256"}


def test_mirror_without_the_file_names_it(tmp_path, mirror, run):
    del mirror.files[f"/{MODEL}/sub/tokenizer.json"]
    failed, result = run(mirror_args(tmp_path / "model", mirror))
    assert failed
    assert "sub/tokenizer.json" in result["msg"] and result["failed_file"] == "sub/tokenizer.json"


def test_mirror_without_a_manifest_says_what_to_do(tmp_path, mirror, run):
    del mirror.files[f"/{MODEL}/MANIFEST.sha256"]
    failed, result = run(mirror_args(tmp_path / "model", mirror))
    assert failed
    assert f"{mirror.url}/MANIFEST.sha256" in result["msg"] and "404" in result["msg"]


def test_unsafe_manifest_is_refused(tmp_path, mirror, run):
    failed, result = run(mirror_args(tmp_path / "model", mirror, manifest_content=f"{'a' * 64}  ../../etc/shadow\n"))
    assert failed
    assert "leaves the model directory" in result["msg"]
    assert not (tmp_path / "model").exists()


# -- preloaded mode and verification levels -----------------------------------------------------------------


def test_preloaded_names_missing_and_corrupt_files(tmp_path, run):
    root = tmp_path / "model"
    write_model(root)
    (root / "sub/tokenizer.json").unlink()
    (root / "config.json").write_bytes(b"{}\n")
    failed, result = run({"path": str(root)})
    assert failed
    assert "missing: sub/tokenizer.json" in result["msg"]
    assert "corrupt (sha256 differs from the manifest): config.json" in result["msg"]
    assert result["missing"] == ["sub/tokenizer.json"] and result["corrupt"] == ["config.json"]


def test_preloaded_without_a_directory_or_manifest(tmp_path, run):
    failed, result = run({"path": str(tmp_path / "absent")})
    assert failed and "does not exist" in result["msg"]
    root = tmp_path / "model"
    write_model(root, manifest=False)
    failed, result = run({"path": str(root)})
    assert failed and "no manifest" in result["msg"]


def test_size_level_is_a_fast_path_after_a_full_pass(tmp_path, run, monkeypatch):
    root = tmp_path / "model"
    write_model(root)
    failed, result = run({"path": str(root), "verify": "size"})
    assert not failed and sorted(result["hashed"]) == sorted(FILES)  # no record yet: a full pass
    assert result["changed"] is False

    def no_hashing(*args, **kwargs):
        raise AssertionError("the size level hashed a file whose record matched")

    monkeypatch.setattr(wm, "sha256_file", no_hashing)
    failed, result = run({"path": str(root), "verify": "size"})
    assert not failed, result
    assert result["changed"] is False and result["hashed"] == [] and result["complete"]
    monkeypatch.undo()


def test_size_level_hashes_a_file_whose_record_no_longer_matches(tmp_path, run):
    root = tmp_path / "model"
    write_model(root)
    assert not run({"path": str(root)})[0]
    data = bytearray(FILES[SHARD])
    data[7] ^= 1
    (root / SHARD).write_bytes(bytes(data))  # same size, new mtime
    os.utime(root / SHARD, ns=(1, 1))
    failed, result = run({"path": str(root), "verify": "size"})
    assert failed and result["corrupt"] == [SHARD] and SHARD in result["msg"]


def test_preloaded_leaves_a_complete_directory_untouched(tmp_path, run):
    root = tmp_path / "model"
    write_model(root)
    before = {path: (root / path).stat().st_mtime_ns for path in FILES}
    failed, result = run({"path": str(root)})
    assert not failed and result["changed"] is False and result["manifest_source"] == "local"
    assert {path: (root / path).stat().st_mtime_ns for path in FILES} == before


# -- modelscope mode ----------------------------------------------------------------------------------------


def cli_writes_model(root: Path):
    def command(argv, env):
        write_model(root, manifest=False)
        (root / ".msc").write_text("cli bookkeeping\n")
        return 0, f"Downloading [{SHARD}]: 100%\n", ""

    return command


def test_modelscope_argv_and_token_stay_out_of_the_result(tmp_path, run):
    root = tmp_path / "model"
    args = {
        "path": str(root),
        "mode": "modelscope",
        "model": MODEL,
        "modelscope_token": TOKEN,
        "modelscope_revision": "v1.0",
        "manifest_content": MANIFEST,
    }
    failed, result = run(args, command=cli_writes_model(root))
    assert not failed, result
    argv, env = run.calls[0]
    assert argv == ["/usr/bin/modelscope", "download", "--model", MODEL, "--local_dir", str(root), "--revision", "v1.0"]
    assert env == {"LANGUAGE": "C", "LC_ALL": "C", "MODELSCOPE_API_TOKEN": TOKEN}
    assert TOKEN not in json.dumps(result)
    assert result["cmd"] == argv and result["changed"] and sorted(result["fetched"]) == sorted(FILES)
    assert_complete(root)

    failed, again = run(args, command=cli_writes_model(root))
    assert not failed and again["changed"] is False and len(run.calls) == 1  # complete: the CLI is not run


def test_modelscope_token_is_no_log():
    assert model_weights_sync.ARGUMENT_SPEC["modelscope_token"]["no_log"] is True
    assert weights_modelscope.modelscope_env(None) == {"LANGUAGE": "C", "LC_ALL": "C"}
    assert weights_modelscope.modelscope_argv("ms", MODEL, "/m") == [
        "ms",
        "download",
        "--model",
        MODEL,
        "--local_dir",
        "/m",
    ]


def test_modelscope_without_a_manifest_records_one(tmp_path, run):
    root = tmp_path / "model"
    args = {"path": str(root), "mode": "modelscope", "model": MODEL}
    failed, result = run(args, command=cli_writes_model(root))
    assert not failed, result
    assert result["manifest_source"] == "generated" and result["manifest_written"]
    assert_complete(root)
    failed, again = run(args, command=cli_writes_model(root))
    assert not failed and again["changed"] is False and again["manifest_source"] == "local"
    assert len(run.calls) == 1


def test_modelscope_failure_shows_the_cli_output(tmp_path, run):
    args = {
        "path": str(tmp_path / "model"),
        "mode": "modelscope",
        "model": MODEL,
        "manifest_content": MANIFEST,
        "modelscope_token": TOKEN,
    }
    failed, result = run(args, command=lambda argv, env: (1, "", "HTTPError: 401 Unauthorized\n"))
    assert failed and "401 Unauthorized" in result["msg"] and result["rc"] == 1


def test_modelscope_check_mode_runs_nothing(tmp_path, run):
    root = tmp_path / "model"
    args = {"path": str(root), "mode": "modelscope", "model": MODEL, "manifest_content": MANIFEST}
    failed, result = run(args, check_mode=True, command=cli_writes_model(root))
    assert not failed and result["changed"] and run.calls == [] and not root.exists()


# -- documentation --------------------------------------------------------------------------------------------


def test_a_modelscope_cli_that_does_not_finish_is_stopped_at_the_deadline(tmp_path, run):
    root = tmp_path / "m"
    failed, result = run({"path": str(root), "mode": "modelscope", "model": MODEL, "modelscope_timeout": 600},
                         command=lambda argv, env: "hang")
    assert failed and result["timed_out"] is True
    assert result["msg"] == (f"the ModelScope CLI did not finish downloading {MODEL} into {root} within 600 s "
                             "(model_weights_timeout) and was stopped; the files it completed stay and a re-run "
                             "continues from them")


def test_a_mirror_url_with_user_info_is_refused_before_anything_runs(tmp_path, run):
    failed, result = run({"path": str(tmp_path / "m"), "mode": "mirror",
                          "mirror_url": "http://ops:s3cret-pass@10.231.0.1:8090/Qwen/x"})
    assert failed and "mirror_url carries user info" in result["msg"]
    assert "s3cret-pass" not in repr(result)


def test_mirror_credentials_go_as_basic_auth_and_the_password_is_no_log(monkeypatch, tmp_path):
    from ansible_collections.atlas.vllm.plugins.module_utils import weights_mirror
    seen = {}

    def fake_open_url(url, **kwargs):
        seen.update(kwargs, url=url)
        raise OSError("stop here")

    monkeypatch.setattr(weights_mirror, "open_url", fake_open_url)
    fetch = weights_mirror.MirrorFetch()
    fetch.params = {"timeout": 5, "validate_certs": True, "mirror_username": "ops", "mirror_password": "s3cret-pass"}
    try:
        fetch.request("http://10.231.0.1:8090/Qwen/x/config.json")
    except OSError:
        pass
    assert (seen["url_username"], seen["url_password"], seen["force_basic_auth"]) == ("ops", "s3cret-pass", True)
    assert seen["url"] == "http://10.231.0.1:8090/Qwen/x/config.json"
    assert model_weights_sync.ARGUMENT_SPEC["mirror_password"]["no_log"] is True
