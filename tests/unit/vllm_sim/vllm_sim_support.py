"""Helpers of the vllm_sim tests: a fake driver library, a Qwen2.5-VL-7B model directory, `vllm serve` as a subprocess.

Servers bind 127.0.0.1 only, on a free port, with short load times and token timings so the suite stays fast.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import struct
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
IMAGE_DIR = HERE.parents[2] / "sandbox" / "atlas_sim" / "image"
SANDBOX_DIR = IMAGE_DIR.parents[1]
FAKE_DRIVER = HERE / "fixtures" / "driver"

# Qwen2.5-VL-7B-Instruct's config.json values (reference §4).
QWEN25_VL_7B = {
    "architectures": ["Qwen2_5_VLForConditionalGeneration"],
    "model_type": "qwen2_5_vl",
    "hidden_act": "silu",
    "hidden_size": 3584,
    "intermediate_size": 18944,
    "num_attention_heads": 28,
    "num_key_value_heads": 4,
    "num_hidden_layers": 28,
    "max_window_layers": 28,
    "vocab_size": 152064,
    "tie_word_embeddings": False,
    "max_position_embeddings": 128000,
    "sliding_window": 32768,
    "use_sliding_window": False,
    "rms_norm_eps": 1e-06,
    "rope_theta": 1000000.0,
    "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]},
    "torch_dtype": "bfloat16",
    "bos_token_id": 151643,
    "eos_token_id": 151645,
    "vision_start_token_id": 151652,
    "vision_end_token_id": 151653,
    "vision_token_id": 151654,
    "image_token_id": 151655,
    "video_token_id": 151656,
    "vision_config": {
        "depth": 32,
        "hidden_act": "silu",
        "hidden_size": 1280,
        "intermediate_size": 3420,
        "num_heads": 16,
        "in_chans": 3,
        "out_hidden_size": 3584,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "spatial_patch_size": 14,
        "window_size": 112,
        "fullatt_block_indexes": [7, 15, 23, 31],
        "tokens_per_second": 2,
        "temporal_patch_size": 2,
    },
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_port_range(count: int = 16) -> int:
    """The first of `count` consecutive loopback ports that are free now (an HCCL listener range)."""
    for _ in range(50):
        base = random.randrange(20000, 30000 - count)
        socks = []
        try:
            for port in range(base, base + count):
                sock = socket.socket()
                socks.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise RuntimeError(f"no {count} consecutive free loopback ports found")


@dataclass
class Sim:
    root: Path
    model: Path
    state_file: Path
    state: dict[str, Any] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)
    # Each sim's tensor-parallel engines listen for HCCL on loopback ports of their own, so tests never collide.
    hccl_base_port: int = field(default_factory=free_port_range)

    def write_state(self) -> None:
        self.state_file.write_text(json.dumps(self.state), encoding="utf-8")

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VLLM", "ASCEND_RT"))}
        env.update(
            PYTHONPATH=str(IMAGE_DIR),
            VLLM_SIM_DRIVER_DIR=str(FAKE_DRIVER),
            FAKE_TWIN_STATE=str(self.state_file),
            VLLM_SIM_TTFT_MS="20",
            VLLM_SIM_TPOT_MS="4",
            HOME=str(self.root / "home"),
            PYTHONDONTWRITEBYTECODE="1",
            HCCL_IF_IP="127.0.0.1",
            HCCL_IF_BASE_PORT=str(self.hccl_base_port),
        )
        env.update(self.extra_env)
        return env

    def run(self, *args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
        self.write_state()
        return subprocess.run(
            [sys.executable, "-m", "vllm_sim", *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def registrations(self) -> list[dict[str, Any]]:
        return [json.loads(p.read_text(encoding="utf-8")) for p in self.root.glob("registered-*.json")]


def make_sim(root: Path, devices: int = 2, load_seconds: float | None = 0.3) -> Sim:
    model = root / "models" / "Qwen2.5-VL-7B-Instruct"
    model.mkdir(parents=True)
    (model / "config.json").write_text(json.dumps(QWEN25_VL_7B), encoding="utf-8")
    (root / "home").mkdir()
    sim = Sim(root=root, model=model, state_file=root / "state.json")
    sim.state = {
        "load_seconds": load_seconds,
        "faults": [],
        "devices": [
            {"logic_id": i, "present": True, "health": "OK", "hbm_total_mb": 65536, "hbm_used_mb": 3400}
            for i in range(devices)
        ],
    }
    sim.write_state()
    return sim


class Server:
    """A running `vllm serve`; output goes to files so a chatty server never blocks on a full pipe."""

    def __init__(self, sim: Sim, *args: str, port: int | None = None) -> None:
        self.sim = sim
        self.port = port or free_port()
        sim.write_state()
        self.out_path = sim.root / f"serve-{self.port}.out"
        self.err_path = sim.root / f"serve-{self.port}.err"
        cmd = [
            sys.executable,
            "-m",
            "vllm_sim",
            "serve",
            str(sim.model),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            *args,
        ]
        with open(self.out_path, "w") as out, open(self.err_path, "w") as err:
            self.proc = subprocess.Popen(cmd, env=sim.env(), stdout=out, stderr=err)

    @property
    def stdout(self) -> str:
        return self.out_path.read_text(encoding="utf-8")

    @property
    def stderr(self) -> str:
        return self.err_path.read_text(encoding="utf-8")

    def wait_ready(self, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited {self.proc.returncode}:\n{self.stdout}\n{self.stderr}")
            if "Application startup complete." in self.stdout:
                return
            time.sleep(0.05)
        raise AssertionError(f"server not ready:\n{self.stdout}\n{self.stderr}")

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        try:
            data = json.dumps(body).encode() if body is not None else None
            hdrs = {"Content-Type": "application/json", **(headers or {})}
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def json(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        status, _, raw = self.request(method, path, body, headers)
        return status, json.loads(raw) if raw else None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def png(width: int, height: int) -> bytes:
    """A real PNG (solid colour), built with zlib and struct."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + bytes([200, 30, 30]) * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
