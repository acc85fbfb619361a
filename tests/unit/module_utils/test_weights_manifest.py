"""Manifest parsing, planning and HTTP helpers of atlas.vllm's weights_manifest."""

from __future__ import annotations

import hashlib
import json
import subprocess

import pytest
from ansible_collections.atlas.vllm.plugins.module_utils import weights_manifest as wm

A = "a" * 64
B = "b" * 64


def test_parses_text_and_binary_markers_in_order():
    text = f"{B}  model-00001-of-00002.safetensors\n{A.upper()} *config.json\n\n{A}  ./sub/dir/tokenizer.json\r\n"
    entries = wm.parse_manifest(text)
    assert list(entries) == ["model-00001-of-00002.safetensors", "config.json", "sub/dir/tokenizer.json"]
    assert entries["config.json"] == A  # hex is normalised to lowercase


def test_escaped_names_round_trip():
    entries = {"odd\\name": A, "line\nbreak": B, "plain": A}
    assert wm.parse_manifest(wm.render_manifest(entries)) == entries


def test_matches_gnu_sha256sum(tmp_path):
    (tmp_path / "b.bin").write_bytes(b"\x00" * 10)
    (tmp_path / "a.txt").write_text("hello\n")
    out = subprocess.run(["sha256sum", "a.txt", "b.bin"], cwd=tmp_path, capture_output=True, text=True, check=True)
    entries = wm.parse_manifest(out.stdout)
    assert entries["a.txt"] == hashlib.sha256(b"hello\n").hexdigest()
    assert wm.render_manifest(entries) == out.stdout


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (f"{A}  ../etc/passwd", ".."),
        (f"{A}  sub/../../x", ".."),
        (f"{A}  /etc/passwd", "absolute"),
        (f"{A}  .", "directory itself"),
        (f"{A[:-1]}  short.bin", "not '<sha256>  <path>'"),
        ("config.json", "not '<sha256>  <path>'"),
    ],
)
def test_refuses_unsafe_or_malformed_lines(line, reason):
    with pytest.raises(wm.ManifestError, match="line 2") as excinfo:
        wm.parse_manifest(f"{A}  ok.json\n{line}\n")
    assert reason in str(excinfo.value)


def test_refuses_conflicting_duplicates_and_empty_manifests():
    with pytest.raises(wm.ManifestError, match="listed twice"):
        wm.parse_manifest(f"{A}  x\n{B}  x\n")
    assert wm.parse_manifest(f"{A}  x\n{A} *x\n") == {"x": A}
    with pytest.raises(wm.ManifestError, match="no files"):
        wm.parse_manifest("\n\n")


def test_digest_ignores_order_and_markers():
    assert wm.manifest_digest(wm.parse_manifest(f"{A}  x\n{B}  y\n")) == wm.manifest_digest(
        wm.parse_manifest(f"{B} *y\n{A}  x\n")
    )


def test_part_name_is_a_hidden_sibling():
    assert wm.part_name("model.safetensors") == ".model.safetensors.part"
    assert wm.part_name("sub/tok.json") == "sub/.tok.json.part"


ENTRIES = {"a": A, "b": B, "c": A, "d": B}


def observed(**files):
    base = {path: {"size": None, "mtime_ns": None, "part_size": None} for path in ENTRIES}
    for path, values in files.items():
        base[path] = dict(base[path], **values)
    return base


def test_plan_statuses_per_level():
    record = {"files": {"a": [10, 1], "b": [20, 2]}, "session": "", "hashed": []}
    seen = observed(a={"size": 10, "mtime_ns": 1}, b={"size": 20, "mtime_ns": 99}, c={"part_size": 5})
    by_size = {item["path"]: item["status"] for item in wm.plan_files(ENTRIES, seen, record, "size")}
    assert by_size == {"a": wm.COMPLETE, "b": wm.CHECK, "c": wm.PARTIAL, "d": wm.MISSING}
    by_hash = {item["path"]: item["status"] for item in wm.plan_files(ENTRIES, seen, record, "sha256")}
    assert by_hash == {"a": wm.CHECK, "b": wm.CHECK, "c": wm.PARTIAL, "d": wm.MISSING}


def test_plan_trusts_files_hashed_in_the_same_session_only():
    record = {"files": {"a": [10, 1]}, "session": "s1", "hashed": ["a"]}
    seen = observed(a={"size": 10, "mtime_ns": 1})
    same = wm.plan_files(ENTRIES, seen, record, "sha256", session="s1")
    other = wm.plan_files(ENTRIES, seen, record, "sha256", session="s2")
    assert same[0]["status"] == wm.COMPLETE
    assert other[0]["status"] == wm.CHECK


def test_plan_rejects_unknown_level():
    with pytest.raises(ValueError, match="size or sha256"):
        wm.plan_files(ENTRIES, observed(), {"files": {}}, "md5")


def test_state_round_trip_and_staleness():
    record = wm.load_state(None, "d1")
    record["files"]["a"] = [10, 123]
    text = wm.render_state(record)
    assert wm.load_state(text, "d1")["files"] == {"a": [10, 123]}
    # A record of another manifest, of another version, or unreadable is not trusted.
    assert wm.load_state(text, "d2")["files"] == {}
    assert wm.load_state(json.dumps(dict(json.loads(text), version=99)), "d1")["files"] == {}
    assert wm.load_state("{not json", "d1")["files"] == {}
    assert wm.load_state(json.dumps(dict(json.loads(text), files={"a": ["10", 1]})), "d1")["files"] == {}


def test_range_headers():
    assert wm.range_header(0) is None
    assert wm.range_header(1234) == "bytes=1234-"
    with pytest.raises(ValueError):
        wm.range_header(-1)
    assert wm.parse_content_range("bytes 100-199/200") == (100, 199, 200)
    assert wm.parse_content_range("bytes 0-9/*") == (0, 9, None)
    assert wm.parse_content_range("bytes */200") is None
    assert wm.parse_content_range(None) is None


def test_file_url_quotes_each_component():
    assert wm.file_url("http://m:8090/Qwen/Qwen2.5-VL-7B-Instruct/", "sub dir/a#b.json") == (
        "http://m:8090/Qwen/Qwen2.5-VL-7B-Instruct/sub%20dir/a%23b.json"
    )


def test_sha256_file_with_limit(tmp_path):
    target = tmp_path / "f"
    target.write_bytes(b"0123456789")
    assert wm.sha256_file(str(target)).hexdigest() == hashlib.sha256(b"0123456789").hexdigest()
    assert wm.sha256_file(str(target), limit=4).hexdigest() == hashlib.sha256(b"0123").hexdigest()


def test_progress_line():
    assert wm.progress_line(2, 16, 512 * 1024, 2 * 1024**3, "model-00001.safetensors") == (
        "2 of 16 files, 512.0 KiB of 2.0 GiB (0%); fetching model-00001.safetensors"
    )
    assert wm.progress_line(16, 16, 10, 10) == "16 of 16 files, 10 B of 10 B (100%)"
    assert wm.progress_line(0, 3, 0, None) == "0 of 3 files, 0 B of ?"
