"""Start-up of `vllm serve`: config validation, NPU checks, loading behaviour and injected faults."""

from __future__ import annotations

import json
import socket
import struct
import time
from pathlib import Path

import pytest
from vllm_sim_support import Sim, free_port


def serve(sim: Sim, *args: str) -> tuple[int, str, str]:
    result = sim.run("serve", str(sim.model), "--host", "127.0.0.1", "--port", str(free_port()), *args)
    return result.returncode, result.stdout, result.stderr


def test_tensor_parallel_larger_than_visible_devices(sim: Sim) -> None:
    rc, out, err = serve(sim, "-tp", "4")
    assert rc == 1
    assert "Set device failed, invalid device, set device=2, valid device range is [0, 2)" in err
    assert "error code is 107001" in err
    assert err.rstrip().endswith(
        "RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}"
    )


def test_visible_devices_env_restricts_the_devices(sim: Sim) -> None:
    sim.extra_env["ASCEND_RT_VISIBLE_DEVICES"] = "1"
    rc, _, err = serve(sim, "-tp", "2")
    assert rc == 1
    assert "Set visible device failed, invalid device=1, input visible devices:1" in err


def test_no_davinci_manager_means_no_devices(sim: Sim) -> None:
    sim.extra_env["FAKE_TWIN_NO_MANAGER"] = "1"
    rc, _, err = serve(sim)
    assert rc == 1
    assert "set device=0, valid device range is [0, 0)" in err


def test_critical_device_fails_to_start(sim: Sim) -> None:
    sim.state["devices"][1]["health"] = "Critical"
    rc, _, err = serve(sim, "-tp", "2")
    assert rc == 1
    assert "error code is 507033" in err
    assert "[Error]: Failed to start the device." in err


def test_weights_corrupt_fault(sim: Sim) -> None:
    sim.state["faults"] = [{"kind": "weights-corrupt", "device": None, "value": None}]
    rc, _, err = serve(sim)
    assert rc == 1
    assert "safetensors_rust.SafetensorError: Error while deserializing header: MetadataIncompleteBuffer" in err


def test_truncated_safetensors_header(sim: Sim) -> None:
    (sim.model / "model-00001-of-00005.safetensors").write_bytes(struct.pack("<Q", 4096) + b'{"a":')
    rc, _, err = serve(sim)
    assert rc == 1
    assert "Error while deserializing header: MetadataIncompleteBuffer" in err


def test_model_given_with_equals_sign_is_accepted(sim: Sim) -> None:
    # Only the exact token `--model` is refused; `--model=X` reaches config validation.
    result = sim.run("serve", f"--model={sim.model}", "--port", str(free_port()), "-tp", "3")
    assert result.returncode == 1
    assert f"'model': '{sim.model}'" in result.stdout
    assert "Total number of attention heads (28) must be divisible by tensor parallel size (3)." in result.stderr


def test_tensor_parallel_must_divide_heads(sim: Sim) -> None:
    rc, _, err = serve(sim, "-tp", "3")
    assert rc == 1
    assert "pydantic_core._pydantic_core.ValidationError: 1 validation error for VllmConfig" in err
    assert (
        "  Value error, Total number of attention heads (28) must be divisible by tensor parallel size (3). "
        "[type=value_error,"
    ) in err


def test_max_model_len_above_derived(sim: Sim) -> None:
    rc, _, err = serve(sim, "--max-model-len", "200000")
    assert rc == 1
    assert "1 validation error for ModelConfig" in err
    assert (
        "Value error, User-specified max_model_len (200000) is greater than the derived max_model_len "
        "(max_position_embeddings=128000.0 or model_max_length=None in model's config.json). To allow overriding "
        "this maximum, set the env var VLLM_ALLOW_LONG_MAX_MODEL_LEN=1."
    ) in err


def test_quantization_ascend_needs_description_file(sim: Sim) -> None:
    # ModelSlim's MindIE-style name does not match the file name vllm-ascend asks for.
    (sim.model / "quant_model_description_w8a8.json").write_text("{}", encoding="utf-8")
    rc, _, err = serve(sim, "--quantization", "ascend")
    assert rc == 1
    assert "Value error, Cannot find the config file for ascend [type=value_error" in err


def test_quantization_ascend_with_description_file_starts(sim: Sim, server_factory) -> None:
    (sim.model / "quant_model_description.json").write_text(json.dumps({"model_quant_type": "W8A8"}), "utf-8")
    server = server_factory("--quantization", "ascend")
    server.wait_ready()
    assert "quantization=ascend" in server.stdout


def test_other_quantization_is_not_supported_on_npu(sim: Sim) -> None:
    rc, _, err = serve(sim, "-q", "awq")
    assert rc == 1
    assert "Value error, awq quantization is currently not supported in npu." in err


def test_busy_hbm_gives_npu_out_of_memory(sim: Sim) -> None:
    sim.state["devices"][0]["hbm_used_mb"] = 60000
    rc, out, err = serve(sim)
    assert rc == 1
    assert "torch.OutOfMemoryError: NPU out of memory. Tried to allocate" in err
    assert "EngineCore failed to start." in err
    assert "Application startup complete." not in out
    assert sim.registrations() == []


def test_missing_model_directory(sim: Sim) -> None:
    result = sim.run("serve", str(sim.root / "nope"), "--port", str(free_port()))
    assert result.returncode == 1
    assert "Value error, Invalid repository ID or local directory specified:" in result.stderr


def test_modelscope_repo_id_resolves_from_cache(sim: Sim, server_factory) -> None:
    cached = sim.root / "home" / ".cache" / "modelscope" / "hub" / "models" / "Qwen" / "Qwen2___5-VL-7B-Instruct"
    cached.mkdir(parents=True)
    (cached / "config.json").write_text((sim.model / "config.json").read_text("utf-8"), "utf-8")
    sim.model = "Qwen/Qwen2.5-VL-7B-Instruct"  # type: ignore[assignment]
    sim.extra_env["VLLM_USE_MODELSCOPE"] = "True"
    server = server_factory()
    server.wait_ready()
    status, models = server.json("GET", "/v1/models")
    assert status == 200
    assert models["data"][0]["id"] == "Qwen/Qwen2.5-VL-7B-Instruct"


def test_driver_not_mounted(sim: Sim) -> None:
    sim.extra_env["VLLM_SIM_DRIVER_DIR"] = str(sim.root / "no-driver")
    rc, _, err = serve(sim)
    assert rc == 1
    assert err.rstrip().endswith(
        "ImportError: libascend_hal.so: cannot open shared object file: No such file or directory"
    )


def test_connection_refused_while_loading_then_healthy(sim: Sim, server_factory) -> None:
    sim.state["load_seconds"] = 1.5
    server = server_factory("-tp", "2")
    deadline = time.monotonic() + 1.0
    while "Starting to load model" not in server.stdout and time.monotonic() < deadline:
        time.sleep(0.02)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
    server.wait_ready()
    status, headers, body = server.request("GET", "/health")
    assert (status, body) == (200, b"")
    registrations = sorted(sim.registrations(), key=lambda record: record["devices"])
    # One worker process per tensor-parallel rank, each on its own NPU, as npu-smi shows on real nodes.
    assert [record["devices"] for record in registrations] == [[0], [1]]
    assert len({record["pid"] for record in registrations}) == 2
    assert {record["name"] for record in registrations} == {"VLLMWorker_TP"}
    # v0.11.0rc1's budget: 90 % of the total HBM less what the device held before (3400 MB in this fixture).
    assert {record["hbm_mb_per_device"] for record in registrations} == {int(0.9 * 65536 - 3400)}


def test_slow_load_fault_overrides_load_time(sim: Sim, server_factory) -> None:
    sim.state["faults"] = [{"kind": "slow-load", "device": None, "value": 1.2}]
    started = time.monotonic()
    server = server_factory()
    server.wait_ready()
    assert time.monotonic() - started >= 1.2


def test_container_crash_fault(sim: Sim, server_factory) -> None:
    sim.state["faults"] = [{"kind": "container-crash", "device": None, "value": 1.0}]
    server = server_factory()
    server.wait_ready()
    assert server.request("GET", "/health")[0] == 200
    assert server.proc.wait(timeout=10) == 1
    assert "EngineCore encountered a fatal error." in server.stderr
    assert "RuntimeError: ACL stream synchronize failed, error code:507053" in server.stderr
    assert "Engine core proc EngineCore_DP0 died unexpectedly, shutting down client." in server.stderr


def test_startup_log_lines(sim: Sim, server_factory) -> None:
    server = server_factory("--max_model_len", "16384", "--served-model-name", "qwen2.5-vl")
    server.wait_ready()
    out = server.stdout
    lines = out.splitlines()
    assert lines[0].endswith("[__init__.py:207] Platform plugin ascend is activated")
    assert lines[0].startswith("INFO ")
    assert f"\033[1;36m(APIServer pid={server.proc.pid})\033[0;0m INFO " in lines[1]
    assert "[api_server.py:1839] vLLM API server version 0.11.0" in lines[1]
    assert "'max_model_len': 16384" in out
    assert "[model.py:1510] Using max model len 16384" in out
    assert "[scheduler.py:205] Chunked prefill is enabled with max_num_batched_tokens=2048." in out
    assert "Maximum concurrency for 16,384 tokens per request:" in out
    assert f"Starting vLLM API server 0 on http://127.0.0.1:{server.port}" in out
    assert "[launcher.py:42] Route: /v1/chat/completions, Methods: POST" in out
    assert out.index("INFO:     Started server process") < out.index("INFO:     Application startup complete.")
    assert "Uvicorn running on" not in out


# --- HCCL host listener (docs/field-failures.md, row 1) ---------------------------------------------------------


def test_a_second_tensor_parallel_engine_on_the_same_hccl_ports_fails_as_hccl_does(sim: Sim, server_factory) -> None:
    first = server_factory("-tp", "2")
    first.wait_ready()
    rc, _, err = serve(sim, "-tp", "2")
    assert rc == 1
    base = sim.hccl_base_port
    # The root cause as vllm-ascend #405 shows it, with the port the first engine holds.
    assert "HCCL function error: HcclGetRootInfo(&hcclID), error code is 11" in err
    assert "ERR02200 DIST call hccl api failed." in err
    assert "Failed to bind the IP port. Reason: The IP address and port have been bound already." in err
    listener = (f"        host nic listen start failed, port[{base}], return[11][FUNC:StartListenSocket]"
                "[FILE:network_manager.cc][LINE:1163]")
    assert any(line.endswith(" [core.py:708] " + listener) for line in err.splitlines()), err
    assert err.rstrip().endswith(
        "RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}")


def test_a_range_that_overlaps_fails_on_the_first_port_taken(sim: Sim, server_factory) -> None:
    server_factory("-tp", "2").wait_ready()
    sim.extra_env["HCCL_IF_BASE_PORT"] = str(sim.hccl_base_port - 8)
    rc, _, err = serve(sim, "-tp", "2")
    assert rc == 1 and f"port[{sim.hccl_base_port}]" in err


def test_distinct_ranges_and_single_npu_engines_share_a_network(sim: Sim, server_factory) -> None:
    server_factory("-tp", "2").wait_ready()
    # Tensor parallel 1 creates no HCCL communicator: it needs no port.
    server_factory("-tp", "1").wait_ready()
    sim.extra_env["HCCL_IF_BASE_PORT"] = str(sim.hccl_base_port + 16)
    sim.state["devices"] += [dict(sim.state["devices"][0], logic_id=i) for i in (2, 3)]
    sim.extra_env["ASCEND_RT_VISIBLE_DEVICES"] = "2,3"
    server_factory("-tp", "2").wait_ready()


def test_the_range_is_released_when_the_engine_exits(sim: Sim, server_factory) -> None:
    first = server_factory("-tp", "2")
    first.wait_ready()
    first.stop()
    server_factory("-tp", "2").wait_ready()


def _toolkit_and_driver(sim: Sim, cann: str, driver: str) -> None:
    """The image's toolkit record and a driver directory whose version.info says `driver` (lib64 is the fake)."""
    toolkit = sim.root / "toolkit"
    toolkit.mkdir(exist_ok=True)
    (toolkit / "ascend_toolkit_install.info").write_text(
        f"package_name=Ascend-cann-toolkit\nversion={cann}\ninnerversion=V100R001C23SPC001B235\n", encoding="utf-8")
    driver_dir = sim.root / "driver"
    driver_dir.mkdir(exist_ok=True)
    lib64 = driver_dir / "lib64"
    if not lib64.exists():
        lib64.symlink_to(Path(sim.env()["VLLM_SIM_DRIVER_DIR"]))
    (driver_dir / "version.info").write_text(f"Version={driver}\nascendhal_version=7.35.23\n", encoding="utf-8")
    sim.extra_env.update(VLLM_SIM_TOOLKIT_DIR=str(toolkit), VLLM_SIM_DRIVER_DIR=str(lib64))


def test_a_driver_older_than_the_images_cann_fails_when_the_npus_open(sim: Sim) -> None:
    _toolkit_and_driver(sim, "8.3.RC1", "24.1.0.3")
    rc, _, err = serve(sim)
    assert rc == 1
    assert ("RuntimeError: NPU initialization failed: CANN 8.3.RC1 does not run on the Ascend driver 24.1.0.3 "
            f"({sim.root / 'driver' / 'version.info'}); it needs driver 25.0 or newer") in err
    assert "worker_v1.py\", line 178, in _init_device" in err
    assert err.rstrip().endswith("Engine core initialization failed. See root cause above. Failed core proc(s): {}")
    assert not sim.registrations()


@pytest.mark.parametrize("driver", ["25.0.rc1.1", "25.2.0", "25.3.rc1.b061"])
def test_drivers_the_images_cann_runs_on_start(sim: Sim, server_factory, driver: str) -> None:
    _toolkit_and_driver(sim, "8.3.RC1", driver)
    server = server_factory()
    server.wait_ready()
    assert "init engine (profile, create kv cache, warmup model) took" in server.stdout
    assert "NPU initialization failed" not in server.stdout + server.stderr


def test_hbm_held_by_another_process_comes_off_the_budget_not_the_free_memory(sim: Sim) -> None:
    # 40000 MB held elsewhere on NPU 0: the 7B model's ~15.8 GB of weights still fit in the ~22 GB free, but
    # v0.11.0rc1's budget, 0.9 x 65536 - 43400 MB, leaves nothing for the cache blocks.
    sim.state["devices"][0]["hbm_used_mb"] = 3400 + 40000
    rc, _, err = serve(sim)
    assert rc == 1
    assert "torch.OutOfMemoryError" not in err
    assert ("ValueError: No available memory for the cache blocks. Try increasing `gpu_memory_utilization` when "
            "initializing the engine.") in err


def test_graph_capture_logs_the_thinned_sizes_and_finishes(sim: Sim, server_factory) -> None:
    server = server_factory()
    server.wait_ready()
    # 28 layers, one NPU: vllm-ascend keeps floor((1800 - 29) / 29) = 61 of vLLM's 67 default sizes.
    line = next(line for line in server.stdout.splitlines() if "Starting to capture ACL graphs for cases: [" in line)
    cases = json.loads(line.split("for cases: ")[1].split(", mode:")[0])
    assert len(cases) == 61 and cases[0] == 512 and cases[-1] == 1
    assert line.endswith("mode: PIECEWISE, uniform_decode: False")
    assert "Graph capturing finished in" in server.stdout


def test_graph_capture_running_out_of_streams_fails_as_vllm_ascend_reports_it(sim: Sim) -> None:
    sim.state["faults"] = [{"kind": "graph-capture", "device": None, "value": None}]
    rc, out, err = serve(sim)
    assert rc == 1
    assert "ACLgraph sizes capture fail: RuntimeError:" in out + err
    assert ("ACLgraph has insufficient available streams to capture the configured number of sizes. Please verify "
            "both the availability of adequate streams and the appropriateness of the configured size count.") in err
    assert "[SqCqManage]Alloc sq cq fail, stream_id=1984, retCode=0x7020023." in err
    assert "RuntimeError: capture_begin:build/CMakeFiles/torch_npu.dir/compiler_depend.ts:214 NPU function error" in err
    assert err.rstrip().endswith("Engine core initialization failed. See root cause above. Failed core proc(s): {}")
    assert not sim.registrations()


def test_enforce_eager_serves_without_capturing(sim: Sim, server_factory) -> None:
    sim.state["faults"] = [{"kind": "graph-capture", "device": None, "value": None}]
    server = server_factory("--enforce-eager")
    server.wait_ready()
    assert "Starting to capture ACL graphs" not in server.stdout
    assert "enforce_eager=True" in server.stdout
