"""What the walk of the seed's commands expects: the commands as the docs type them and the exact output formats.

Formats follow /work/shared/reference/ascend-vllm-facts.md §2-§6 and vllm-cli-and-models.md §3.
"""

from __future__ import annotations

import base64
import json
import re
import struct
import subprocess
import time
import zlib
from dataclasses import dataclass

from .conftest import in_lab, in_node

IMAGE = "quay.io/ascend/vllm-ascend:v0.11.0rc1"
MODEL = "Qwen/Qwen2.5-VL-7B-Instruct"
MODEL_DIR = "/root/.cache/modelscope/hub/models/Qwen/Qwen2___5-VL-7B-Instruct"
HCCN_TOOL = "/usr/local/Ascend/driver/tools/hccn_tool"
NODE_IP = {"atlas-01": "10.231.0.11", "atlas-02": "10.231.0.12", "atlas-03": "10.231.0.13"}
TABLE_WIDTH = 98

# The single-NPU tutorial's device and mount list (§2) minus its `--device /dev/davinci0`, which callers choose.
SEED_DEVICES_AND_MOUNTS = [
    "--device", "/dev/davinci_manager",
    "--device", "/dev/devmm_svm",
    "--device", "/dev/hisi_hdc",
    "-v", "/usr/local/dcmi:/usr/local/dcmi",
    "-v", "/usr/local/bin/npu-smi:/usr/local/bin/npu-smi",
    "-v", "/usr/local/Ascend/driver/lib64/:/usr/local/Ascend/driver/lib64/",
    "-v", "/usr/local/Ascend/driver/version.info:/usr/local/Ascend/driver/version.info",
    "-v", "/etc/ascend_install.info:/etc/ascend_install.info",
    "-v", "/root/.cache:/root/.cache",
]


def seed_docker_run(name: str, devices: list[int], *, detach: bool = True, publish: bool = True,
                    host_network: bool = False, serve_args: tuple[str, ...] = (),
                    env: tuple[str, ...] = (), model: str = MODEL) -> list[str]:
    """The seed's `docker run` of `vllm serve`, detached instead of `-it` and without `--rm` (exit codes matter)."""
    argv = ["docker", "run", "-d" if detach else "--rm", "--name", name]
    for device in devices:
        argv += ["--device", f"/dev/davinci{device}"]
    argv += SEED_DEVICES_AND_MOUNTS
    if host_network:
        argv += ["--net=host"]
    if publish:
        argv += ["-p", "8000:8000"]
    for assignment in env:
        argv += ["-e", assignment]
    argv += ["-e", "VLLM_USE_MODELSCOPE=True", "-e", "PYTORCH_NPU_ALLOC_CONF=max_split_size_mb:256", IMAGE,
             "vllm", "serve", model, "--max_model_len", "16384", *serve_args]
    return argv


def seed_loop(option: str, tool: str = HCCN_TOOL, pipe: str = "") -> str:
    """One of the tutorial's `for i in {0..7}` loops, exactly as typed there apart from the tool's spelling."""
    return f"for i in {{0..7}}; do {tool} -i $i {option}{pipe}; done"


def node_bash(node: str, script: str, check: bool = True) -> subprocess.CompletedProcess:
    return in_node(node, "bash", "-c", script, check=check)


def lines(text: str) -> list[str]:
    return text.rstrip("\n").split("\n") if text.strip() else []


# ---------------------------------------------------------------- npu-smi info


@dataclass
class Chip:
    npu: int
    name: str
    health: str
    power: str
    temp: str
    bus_id: str
    hbm_used: int
    hbm_total: int


@dataclass
class NpuProcess:
    npu: int
    chip: int
    pid: int
    name: str
    memory_mb: int


@dataclass
class NpuTable:
    version_line: str
    chips: list[Chip]
    processes: list[NpuProcess]
    idle_npus: list[int]


BORDER = "+" + "-" * 96 + "+"
SPLIT = "+---------------------------+---------------+----------------------------------------------------+"
DOUBLE = "+===========================+===============+====================================================+"
HEAD_1 = "| NPU   Name                | Health        | Power(W)    Temp(C)           Hugepages-Usage(page)|"
HEAD_2 = "| Chip                      | Bus-Id        | AICore(%)   Memory-Usage(MB)  HBM-Usage(MB)        |"
PROC_HEAD = "| NPU     Chip              | Process id    | Process name             | Process memory(MB)      |"


def version_line(version: str) -> str:
    return f"| {'npu-smi ' + version:<33}{'Version: ' + version:<62}|"


def _chip_rows(chip: Chip) -> tuple[str, str]:
    first = f"| {chip.npu:<6}{chip.name:<20}| {chip.health:<14}| {chip.power:<12}{chip.temp:<18}{'0    / 0':<21}|"
    hbm = f"{chip.hbm_used:<5}/ {chip.hbm_total}"
    second = f"| {0:<26}| {chip.bus_id:<14}| {0:<12}{'0    / 0':<18}{hbm:<21}|"
    return first, second


def _process_row(proc: NpuProcess) -> str:
    return f"| {proc.npu:<8}{proc.chip:<18}| {proc.pid:<14}| {proc.name:<25}| {proc.memory_mb:<24}|"


def _idle_row(npu: int) -> str:
    return f"| {'No running processes found in NPU ' + str(npu):<95}|"


def parse_npu_smi_info(text: str) -> NpuTable:
    """Parse the 910B `npu-smi info` table and fail unless every line is laid out exactly as the real tool's."""
    rows = lines(text)
    assert rows[:5] == [BORDER, rows[1], SPLIT, HEAD_1, HEAD_2] and rows[5] == DOUBLE, "header:\n" + "\n".join(rows[:6])
    widths = {len(row) for row in rows}
    assert widths == {TABLE_WIDTH}, f"every line is {TABLE_WIDTH} wide, got widths {sorted(widths)}"
    chips: list[Chip] = []
    at = 6
    while rows[at] != SPLIT:
        npu_name, health, power_temp = (cell.strip() for cell in rows[at].split("|")[1:4])
        _, bus_id, usage = (cell.strip() for cell in rows[at + 1].split("|")[1:4])
        npu, name = npu_name.split()
        power, temp, *_ = power_temp.split()
        # "0           0    / 0          3396 / 65536": AICore, Memory-Usage, then HBM-Usage used / total.
        hbm = re.fullmatch(r"0 +0 +/ 0 +(\d+) */ (\d+)", usage)
        assert hbm, f"NPU {npu} usage cell {usage!r}"
        chip = Chip(int(npu), name, health, power, temp, bus_id, int(hbm.group(1)), int(hbm.group(2)))
        assert (rows[at], rows[at + 1]) == _chip_rows(chip), f"NPU {npu} rows laid out differently:\n" + "\n".join(
            rows[at:at + 2])
        assert rows[at + 2] == DOUBLE, f"after the rows of NPU {npu}: {rows[at + 2]!r}"
        chips.append(chip)
        at += 3
    assert rows[at:at + 3] == [SPLIT, PROC_HEAD, DOUBLE], "process table header:\n" + "\n".join(rows[at:at + 3])
    processes: list[NpuProcess] = []
    idle: list[int] = []
    for row in rows[at + 3:]:
        if row == DOUBLE:
            continue
        idle_match = re.fullmatch(r"\| No running processes found in NPU (\d+) +\|", row)
        if idle_match:
            idle.append(int(idle_match.group(1)))
            assert row == _idle_row(idle[-1]), f"idle row laid out differently: {row!r}"
            continue
        npu_chip, pid, name, memory = (cell.strip() for cell in row.split("|")[1:5])
        npu, chip_id = npu_chip.split()
        proc = NpuProcess(int(npu), int(chip_id), int(pid), name, int(memory))
        assert row == _process_row(proc), f"process row laid out differently: {row!r}"
        processes.append(proc)
    assert rows[-1] == DOUBLE, f"the table ends with {rows[-1]!r}"
    return NpuTable(rows[1], chips, processes, idle)


# ---------------------------------------------------------------- hccn_tool

PING_HEADER = re.compile(r"device (\d+) PING (\d+\.\d+\.\d+\.\d+)")
PING_REPLY = re.compile(r"recv seq=(\d+),time=\d+\.\d{6}ms")
PING_SUMMARY = re.compile(r"(\d+) packets transmitted, (\d+) received, (\d+\.\d{2})% packet loss")


def parse_ping(text: str) -> tuple[str, list[int], tuple[int, int, str]]:
    """(address, reply seqs, (transmitted, received, loss)) of an `hccn_tool -ping` in the real tool's format."""
    rows = lines(text)
    header = PING_HEADER.fullmatch(rows[0])
    summary = PING_SUMMARY.fullmatch(rows[-1])
    assert header and summary, f"ping output:\n{text}"
    seqs = []
    for row in rows[1:-1]:
        reply = PING_REPLY.fullmatch(row)
        assert reply, f"ping reply line {row!r} is not `recv seq=N,time=X.XXXXXXms`"
        seqs.append(int(reply.group(1)))
    return header.group(2), seqs, (int(summary.group(1)), int(summary.group(2)), summary.group(3))


def parse_hccn_conf(text: str) -> dict[str, str]:
    pairs = {}
    for row in lines(text):
        key, sep, value = row.partition("=")
        assert sep and key and value, f"/etc/hccn.conf line {row!r} is not key=value"
        pairs[key] = value
    return pairs


# ---------------------------------------------------------------- vLLM

ANSI_PREFIX = r"(?:\x1b\[1;36m\((?:APIServer|EngineCore_DP0) pid=\d+\)\x1b\[0;0m )?"
LOG_LINE = re.compile(ANSI_PREFIX + r"INFO \d\d-\d\d \d\d:\d\d:\d\d \[(?P<where>[\w.]+:\d+)\] (?P<message>.*)")
UVICORN_LINE = re.compile(ANSI_PREFIX + r"INFO: {5}(?P<message>.*)")

# vllm-cli-and-models.md §3, in order, for `vllm serve Qwen/Qwen2.5-VL-7B-Instruct --max_model_len 16384 -tp 2`.
STARTUP_LINES: list[tuple[str, str]] = [
    ("__init__.py:207", r"Platform plugin ascend is activated"),
    ("api_server.py:1839", r"vLLM API server version 0\.11\.0"),
    ("utils.py:233", r"non-default args: \{.*'max_model_len': 16384.*'tensor_parallel_size': 2.*\}"),
    ("model.py:547", r"Resolved architecture: Qwen2_5_VLForConditionalGeneration"),
    ("model.py:1510", r"Using max model len 16384"),
    ("scheduler.py:205", r"Chunked prefill is enabled with max_num_batched_tokens=\d+\."),
    ("core.py:77", r"Initializing a V1 LLM engine \(v0\.11\.0\) with config: model='Qwen/Qwen2\.5-VL-7B-Instruct', .*"
                   r"tensor_parallel_size=2, .*"),
    ("default_loader.py:268", r"Loading weights took \d+\.\d\d seconds"),
    ("kv_cache_utils.py:1087", r"GPU KV cache size: \d{1,3}(?:,\d{3})* tokens"),
    ("kv_cache_utils.py:1091", r"Maximum concurrency for 16,384 tokens per request: \d+\.\d\dx"),
    ("core.py:210", r"init engine \(profile, create kv cache, warmup model\) took \d+\.\d\d seconds"),
    ("api_server.py:1634", r"Supported_tasks: \['generate'\]"),
    ("api_server.py:1912", r"Starting vLLM API server 0 on http://0\.0\.0\.0:8000"),
    ("launcher.py:34", r"Available routes are:"),
    ("uvicorn", r"Started server process \[\d+\]"),
    ("uvicorn", r"Waiting for application startup\."),
    ("uvicorn", r"Application startup complete\."),
]


def missing_startup_lines(log: str) -> list[str]:
    """The start-up lines not found in order in `log` (empty when all are there)."""
    expected = list(STARTUP_LINES)
    for row in lines(log):
        if not expected:
            break
        where, message = expected[0]
        match = UVICORN_LINE.fullmatch(row) if where == "uvicorn" else LOG_LINE.fullmatch(row)
        if match and (where == "uvicorn" or match.group("where") == where) and re.fullmatch(message, match["message"]):
            expected.pop(0)
    return [f"[{where}] {message}" for where, message in expected]


def png_bytes(width: int = 8, height: int = 8) -> bytes:
    """A real (decodable) RGB PNG: signature, IHDR, zlib-compressed IDAT, IEND, each chunk with its CRC."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes((255, 128 * (y % 2), 0)) * width for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def multimodal_chat_body(image: bytes) -> str:
    """The tutorial's request (§2) with the image sent inline as a base64 data URI instead of a URL."""
    uri = "data:image/png;base64," + base64.b64encode(image).decode()
    return json.dumps({"model": MODEL, "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": uri}},
            {"type": "text", "text": "What is the text in the illustrate?"},
        ]},
    ]})


def curl(url: str, *args: str) -> subprocess.CompletedProcess:
    """curl from the lab network; stdout ends with the HTTP status on its own line."""
    return in_lab("curl", "-sS", "--max-time", "20", "-w", "\n%{http_code}", *args, url, check=False, timeout=60)


def wait_healthy(node: str, timeout: float = 60.0, port: int = 8000) -> None:
    deadline = time.monotonic() + timeout
    while True:
        result = curl(f"http://{NODE_IP[node]}:{port}/health")
        if result.returncode == 0 and result.stdout.endswith("\n200"):
            return
        assert time.monotonic() < deadline, f"vllm serve on {node} not healthy after {timeout}s: {result.stderr}"
        time.sleep(0.5)


BENCH_ROWS = [
    "Successful requests:", "Benchmark duration (s):", "Total input tokens:", "Total generated tokens:",
    "Request throughput (req/s):", "Output token throughput (tok/s):", "Peak output token throughput (tok/s):",
    "Peak concurrent requests:", "Total Token throughput (tok/s):",
    "---------------Time to First Token----------------",
    "Mean TTFT (ms):", "Median TTFT (ms):", "P99 TTFT (ms):",
    "-----Time per Output Token (excl. 1st token)------",
    "Mean TPOT (ms):", "Median TPOT (ms):", "P99 TPOT (ms):",
    "---------------Inter-token Latency----------------",
    "Mean ITL (ms):", "Median ITL (ms):", "P99 ITL (ms):",
]
BENCH_INT_ROWS = {"Successful requests:", "Total input tokens:", "Total generated tokens:"}
BENCH_JSON_KEYS = {
    "date", "endpoint_type", "backend", "label", "model_id", "tokenizer_id", "num_prompts", "request_rate",
    "burstiness", "max_concurrency", "duration", "completed", "total_input_tokens", "total_output_tokens",
    "request_throughput", "request_goodput", "output_throughput", "total_token_throughput",
    "max_output_tokens_per_s", "max_concurrent_requests",
    *(f"{stat}_{metric}_ms" for stat in ("mean", "median", "std", "p99") for metric in ("ttft", "tpot", "itl")),
}


def bench_block(output: str) -> dict[str, str]:
    """The `Serving Benchmark Result` block as label -> value, checking the reference's column layout."""
    rows = lines(output)
    start = rows.index("============ Serving Benchmark Result ============")
    end = rows.index("=" * 50, start + 1)
    block = rows[start + 1:end]
    values: dict[str, str] = {}
    labels: list[str] = []
    for row in block:
        if row.startswith("-"):
            assert len(row) == 50, f"section rule {row!r} is not 50 wide"
            labels.append(row)
            continue
        # `{:<40} {:<10}`: the label padded to 40, a space, the value padded to 10.
        match = re.fullmatch(r"(?P<label>.{40}) (?P<value>\S+) *", row)
        assert match and len(row) >= 51, f"result line {row!r} is not laid out as `{{:<40}} {{:<10}}`"
        label = match["label"].rstrip()
        number = r"\d+" if label in BENCH_INT_ROWS else r"\d+\.\d\d"
        assert re.fullmatch(number, match["value"]), f"{label} value {match['value']!r} is not {number}"
        labels.append(label)
        values[label] = match["value"]
    assert labels == BENCH_ROWS, "result block rows:\n" + "\n".join(block)
    return values
