"""A model named by hub id on a node that cannot reach the hub (docs/field-failures.md row 6).

Offline settings (HF_HUB_OFFLINE) make vLLM resolve the name from the local caches at once and stop with the hub
library's error when nothing is cached; without them the lookup waits on a hub that never answers.
"""

from __future__ import annotations

import socket
import time

import pytest
from vllm_sim_support import Sim, free_port

REPO = "Qwen/Qwen2.5-VL-7B-Instruct"


def serve_model(sim: Sim, model: str) -> tuple[int, str, str]:
    result = sim.run("serve", model, "--host", "127.0.0.1", "--port", str(free_port()))
    return result.returncode, result.stdout, result.stderr


def test_offline_local_path_is_logged_and_served(sim: Sim, server_factory) -> None:
    sim.extra_env["HF_HUB_OFFLINE"] = "1"
    server = server_factory()
    server.wait_ready()
    line = f"HF_HUB_OFFLINE is True, replace model_id [{sim.model}] to model_path [{sim.model}]"
    assert f"[arg_utils.py:504] {line}" in server.stdout
    # vLLM logs the replacement after the arguments it was given.
    assert server.stdout.index("non-default args") < server.stdout.index("HF_HUB_OFFLINE is True")


@pytest.mark.parametrize("value", ["1", "true", "YES", "on"])
def test_offline_hub_id_not_cached_fails_at_once(sim: Sim, value: str) -> None:
    sim.extra_env["HF_HUB_OFFLINE"] = value
    started = time.monotonic()
    rc, out, err = serve_model(sim, REPO)
    assert rc == 1
    assert time.monotonic() - started < 10
    assert err.rstrip().endswith(
        "huggingface_hub.errors.LocalEntryNotFoundError: Cannot find an appropriate cached snapshot folder for the "
        "specified revision on the local disk and outgoing traffic has been disabled. To enable repo look-ups and "
        "downloads online, pass 'local_files_only=False' as input."
    )
    assert "in get_model_path" in err
    assert "Resolved architecture" not in out


def test_offline_modelscope_not_cached_fails_at_once(sim: Sim) -> None:
    sim.extra_env.update({"HF_HUB_OFFLINE": "1", "VLLM_USE_MODELSCOPE": "True"})
    rc, _, err = serve_model(sim, REPO)
    assert rc == 1
    assert err.rstrip().endswith(
        "ValueError: Cannot find the requested files in the cached path and outgoing traffic has been disabled. "
        "To enable look-ups and downloads online, set 'local_files_only' to False."
    )


def test_offline_missing_local_path_is_not_a_repo_id(sim: Sim) -> None:
    sim.extra_env["HF_HUB_OFFLINE"] = "1"
    missing = str(sim.root / "models" / "gone")
    rc, _, err = serve_model(sim, missing)
    assert rc == 1
    assert err.rstrip().endswith(
        "huggingface_hub.errors.HFValidationError: Repo id must be in the form 'repo_name' or "
        f"'namespace/repo_name': '{missing}'. Use `repo_type` argument if needed."
    )


def test_offline_hub_id_in_the_hf_cache_is_replaced_by_its_snapshot(sim: Sim, server_factory) -> None:
    snapshot = sim.root / "home" / ".cache" / "huggingface" / "hub" / "models--Qwen--Qwen2.5-VL-7B-Instruct"
    snapshot = snapshot / "snapshots" / "cc59489"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text((sim.model / "config.json").read_text("utf-8"), "utf-8")
    sim.model = REPO  # type: ignore[assignment]
    sim.extra_env["HF_HUB_OFFLINE"] = "1"
    server = server_factory()
    server.wait_ready()
    assert f"replace model_id [{REPO}] to model_path [{snapshot}]" in server.stdout
    # The served name follows the replaced model, as in vLLM when --served-model-name is not given.
    status, models = server.json("GET", "/v1/models")
    assert status == 200 and models["data"][0]["id"] == str(snapshot)


def test_without_offline_settings_a_hub_id_waits_in_silence(sim: Sim, server_factory) -> None:
    sim.model = REPO  # type: ignore[assignment]
    server = server_factory()
    deadline = time.monotonic() + 5
    while "non-default args" not in server.stdout and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(2.0)
    assert server.proc.poll() is None, server.stderr
    assert server.stderr == ""
    assert "HF_HUB_OFFLINE" not in server.stdout and "Resolved architecture" not in server.stdout
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
