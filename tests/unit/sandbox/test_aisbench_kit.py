"""AISBench kit: the tarball installs offline, `ais_bench` scores a fake OpenAI server, the PNGs are real PNGs."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import struct
import subprocess
import sys
import tarfile
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
if str(REPO / "sandbox") not in sys.path:
    sys.path.insert(0, str(REPO / "sandbox"))

from atlas_sim.aisbench import kit, textvqa  # noqa: E402

CORRECT = 16  # the fake server answers the first 16 of 20 questions right: accuracy 80.00
SERVED = "qwen2.5-vl"
MODEL_CFG = "ais_bench/benchmark/configs/models/vllm_api/vllm_api_general_chat.py"
TABLE_ROW = re.compile(r"^\| textvqa \| ([0-9a-f]{6}) \| accuracy \| gen \| (\d+\.\d\d) \|$", re.M)


# ---------------------------------------------------------------------------------------------------------------
# A tiny OpenAI-compatible server answering from a table keyed by the image it receives
# ---------------------------------------------------------------------------------------------------------------


class FakeChat:
    def __init__(self) -> None:
        digests = {hashlib.sha256(textvqa.image_png(i)).hexdigest(): i for i in range(len(textvqa.ITEMS))}
        self.answers = {
            d: (textvqa.ITEMS[i].majority if i < CORRECT else "I cannot read the text.") for d, i in digests.items()
        }
        self.requests: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        self.gate = threading.Barrier(4, timeout=0.5)
        # As vllm serve --api-key: a request without "Authorization: Bearer <key>" gets 401.
        self.api_key: str | None = None
        self.unauthorized = 0

    def reply(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        content = body["messages"][0]["content"]
        image = next(part for part in content if part["type"] == "image_url")["image_url"]["url"]
        text = next(part for part in content if part["type"] == "text")["text"]
        if body.get("model") != SERVED:
            return 404, {"object": "error", "message": f"The model `{body.get('model')}` does not exist."}
        prefix = "data:image/png;base64,"
        if not image.startswith(prefix):
            return 400, {"object": "error", "message": "image must be a data URI"}
        png = base64.b64decode(image[len(prefix) :])
        answer = self.answers.get(hashlib.sha256(png).hexdigest(), "unknown image")
        with self.lock:
            self.requests.append({"text": text, "body": {k: v for k, v in body.items() if k != "messages"}})
        return 200, {
            "id": f"chatcmpl-{len(self.requests):032x}", "object": "chat.completion", "created": 1764905884,
            "model": SERVED,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": answer, "refusal": None,
                                                  "tool_calls": [], "reasoning_content": None},
                         "logprobs": None, "finish_reason": "stop", "stop_reason": None}],
            "usage": {"prompt_tokens": 73, "total_tokens": 77, "completion_tokens": 4},
        }  # fmt: skip


def _handler(fake: FakeChat) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, obj: dict[str, Any]) -> None:
            data = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/v1/models":
                self._send(200, {"object": "list", "data": [{"id": SERVED, "object": "model", "owned_by": "vllm"}]})
            else:
                self._send(404, {"detail": "Not Found"})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if fake.api_key and self.headers.get("Authorization") != f"Bearer {fake.api_key}":
                with fake.lock:
                    fake.unauthorized += 1
                self._send(401, {"error": "Unauthorized"})
                return
            with fake.lock:
                fake.in_flight += 1
                fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
            # Hold requests until four are in flight, so the batch_size concurrency is observable.
            try:
                fake.gate.wait()
            except threading.BrokenBarrierError:
                pass
            reply = fake.reply(body)
            # Leave the in-flight count before answering: once answered, the client may already send its next one.
            with fake.lock:
                fake.in_flight -= 1
            self._send(*reply)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def fake_server() -> Iterator[tuple[FakeChat, int]]:
    fake = FakeChat()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield fake, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------------------------------------------------------
# Kit build and install
# ---------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return kit.build_kit(tmp_path_factory.mktemp("kit"))


def pip_install(sdist: str, target: Path, *extra: str) -> None:
    # --no-index: the install must not need any package index (the nodes are air-gapped).
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", *extra,
           "--target", str(target), sdist]  # fmt: skip
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def installed(built: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("site")
    pip_install(built["sdist"], site, "--no-build-isolation")
    with tarfile.open(built["dataset"]) as tar:
        tar.extractall(site / "ais_bench" / "datasets", filter="data")
    return site


def configure(site: Path, port: int, model: str = SERVED, batch_size: int = 4, api_key: str = "") -> None:
    """Edit the model config the way the operator (or the Ansible role) does: host, port, model, batch size and,
    for a server that requires one, the API key."""
    path = site / MODEL_CFG
    text = re.sub(r"^ *api_key=.*\n", "", path.read_text(), flags=re.M)
    if api_key:
        text = re.sub(r"^( *)(host_port=)", rf'\g<1>api_key="{api_key}",\n\g<1>\g<2>', text, flags=re.M)
    text = re.sub(r'host_ip="[^"]*"', 'host_ip="127.0.0.1"', text)
    text = re.sub(r"host_port=\d+", f"host_port={port}", text)
    text = re.sub(r'model="[^"]*"', f'model="{model}"', text)
    text = re.sub(r"batch_size=\d+", f"batch_size={batch_size}", text)
    path.write_text(text)


def ais_bench(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site)}
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.run([sys.executable, str(site / "bin" / "ais_bench"), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip


ACCURACY_ARGS = ("--models", "vllm_api_general_chat", "--datasets", "textvqa_gen_base64", "--mode", "all")


def test_kit_is_deterministic(built: dict[str, Any], tmp_path: Path) -> None:
    again = kit.build_kit(tmp_path)
    assert (again["sdist_sha256"], again["dataset_sha256"]) == (built["sdist_sha256"], built["dataset_sha256"])
    assert Path(built["sdist"]).name == f"ais_bench_benchmark-{kit.VERSION}.tar.gz"
    with tarfile.open(built["sdist"]) as tar:
        names = tar.getnames()
    root = f"ais_bench_benchmark-{kit.VERSION}"
    assert f"{root}/pyproject.toml" in names and f"{root}/PKG-INFO" in names
    assert f"{root}/{MODEL_CFG}" in names and f"{root}/_build/ais_bench_build.py" in names
    assert not [n for n in names if "__pycache__" in n]


def test_isolated_offline_install_and_editable_hook(built: dict[str, Any], tmp_path: Path) -> None:
    # The in-tree backend has no build requirements, so pip's default isolated build works without an index.
    pip_install(built["sdist"], tmp_path / "site")
    assert (tmp_path / "site" / "bin" / "ais_bench").is_file()
    with tarfile.open(built["sdist"]) as tar:
        tar.extractall(tmp_path / "src", filter="data")
    tree = tmp_path / "src" / f"ais_bench_benchmark-{kit.VERSION}"
    code = (
        "import sys, zipfile; sys.path.insert(0, '_build'); import ais_bench_build as b; "
        "name = b.build_editable(sys.argv[1]); z = zipfile.ZipFile(sys.argv[1] + '/' + name); "
        "print(name); print(z.read('ais_bench_benchmark.pth').decode().strip()); "
        "print(z.read('ais_bench_benchmark-%s.dist-info/entry_points.txt' % b.version()).decode())"
    )
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=tree, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    name, pth, *entry = done.stdout.splitlines()
    assert name == f"ais_bench_benchmark-{kit.VERSION}-py3-none-any.whl" and pth == str(tree)
    assert "ais_bench = ais_bench.benchmark.cli:main" in entry


def test_installed_layout_and_help(installed: Path, tmp_path: Path) -> None:
    assert (installed / "bin" / "ais_bench").is_file()
    assert (installed / MODEL_CFG).is_file()
    assert (installed / "ais_bench/benchmark/configs/datasets/textvqa/textvqa_gen_base64.py").is_file()
    helped = ais_bench(installed, tmp_path, "-h")
    assert helped.returncode == 0 and "--dump-eval-details" in helped.stdout and "--models" in helped.stdout
    cfg = (installed / MODEL_CFG).read_text()
    for field in ('attr="service"', "type=VLLMCustomAPIChat", "abbr='vllm-api-general-chat'", "request_rate=0",
                  "retry=2", 'host_ip="localhost"', "host_port=8000", "temperature=0.6", "top_k=10",
                  "repetition_penalty=1.03", "pred_postprocessor=dict(type=extract_non_reasoning_content)"):  # fmt: skip
        assert field in cfg


def test_accuracy_run_against_fake_server(installed: Path, fake_server: tuple[FakeChat, int], tmp_path: Path) -> None:
    fake, port = fake_server
    configure(installed, port)
    run = ais_bench(installed, tmp_path / "run", *ACCURACY_ARGS, "--dump-eval-details")
    assert run.returncode == 0, run.stdout + run.stderr

    match = TABLE_ROW.search(run.stdout)
    assert match and match.group(2) == "80.00", run.stdout
    assert "| dataset | version | metric | mode | vllm-api-general-chat |" in run.stdout
    assert len(fake.requests) == 20 and fake.max_in_flight == 4
    sent = fake.requests[0]
    assert sent["text"].endswith("\nAnswer the question using a single word or phrase.")
    assert sent["body"]["model"] == SERVED and sent["body"]["max_tokens"] == 512
    assert sent["body"]["temperature"] == 0.6 and sent["body"]["top_k"] == 10 and "seed" not in sent["body"]

    runs = list((tmp_path / "run" / "outputs" / "default").iterdir())
    assert len(runs) == 1 and re.fullmatch(r"\d{8}_\d{6}", runs[0].name)
    out, stamp = runs[0], runs[0].name
    abbr = "vllm-api-general-chat"
    assert len(list((out / "configs").glob(f"{stamp}_*.py"))) == 1
    assert (out / "logs" / "infer" / abbr / "textvqa.out").is_file()
    assert (out / "logs" / "eval" / abbr / "textvqa.out").is_file()
    predictions = json.loads((out / "predictions" / abbr / "textvqa.json").read_text())
    assert len(predictions) == 20 and predictions["0"]["prediction"] == "stop"
    assert predictions["0"]["gold"] == list(textvqa.ITEMS[0].answers)
    results = json.loads((out / "results" / abbr / "textvqa.json").read_text())
    assert results["accuracy"] == pytest.approx(80.0)
    assert sum(d["correct"] for d in results["details"]) == CORRECT
    summary = out / "summary"
    assert sorted(p.name for p in summary.iterdir()) == [f"summary_{stamp}.{ext}" for ext in ("csv", "md", "txt")]
    md = (summary / f"summary_{stamp}.md").read_text()
    assert TABLE_ROW.search(md) and md in run.stdout
    assert (summary / f"summary_{stamp}.csv").read_text().splitlines()[
        1
    ] == f"textvqa,{match.group(1)},accuracy,gen,80.00"
    assert "80.00" in (summary / f"summary_{stamp}.txt").read_text()

    # Re-scoring the stored predictions needs no server and gives the same figure.
    again = ais_bench(installed, tmp_path / "run", *ACCURACY_ARGS[:-1], "eval")
    assert again.returncode == 0 and TABLE_ROW.search(again.stdout).group(2) == "80.00"
    assert "details" not in json.loads((out / "results" / abbr / "textvqa.json").read_text())


def test_the_api_key_is_sent_as_a_bearer_token(installed: Path, fake_server, tmp_path: Path) -> None:
    fake, port = fake_server
    fake.api_key = "sk-aisbench-7f3a"
    configure(installed, port, batch_size=1)
    refused = ais_bench(installed, tmp_path / "without", *ACCURACY_ARGS)
    assert refused.returncode == 3 and fake.unauthorized > 0, refused.stdout
    configure(installed, port, batch_size=1, api_key=fake.api_key)
    fake.unauthorized = 0
    run = ais_bench(installed, tmp_path / "with", *ACCURACY_ARGS)
    assert run.returncode == 0 and fake.unauthorized == 0, run.stdout + run.stderr
    assert TABLE_ROW.search(run.stdout).group(2) == "80.00"


def test_model_resolved_from_server_and_debug_output(installed: Path, fake_server, tmp_path: Path) -> None:
    fake, port = fake_server
    configure(installed, port, model="", batch_size=1)
    run = ais_bench(installed, tmp_path, *ACCURACY_ARGS, "--debug", "--work-dir", str(tmp_path / "wd"))
    assert run.returncode == 0, run.stdout + run.stderr
    assert TABLE_ROW.search(run.stdout).group(2) == "80.00"
    assert "served model: qwen2.5-vl" in run.stdout  # task log echoed with --debug
    assert fake.max_in_flight == 1
    assert (tmp_path / "wd").is_dir() and not (tmp_path / "outputs").exists()


def test_unreachable_server_scores_zero_and_fails(installed: Path, tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a port that nothing listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    configure(installed, port, model="")
    run = ais_bench(installed, tmp_path, *ACCURACY_ARGS)
    assert run.returncode == 3, run.stdout + run.stderr
    assert TABLE_ROW.search(run.stdout).group(2) == "0.00"


def test_unknown_config_is_an_error(installed: Path, tmp_path: Path) -> None:
    run = ais_bench(installed, tmp_path, "--models", "nope", "--datasets", "textvqa_gen_base64")
    assert run.returncode == 1 and "not found" in run.stdout
    assert ais_bench(installed, tmp_path, "--mode", "all").returncode == 2


def test_scoring_rule(installed: Path) -> None:
    code = (
        "import json; from ais_bench.benchmark.datasets import vqa_accuracy as a; "
        "from ais_bench.benchmark.utils.model_postprocessors import extract_non_reasoning_content as x; "
        "ans = ['parking'] * 2 + ['park'] * 8; "
        "print(json.dumps([a('Parking.', ans), a('park', ans), a('The Park!', ans), a('seven', ['7'] * 3), "
        "a('gate', ans), x('<think>hmm</think> Park')]))"
    )
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(installed)},
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    partial, full, normalised, number, wrong, stripped = json.loads(done.stdout)
    assert partial == pytest.approx(2 / 3) and full == normalised == number == 1.0 and wrong == 0.0
    assert stripped == "Park"


# ---------------------------------------------------------------------------------------------------------------
# Dataset archive
# ---------------------------------------------------------------------------------------------------------------


def decode_png(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and raw scanlines of an 8-bit RGB PNG, checking every chunk CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF, kind
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
        if kind == b"IEND":
            break
    assert header is not None and pos == len(data)
    width, height, depth, colour, *_ = header
    assert (depth, colour) == (8, 2)
    return width, height, zlib.decompress(idat)


def test_dataset_archive(built: dict[str, Any], tmp_path: Path) -> None:
    with tarfile.open(built["dataset"]) as tar:
        tar.extractall(tmp_path, filter="data")
    root = tmp_path / "textvqa"
    rows = [json.loads(line) for line in (root / "textvqa_json" / "textvqa_val.jsonl").read_text().splitlines()]
    assert len(rows) == 20
    for row in rows:
        assert set(row) >= {"question_id", "image", "question", "answers"}
        assert len(row["answers"]) == 10 and row["question"].endswith("?")
        width, height, raw = decode_png((root / row["image"]).read_bytes())
        assert len(raw) == height * (1 + 3 * width) and width >= 160 and height >= 60
        rows_px = [raw[y * (1 + 3 * width) : (y + 1) * (1 + 3 * width)] for y in range(height)]
        assert all(r[0] == 0 for r in rows_px)  # filter type None
        middle = rows_px[height // 2][1:]
        colours = {middle[i : i + 3] for i in range(0, len(middle), 3)}
        assert len(colours) == 2  # text ink and background cross the middle scanline


def test_the_kit_digest_follows_its_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    """atlas-sim up rebuilds a cached kit whose digest differs: any payload change must change it."""
    before = kit.kit_digest()
    assert before == kit.kit_digest()
    files = kit._payload_files()
    name = next(n for n in files if n.endswith("models/__init__.py"))
    monkeypatch.setattr(kit, "_payload_files", lambda: {**files, name: files[name] + b"\n"})
    assert kit.kit_digest() != before
