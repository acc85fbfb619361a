"""The seed's own commands walked on a fresh 3-node twin, healthy and under each fault kind.

Healthy walk on atlas-01 (the vLLM server) with atlas-02 as the ping peer; faults go to atlas-02 with atlas-03
as the peer, so a fault never leaks into the healthy checks.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .conftest import REPO, in_lab, in_node, sim
from .twin_walk_support import (
    BENCH_JSON_KEYS,
    HCCN_TOOL,
    IMAGE,
    MODEL,
    MODEL_DIR,
    NODE_IP,
    bench_block,
    curl,
    lines,
    missing_startup_lines,
    multimodal_chat_body,
    node_bash,
    parse_hccn_conf,
    parse_npu_smi_info,
    parse_ping,
    png_bytes,
    seed_docker_run,
    seed_loop,
    version_line,
    wait_healthy,
)

# docker-proxy accepts on a published port, fails to reach the unlistened container port and closes the client:
# curl sees a reset (56) when its request was already in flight, an empty reply (52) otherwise.
PROXY_DROPPED = {52, 56}
SERVER = "atlas-01"
FAULTY = "atlas-02"
PEER = "atlas-03"
IDLE_HBM_NPU0 = 3396  # sample A's NPU 0, which the default profile reproduces
BENCH_ARGS = ["vllm", "bench", "serve", "--model", MODEL, "--dataset-name", "random", "--random-input-len", "32",
              "--random-output-len", "8", "--num-prompts", "4", "--save-result", "--result-dir", "/tmp/r"]

@pytest.fixture(scope="module")
def fleet() -> Iterator[None]:
    sim("down")
    sim("up", "--nodes", "3", "--load-seconds", "3")
    yield
    sim("down")


# ---------------------------------------------------------------- healthy hardware


def test_npu_smi_info_has_the_910b_table(fleet: None) -> None:
    table = parse_npu_smi_info(in_node(SERVER, "npu-smi", "info").stdout)
    assert table.version_line == version_line("25.2.0")
    assert [chip.npu for chip in table.chips] == list(range(8))
    assert {(chip.name, chip.health, chip.hbm_total) for chip in table.chips} == {("910B3", "OK", 65536)}
    assert all(3200 <= chip.hbm_used <= 3500 for chip in table.chips), "an idle 64 GB card holds about 3.2-3.5 GB"
    assert (table.chips[0].bus_id, table.chips[0].hbm_used) == ("0000:C1:00.0", IDLE_HBM_NPU0)
    assert table.processes == [] and table.idle_npus == list(range(8))


def test_lldp_loop_names_the_switch_ports(fleet: None) -> None:
    out = node_bash(SERVER, seed_loop("-lldp -g", pipe=" | grep Ifname")).stdout
    assert lines(out) == [f"\tIfname: 400GE1/1/1:{device + 1}" for device in range(8)]


@pytest.mark.parametrize(("option", "expected"), [
    ("-link -g", ["link status: UP"] * 8),
    ("-net_health -g", ["net health status: Success"] * 8),
    ("-netdetect -g", ["netdetect address: 10.232.0.1"] * 8),
    ("-gateway -g", [f"default gateway:10.232.0.1, Iface:eth{device}" for device in range(8)]),
])
def test_hccn_tool_loops_print_the_real_format(fleet: None, option: str, expected: list[str]) -> None:
    result = node_bash(SERVER, seed_loop(option + " "))
    assert lines(result.stdout) == expected and result.stderr == ""


def test_hccn_conf_agrees_with_the_device_ips(fleet: None) -> None:
    conf = parse_hccn_conf(in_node(SERVER, "cat", "/etc/hccn.conf").stdout)
    ip_lines = lines(node_bash(SERVER, seed_loop("-ip -g")).stdout)
    assert ip_lines == [row for device in range(8)
                        for row in (f"ipaddr:{conf[f'address_{device}']}", f"netmask:{conf[f'netmask_{device}']}")]
    assert [conf[f"address_{device}"] for device in range(8)] == [f"10.232.1.{device + 1}" for device in range(8)]
    for device in range(8):
        assert conf[f"netdetect_{device}"] == conf[f"gateway_{device}"] == "10.232.0.1"
    grep = node_bash(SERVER, seed_loop("-ip -g", pipe=" | grep ipaddr")).stdout
    assert lines(grep) == [f"ipaddr:10.232.1.{device + 1}" for device in range(8)]


def test_cross_node_ping_has_the_real_format(fleet: None) -> None:
    result = in_node(SERVER, HCCN_TOOL, "-i", "0", "-ping", "-g", "address", "10.232.2.1")
    address, seqs, summary = parse_ping(result.stdout)
    assert lines(result.stdout)[0] == "device 0 PING 10.232.2.1"
    assert (address, seqs, summary) == ("10.232.2.1", [0, 1, 2], (3, 3, "0.00"))


def test_npu_smi_over_ssh_matches_the_walk(fleet: None) -> None:
    # An operator's SSH session is the "typed by hand" case; its output must not differ from the walk's.
    key, known = REPO / "build/sandbox/run/id_ed25519", REPO / "build/sandbox/run/known_hosts"
    by_ssh = in_lab("ssh", "-i", str(key), "-o", f"UserKnownHostsFile={known}", "-o", "BatchMode=yes",
                    f"root@{NODE_IP[SERVER]}", "npu-smi info").stdout
    assert by_ssh == in_node(SERVER, "npu-smi", "info").stdout


def test_seed_loops_run_as_typed_in_a_login_shell(fleet: None) -> None:
    typed = in_node(SERVER, "bash", "-lc", seed_loop("-link -g ", tool="hccn_tool"), check=False)
    assert typed.stderr == ""
    assert typed.stdout == node_bash(SERVER, seed_loop("-link -g ")).stdout


# ---------------------------------------------------------------- vllm serve, chat, bench


@pytest.fixture(scope="module")
def served(fleet: None) -> Iterator[dict]:
    """The seed's `docker run ... vllm serve` on NPUs 0 and 1 of atlas-01, probed from the lab while it loads."""
    in_node(SERVER, *seed_docker_run("vllm-ascend", [0, 1], serve_args=("--tensor-parallel-size", "2")))
    # Probe at once: with --load-seconds 3 the engine is still loading.
    loading = curl(f"http://{NODE_IP[SERVER]}:8000/health")
    wait_healthy(SERVER)
    yield {"loading": loading}
    in_node(SERVER, "docker", "rm", "-f", "vllm-ascend", check=False)


def test_port_mapping_drops_connections_while_loading(served: dict) -> None:
    loading = served["loading"]
    assert loading.returncode in PROXY_DROPPED, f"curl exit {loading.returncode}: {loading.stderr}"
    assert loading.stdout == "\n000", "no HTTP status while loading, not even 503"


def test_host_network_refuses_connections_while_loading(fleet: None) -> None:
    node = "atlas-02"
    in_node(node, *seed_docker_run("vllm-host", [0, 1], publish=False, host_network=True,
                                   serve_args=("--tensor-parallel-size", "2")))
    try:
        loading = curl(f"http://{NODE_IP[node]}:8000/health")
        assert loading.returncode == 7, f"curl exit {loading.returncode} (7 is connection refused): {loading.stderr}"
        wait_healthy(node)
    finally:
        in_node(node, "docker", "rm", "-f", "vllm-host", check=False)


def test_two_tensor_parallel_servers_on_one_host_network_need_their_own_hccl_ports(fleet: None) -> None:
    # docs/field-failures.md row 1: the second engine's HCCL listener finds CANN's default range taken.
    node = "atlas-02"
    second = ("--tensor-parallel-size", "2", "--port", "8001")
    try:
        in_node(node, *seed_docker_run("vllm-hccl-a", [0, 1], publish=False, host_network=True,
                                       serve_args=("--tensor-parallel-size", "2")))
        wait_healthy(node)
        clash = in_node(node, "timeout", "60", *seed_docker_run("vllm-hccl-b", [2, 3], detach=False, publish=False,
                                                                  host_network=True, serve_args=second), check=False)
        output = clash.stdout + clash.stderr
        assert clash.returncode == 1, output
        assert "EJ0003: [PID: " in output and "Failed to bind the IP port. Reason: The IP address and port have " \
            "been bound already." in output
        assert "host nic listen start failed, port[60000], return[11]" in output
        in_node(node, "docker", "rm", "-f", "vllm-hccl-b", check=False)
        in_node(node, *seed_docker_run("vllm-hccl-b", [2, 3], publish=False, host_network=True, serve_args=second,
                                       env=("HCCL_IF_BASE_PORT=60016",)))
        wait_healthy(node, port=8001)
    finally:
        in_node(node, "docker", "rm", "-f", "vllm-hccl-a", "vllm-hccl-b", check=False)


def test_a_hub_id_waits_on_the_hub_unless_offline_settings_stop_it_at_once(fleet: None) -> None:
    # docs/field-failures.md row 6: no node caches this model, and the lab answers no hub lookup.
    node, absent = "atlas-02", "Qwen/Qwen2-VL-2B-Instruct"
    try:
        in_node(node, *seed_docker_run("vllm-hub", [0], publish=False, model=absent))
        deadline = time.monotonic() + 30
        while "non-default args" not in in_node(node, "docker", "logs", "vllm-hub").stdout:
            assert time.monotonic() < deadline, "the server never logged its arguments"
            time.sleep(1)
        time.sleep(10)
        state = in_node(node, "docker", "inspect", "-f", "{{.State.Status}}", "vllm-hub").stdout.strip()
        logs = in_node(node, "docker", "logs", "vllm-hub")
        assert state == "running" and "Traceback" not in logs.stdout + logs.stderr, logs.stdout + logs.stderr
        assert "Resolved architecture" not in logs.stdout
    finally:
        in_node(node, "docker", "rm", "-f", "vllm-hub", check=False)
    started = time.monotonic()
    offline = in_node(node, "timeout", "60", *seed_docker_run("vllm-hub", [0], detach=False, publish=False,
                                                              model=absent, env=("HF_HUB_OFFLINE=1",)), check=False)
    in_node(node, "docker", "rm", "-f", "vllm-hub", check=False)
    output = offline.stdout + offline.stderr
    assert offline.returncode == 1 and time.monotonic() - started < 30, output
    assert "ValueError: Cannot find the requested files in the cached path and outgoing traffic has been disabled." \
        in output


def test_logs_show_the_startup_lines(served: dict) -> None:
    logs = in_node(SERVER, "docker", "logs", "vllm-ascend")
    full = logs.stdout + logs.stderr
    assert missing_startup_lines(full) == [], full
    assert "Uvicorn running on" not in full, "vLLM hands uvicorn a bound socket: no 'Uvicorn running on' line"


def test_health_and_models_answer_the_lab(served: dict) -> None:
    health = curl(f"http://{NODE_IP[SERVER]}:8000/health")
    assert health.stdout == "\n200", "/health is 200 with an empty body"
    models = curl(f"http://{NODE_IP[SERVER]}:8000/v1/models")
    body, status = models.stdout.rsplit("\n", 1)
    assert status == "200"
    listing = json.loads(body)
    assert listing["object"] == "list" and len(listing["data"]) == 1
    card = listing["data"][0]
    assert {key: card[key] for key in ("id", "object", "owned_by", "root", "parent", "max_model_len")} == {
        "id": MODEL, "object": "model", "owned_by": "vllm", "root": MODEL, "parent": None, "max_model_len": 16384}
    assert isinstance(card["created"], int) and card["permission"][0]["object"] == "model_permission"


def test_multimodal_chat_with_a_data_uri_image(served: dict, tmp_path: Path) -> None:
    request = tmp_path / "chat.json"
    request.write_text(multimodal_chat_body(png_bytes()))
    answer = curl(f"http://{NODE_IP[SERVER]}:8000/v1/chat/completions", "-H", "Content-Type: application/json",
                  "--data-binary", f"@{request}")
    body, status = answer.stdout.rsplit("\n", 1)
    assert status == "200", body
    completion = json.loads(body)
    assert list(completion) == ["id", "object", "created", "model", "choices", "service_tier", "system_fingerprint",
                                "usage", "prompt_logprobs", "prompt_token_ids", "kv_transfer_params"]
    assert re.fullmatch(r"chatcmpl-[0-9a-f]{32}", completion["id"]) and completion["object"] == "chat.completion"
    assert completion["model"] == MODEL and len(completion["choices"]) == 1
    choice = completion["choices"][0]
    assert choice["index"] == 0 and choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant" and choice["message"]["content"].strip()
    usage = completion["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


# Posts the same chat request from many threads at once and prints each answer's status (0: no answer).
CONCURRENT_POSTS = r"""
import sys, threading, urllib.request
url, body, count = sys.argv[1], open(sys.argv[2], "rb").read(), int(sys.argv[3])
codes = []
def post():
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        codes.append(urllib.request.urlopen(request, timeout=30).status)
    except Exception:
        codes.append(0)
threads = [threading.Thread(target=post) for _ in range(count)]
[t.start() for t in threads]
[t.join() for t in threads]
print(" ".join(map(str, codes)))
"""


def test_concurrent_images_on_dockers_default_dev_shm_kill_the_engine(fleet: None, tmp_path: Path) -> None:
    # docs/field-failures.md row 2: the seed's docker run has no --shm-size, so /dev/shm is Docker's 64 MB. Each
    # 2048x2048 image holds 12 MB of decoded pixels there until answered: any six of thirty in flight are too many.
    node = "atlas-02"
    in_node(node, *seed_docker_run("vllm-shm", [0]))
    try:
        wait_healthy(node)
        request = tmp_path / "chat.json"
        request.write_text(multimodal_chat_body(png_bytes(2048, 2048)))
        posted = in_lab(sys.executable, "-c", CONCURRENT_POSTS, f"http://{NODE_IP[node]}:8000/v1/chat/completions",
                        str(request), "30", check=False)
        assert "0" in posted.stdout.split(), posted.stdout + posted.stderr
        assert in_node(node, "timeout", "30", "docker", "wait", "vllm-shm").stdout.strip() == "1"
        logs = in_node(node, "docker", "logs", "vllm-shm")
        assert "Engine core proc EngineCore_DP0 died unexpectedly, shutting down client." in logs.stdout + logs.stderr
        assert in_node(node, "docker", "inspect", "--format", "{{.HostConfig.ShmSize}}", "vllm-shm").stdout.strip() \
            in ("0", "67108864")
    finally:
        in_node(node, "docker", "rm", "-f", "vllm-shm", check=False)


def test_npu_smi_shows_the_workers_and_their_hbm(served: dict) -> None:
    table = parse_npu_smi_info(in_node(SERVER, "npu-smi", "info").stdout)
    by_npu = {proc.npu: proc for proc in table.processes}
    assert sorted(by_npu) == [0, 1] and table.idle_npus == [2, 3, 4, 5, 6, 7]
    for npu in (0, 1):
        proc, chip = by_npu[npu], table.chips[npu]
        assert proc.name == "VLLMWorker_TP" and proc.chip == 0
        # vLLM claims 0.9 of HBM (--gpu-memory-utilization); the row's HBM is the driver's share plus the worker's.
        assert proc.memory_mb > 0.8 * chip.hbm_total, f"NPU {npu} worker holds {proc.memory_mb} MB"
        assert chip.hbm_used > proc.memory_mb and chip.hbm_used <= chip.hbm_total
    assert table.chips[0].hbm_used == IDLE_HBM_NPU0 + by_npu[0].memory_mb


def test_logs_report_the_weights_each_rank_loads(served: dict) -> None:
    logs = in_node(SERVER, "docker", "logs", "vllm-ascend")
    loaded = re.search(r"Loading model weights took (\d+\.\d+) GB", logs.stdout + logs.stderr)
    assert loaded, "no 'Loading model weights took' line"
    # Qwen2.5-VL-7B holds about 16.6 GB of bf16 weights; TP 2 puts about half on each rank.
    assert 7.0 < float(loaded.group(1)) < 9.0, loaded.group(0)


def test_each_tp_rank_is_its_own_process(served: dict) -> None:
    table = parse_npu_smi_info(in_node(SERVER, "npu-smi", "info").stdout)
    assert len({proc.pid for proc in table.processes}) == 2


def test_bench_serve_inside_the_container(served: dict) -> None:
    result = in_node(SERVER, "docker", "exec", "vllm-ascend", *BENCH_ARGS, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    bench_block(result.stdout)


def test_bench_serve_prints_the_result_block_and_saves_the_json(served: dict) -> None:
    # A second container in the server's network namespace: the same `vllm bench serve` the seed runs with
    # `docker exec`, against the same 127.0.0.1:8000.
    in_node(SERVER, "rm", "-rf", "/tmp/r")
    result = in_node(SERVER, "docker", "run", "--rm", "--network", "container:vllm-ascend", "-v", "/tmp/r:/tmp/r",
                     "-v", "/root/.cache:/root/.cache", "-e", "VLLM_USE_MODELSCOPE=True", IMAGE, *BENCH_ARGS)
    values = bench_block(result.stdout)
    assert values["Successful requests:"] == "4"
    assert values["Total input tokens:"] == str(4 * 32) and values["Total generated tokens:"] == str(4 * 8)
    saved = lines(in_node(SERVER, "ls", "/tmp/r").stdout)
    assert len(saved) == 1 and re.fullmatch(r"openai-infqps-Qwen2\.5-VL-7B-Instruct-\d{8}-\d{6}\.json", saved[0])
    report = json.loads(in_node(SERVER, "cat", f"/tmp/r/{saved[0]}").stdout)
    extra, missing = set(report) - BENCH_JSON_KEYS, BENCH_JSON_KEYS - set(report)
    assert not extra and not missing, f"saved JSON: extra keys {extra}, missing keys {missing}"
    assert (report["completed"], report["num_prompts"], report["request_rate"]) == (4, 4, "inf")
    assert report["model_id"] == MODEL and report["backend"] == "openai"


def test_workers_leave_npu_smi_after_docker_rm(served: dict) -> None:
    in_node(SERVER, "docker", "rm", "-f", "vllm-ascend")
    table = parse_npu_smi_info(in_node(SERVER, "npu-smi", "info").stdout)
    assert table.processes == [] and table.idle_npus == list(range(8))
    assert table.chips[0].hbm_used == IDLE_HBM_NPU0


# ---------------------------------------------------------------- faults


@pytest.fixture
def fault(fleet: None) -> Iterator[Callable[..., None]]:
    """Inject faults into atlas-02; every fault is cleared afterwards, even when the test fails."""
    def inject(kind: str, device: int | None = None, value: str | None = None) -> None:
        args = ["fault", FAULTY, kind]
        args += ["--device", str(device)] if device is not None else []
        args += ["--value", value] if value is not None else []
        sim(*args)

    yield inject
    sim("fault", FAULTY, "clear")


def clear() -> None:
    sim("fault", FAULTY, "clear")


def faulty_ip(device: int) -> str:
    return f"10.232.2.{device + 1}"


def hccn(device: int, *option: str, node: str = FAULTY) -> tuple[int, str]:
    result = in_node(node, HCCN_TOOL, "-i", str(device), *option, check=False)
    return result.returncode, result.stdout + result.stderr


def ping_from_peer(device: int) -> tuple[str, list[int], tuple[int, int, str]]:
    return parse_ping(in_node(PEER, HCCN_TOOL, "-i", "0", "-ping", "-g", "address", faulty_ip(device)).stdout)


def serve_once(devices: list[int], env: tuple[str, ...] = ()) -> tuple[int, str]:
    """The seed's `docker run` in the foreground: its exit code and everything it printed."""
    # A server that does start would hold the foreground for ever; 60 s is far beyond any failure's time.
    result = in_node(FAULTY, "timeout", "60", *seed_docker_run("vllm-fault", devices, detach=False, publish=False,
                                                               env=env), check=False)
    # Whatever happened, no container may outlive the test (one that failed to start can be left behind).
    in_node(FAULTY, "docker", "rm", "-f", "vllm-fault", check=False)
    return result.returncode, result.stdout + result.stderr


HEALTH_CODES = {"Warning": ("80E01801", "node type=SOC, sensor type=Temperature"),
                "Alarm": ("80CB8009", "node type=HBM, sensor type=Memory"),
                "Critical": ("80E18402", "node type=AICORE, sensor type=Heartbeat")}


@pytest.mark.parametrize("level", list(HEALTH_CODES))
def test_npu_unhealthy(fault: Callable[..., None], level: str) -> None:
    fault("npu-unhealthy", 2, level)
    table = parse_npu_smi_info(in_node(FAULTY, "npu-smi", "info").stdout)
    assert [chip.health for chip in table.chips] == ["OK", "OK", level, "OK", "OK", "OK", "OK", "OK"]
    code, information = HEALTH_CODES[level]
    health = in_node(FAULTY, "npu-smi", "info", "-t", "health", "-i", "2", "-c", "0").stdout
    assert lines(health) == [f" Health Status                  : {level}", f" Error Code                     : {code}",
                             f" Error Information              : {information}"]
    clear()
    assert [chip.health for chip in parse_npu_smi_info(in_node(FAULTY, "npu-smi", "info").stdout).chips] == ["OK"] * 8
    assert " Error Code                     : NA" in in_node(FAULTY, "npu-smi", "info", "-t", "health", "-i", "2",
                                                                 "-c", "0").stdout


def test_critical_npu_cannot_start_vllm(fault: Callable[..., None]) -> None:
    fault("npu-unhealthy", 0, "Critical")
    code, output = serve_once([0])
    assert code == 1 and "507033" in output, output
    clear()
    assert parse_npu_smi_info(in_node(FAULTY, "npu-smi", "info").stdout).chips[0].health == "OK"


def test_hbm_busy_shows_a_foreign_process(fault: Callable[..., None]) -> None:
    fault("hbm-busy", 0, "60000")
    table = parse_npu_smi_info(in_node(FAULTY, "npu-smi", "info").stdout)
    assert [(p.npu, p.chip, p.pid, p.name, p.memory_mb) for p in table.processes] == [(0, 0, 1067983, "python3", 60000)]
    assert table.chips[0].hbm_used == IDLE_HBM_NPU0 + 60000
    assert table.idle_npus == [1, 2, 3, 4, 5, 6, 7]
    clear()
    table = parse_npu_smi_info(in_node(FAULTY, "npu-smi", "info").stdout)
    assert table.processes == [] and table.chips[0].hbm_used == IDLE_HBM_NPU0


def test_hbm_busy_makes_vllm_run_out_of_npu_memory(fault: Callable[..., None]) -> None:
    # 60000 MB taken leaves about 2 GB: the 7B model's ~16 GB of bf16 weights cannot load on one NPU.
    fault("hbm-busy", 0, "60000")
    code, output = serve_once([0])
    assert code == 1, output
    assert "torch.OutOfMemoryError: NPU out of memory. Tried to allocate" in output


def test_hbm_held_elsewhere_leaves_no_kv_cache_under_v0110rc1s_budget(fault: Callable[..., None]) -> None:
    # docs/field-failures.md row 7: 40000 MB taken leaves room for the weights, but 0.9 x 65536 - 43396 MB does not
    # hold them and a cache as well.
    fault("hbm-busy", 0, "40000")
    code, output = serve_once([0])
    assert code == 1, output
    assert "torch.OutOfMemoryError" not in output
    assert ("ValueError: No available memory for the cache blocks. Try increasing `gpu_memory_utilization` when "
            "initializing the engine.") in output


def test_graph_capture_fault_fails_as_vllm_ascend_reports_it_and_enforce_eager_starts(
        fault: Callable[..., None]) -> None:
    # docs/field-failures.md row 4.
    fault("graph-capture")
    code, output = serve_once([0])
    assert code == 1, output
    assert "ACLgraph sizes capture fail: RuntimeError:" in output
    assert "ACLgraph has insufficient available streams to capture the configured number of sizes." in output
    assert "retCode=0x7020023." in output
    node = FAULTY
    in_node(node, *seed_docker_run("vllm-eager", [0], serve_args=("--enforce-eager",)))
    try:
        wait_healthy(node)
        logs = in_node(node, "docker", "logs", "vllm-eager")
        assert "Starting to capture ACL graphs" not in logs.stdout + logs.stderr
    finally:
        in_node(node, "docker", "rm", "-f", "vllm-eager", check=False)


def test_a_registry_that_hangs_and_its_mirror(fleet: None) -> None:
    # docs/field-failures.md row 5: the lab's first registry stops answering, its read-only mirror keeps serving.
    name = "ascend/vllm-ascend:v0.11.0rc1"
    sim("fault", "lab", "registry-down")
    try:
        hung = in_node(FAULTY, "timeout", "5", "docker", "pull", f"10.231.0.1:5000/{name}", check=False)
        assert hung.returncode == 124, hung.stdout + hung.stderr
        assert in_node(FAULTY, "docker", "pull", f"10.231.0.1:5001/{name}").returncode == 0
    finally:
        sim("fault", "lab", "clear")
        in_node(FAULTY, "docker", "image", "rm", f"10.231.0.1:5001/{name}", check=False)
    assert in_node(FAULTY, "timeout", "30", "docker", "pull", f"10.231.0.1:5000/{name}").returncode == 0


def test_device_missing(fault: Callable[..., None]) -> None:
    fault("device-missing", 3)
    assert in_node(FAULTY, "test", "-e", "/dev/davinci3", check=False).returncode == 1
    table = parse_npu_smi_info(in_node(FAULTY, "npu-smi", "info").stdout)
    assert [chip.npu for chip in table.chips] == [0, 1, 2, 4, 5, 6, 7] and 3 not in table.idle_npus
    health = in_node(FAULTY, "npu-smi", "info", "-t", "health", "-i", "3", "-c", "0", check=False)
    assert (health.returncode, health.stdout.strip()) == (1, "This device does not exist.")
    assert hccn(3, "-link", "-g") == (1, "Invalid device id: 3, the device does not exist!\n")
    # dockerd refuses a --device path that does not exist; the CLI maps "no such file or directory" to 127.
    code, output = serve_once([3])
    assert code == 127, output
    assert 'error gathering device information while adding custom device "/dev/davinci3"' in output
    clear()
    in_node(FAULTY, "test", "-c", "/dev/davinci3")
    assert [chip.npu for chip in parse_npu_smi_info(in_node(FAULTY, "npu-smi", "info").stdout).chips] == list(range(8))


def test_driver_version(fault: Callable[..., None]) -> None:
    fault("driver-version", value="23.0.5")
    assert parse_npu_smi_info(in_node(FAULTY, "npu-smi", "info").stdout).version_line == version_line("23.0.5")
    assert "Version=23.0.5" in lines(in_node(FAULTY, "cat", "/usr/local/Ascend/driver/version.info").stdout)
    board = in_node(FAULTY, "npu-smi", "info", "-t", "board", "-i", "0").stdout
    assert "Software Version               : 23.0.5" in board
    clear()
    assert parse_npu_smi_info(in_node(FAULTY, "npu-smi", "info").stdout).version_line == version_line("25.2.0")
    assert "Version=25.2.0" in lines(in_node(FAULTY, "cat", "/usr/local/Ascend/driver/version.info").stdout)


def test_the_image_records_its_cann_and_fails_on_a_driver_too_old_for_it(fault: Callable[..., None]) -> None:
    arch = in_node(FAULTY, "uname", "-m").stdout.strip()
    record = in_node(FAULTY, "docker", "run", "--rm", "--network=none", "--entrypoint=cat", IMAGE,
                     f"/usr/local/Ascend/ascend-toolkit/latest/{arch}-linux/ascend_toolkit_install.info").stdout
    assert lines(record) == ["package_name=Ascend-cann-toolkit", "version=8.3.RC1",
                             "innerversion=V100R001C23SPC001B235"]
    fault("driver-version", value="24.1.0.3")
    code, output = serve_once([0])
    assert code == 1, output
    assert ("RuntimeError: NPU initialization failed: CANN 8.3.RC1 does not run on the Ascend driver 24.1.0.3 "
            "(/usr/local/Ascend/driver/version.info); it needs driver 25.0 or newer") in output
    assert "Engine core initialization failed. See root cause above." in output


def test_link_down(fault: Callable[..., None]) -> None:
    fault("link-down", 1)
    assert hccn(1, "-link", "-g") == (0, "link status: DOWN\n")
    assert hccn(1, "-net_health", "-g") == (0, "net health status: Fault\n")
    assert lines(node_bash(FAULTY, seed_loop("-lldp -g", pipe=" | grep Ifname")).stdout) == [
        f"\tIfname: 400GE1/1/2:{device + 1}" for device in range(8) if device != 1]
    # The port is really down: the peer's packets get no answer.
    assert ping_from_peer(1) == (faulty_ip(1), [], (3, 0, "100.00"))
    clear()
    assert hccn(1, "-link", "-g") == (0, "link status: UP\n")
    assert ping_from_peer(1) == (faulty_ip(1), [0, 1, 2], (3, 3, "0.00"))


@pytest.mark.parametrize("state", ["Fault", "Init"])
def test_net_health(fault: Callable[..., None], state: str) -> None:
    fault("net-health", 4, state)
    expected = ["net health status: Success"] * 8
    expected[4] = f"net health status: {state}"
    assert lines(node_bash(FAULTY, seed_loop("-net_health -g ")).stdout) == expected
    clear()
    assert lines(node_bash(FAULTY, seed_loop("-net_health -g ")).stdout) == ["net health status: Success"] * 8


def test_no_ip(fault: Callable[..., None]) -> None:
    fault("no-ip", 6)
    assert hccn(6, "-ip", "-g") == (1, "Get ipconf failed, because no ip was preset there!\n")
    grep = lines(node_bash(FAULTY, seed_loop("-ip -g", pipe=" | grep ipaddr")).stdout)
    assert grep == [f"ipaddr:{faulty_ip(device)}" for device in range(8) if device != 6]
    conf = parse_hccn_conf(in_node(FAULTY, "cat", "/etc/hccn.conf").stdout)
    assert "address_6" not in conf and "netmask_6" not in conf and conf["address_5"] == faulty_ip(5)
    assert ping_from_peer(6) == (faulty_ip(6), [], (3, 0, "100.00"))
    clear()
    assert hccn(6, "-ip", "-g") == (0, f"ipaddr:{faulty_ip(6)}\nnetmask:255.255.0.0\n")
    assert ping_from_peer(6)[2] == (3, 3, "0.00")


def test_image_missing(fault: Callable[..., None]) -> None:
    fault("image-missing")
    inspect = in_node(FAULTY, "docker", "image", "inspect", IMAGE, check=False)
    assert inspect.returncode == 1 and f"No such image: {IMAGE}" in inspect.stderr
    # No uplink: docker cannot pull it back either.
    code, output = serve_once([0])
    assert code == 125 and f"Unable to find image '{IMAGE}' locally" in output, output
    clear()
    assert in_node(FAULTY, "docker", "image", "inspect", IMAGE, "--format", "{{.Id}}").stdout.startswith("sha256:")


def test_weights_missing(fault: Callable[..., None]) -> None:
    fault("weights-missing")
    assert in_node(FAULTY, "test", "-e", MODEL_DIR, check=False).returncode == 1
    # Offline, as an air-gapped node must run it: the tutorial's command would otherwise wait on the hub (row 6).
    code, output = serve_once([0], env=("HF_HUB_OFFLINE=1",))
    assert code == 1, output
    assert "ValueError: Cannot find the requested files in the cached path and outgoing traffic has been disabled." \
        in output
    clear()
    node_bash(FAULTY, f"cd {MODEL_DIR} && sha256sum -c --quiet MANIFEST.sha256")


def test_weights_corrupt(fault: Callable[..., None]) -> None:
    fault("weights-corrupt")
    check = node_bash(FAULTY, f"cd {MODEL_DIR} && sha256sum -c MANIFEST.sha256", check=False)
    assert check.returncode == 1
    assert [row for row in lines(check.stdout) if not row.endswith(": OK")] == [
        "model-00001-of-00005.safetensors: FAILED"]
    assert "sha256sum: WARNING: 1 computed checksum did NOT match" in check.stderr
    code, output = serve_once([0])
    assert code == 1, output
    assert "safetensors_rust.SafetensorError: Error while deserializing header" in output
    clear()
    node_bash(FAULTY, f"cd {MODEL_DIR} && sha256sum -c --quiet MANIFEST.sha256")


def test_container_crash(fault: Callable[..., None]) -> None:
    fault("container-crash")
    in_node(FAULTY, *seed_docker_run("vllm-crash", [0]))
    try:
        started = time.monotonic()
        exit_code = in_node(FAULTY, "docker", "wait", "vllm-crash").stdout.strip()
        assert exit_code == "1" and time.monotonic() - started < 30
        state = in_node(FAULTY, "docker", "inspect", "vllm-crash", "--format", "{{.State.Status}} {{.State.ExitCode}}")
        assert state.stdout.strip() == "exited 1"
        logs = in_node(FAULTY, "docker", "logs", "vllm-crash")
        output = logs.stdout + logs.stderr
        assert "Traceback (most recent call last):" in output
        assert "RuntimeError: ACL stream synchronize failed, error code:507053" in output
    finally:
        in_node(FAULTY, "docker", "rm", "-f", "vllm-crash", check=False)
    clear()
    assert "container-crash" not in in_node(FAULTY, "atlas-twin", "show").stdout


def test_slow_load(fault: Callable[..., None]) -> None:
    fault("slow-load", value="30")
    in_node(FAULTY, *seed_docker_run("vllm-slow", [0]))
    try:
        time.sleep(8)  # well past the fleet's 3 s load time
        probe = curl(f"http://{NODE_IP[FAULTY]}:8000/health")
        assert probe.returncode in PROXY_DROPPED, f"curl exit {probe.returncode}: {probe.stderr}"
        logs = in_node(FAULTY, "docker", "logs", "vllm-slow")
        output = logs.stdout + logs.stderr
        assert "Starting to load model Qwen/Qwen2.5-VL-7B-Instruct..." in output
        assert "Application startup complete." not in output
    finally:
        in_node(FAULTY, "docker", "rm", "-f", "vllm-slow", check=False)
    clear()
    assert "slow-load" not in in_node(FAULTY, "atlas-twin", "show").stdout
