"""Container descriptions: from the plan, and read back from docker inspect for the rollback."""

from __future__ import annotations

from ansible_collections.atlas.vllm.plugins.filter.vllm_container import (
    vllm_container_spec,
    vllm_container_spec_from_inspect,
    vllm_spec_health_instance,
    vllm_spec_urls,
)

COMMON = {"image": "quay.io/ascend/vllm-ascend:v0.11.0rc1", "restart_policy": "unless-stopped",
          "network_mode": "host", "shm_size": "1g", "control_devices": ["/dev/davinci_manager"],
          "volumes": ["/root/.cache:/root/.cache"], "env": {"VLLM_USE_V1": "1"}, "label": "io.atlas-vllm.managed"}
SETTINGS = {"model_path": "/root/.cache/m", "served_model_name": "Qwen2.5-VL-7B-Instruct", "max_model_len": 8192}
INSTANCE = {"name": "vllm-1", "devices": [2, 3], "port": 8001}


def test_spec_holds_what_docker_container_gets() -> None:
    spec = vllm_container_spec(INSTANCE, COMMON, SETTINGS)
    assert spec["devices"] == ["/dev/davinci2", "/dev/davinci3", "/dev/davinci_manager"]
    assert spec["published_ports"] == []
    assert spec["labels"] == {"io.atlas-vllm.managed": "true", "io.atlas-vllm.instance": "vllm-1",
                              "io.atlas-vllm.devices": "2,3"}
    assert spec["command"][:3] == ["vllm", "serve", "/root/.cache/m"]
    assert spec["command"][spec["command"].index("--port") + 1] == "8001"
    bridged = vllm_container_spec(INSTANCE, {**COMMON, "network_mode": "bridge"}, SETTINGS)
    assert bridged["published_ports"] == ["8001:8001"]


def test_inspect_reads_back_the_same_options() -> None:
    spec = vllm_container_spec(INSTANCE, COMMON, SETTINGS)
    inspect = {
        "Name": "/vllm-1",
        "Config": {"Image": spec["image"], "Cmd": spec["command"], "Labels": spec["labels"],
                   "Env": ["PATH=/usr/bin", "VLLM_USE_V1=1", "EMPTY="]},
        "HostConfig": {"RestartPolicy": {"Name": "unless-stopped"}, "NetworkMode": "host", "ShmSize": 1073741824,
                       "Binds": spec["volumes"], "PortBindings": {},
                       "Devices": [{"PathOnHost": path, "PathInContainer": path} for path in spec["devices"]]},
    }
    back = vllm_container_spec_from_inspect(inspect)
    assert back["name"] == "vllm-1" and back["port"] == 8001
    for key in ("image", "command", "labels", "devices", "volumes", "restart_policy", "network_mode"):
        assert back[key] == spec[key], key
    assert back["env"] == {"PATH": "/usr/bin", "VLLM_USE_V1": "1", "EMPTY": ""}
    assert back["shm_size"] == "1073741824"


def test_published_ports_are_read_back_host_to_container() -> None:
    inspect = {"Name": "/vllm-0", "Config": {"Cmd": ["vllm", "serve", "/m"]},
               "HostConfig": {"PortBindings": {"8000/tcp": [{"HostIp": "", "HostPort": "18000"}]}}}
    back = vllm_container_spec_from_inspect(inspect)
    assert back["published_ports"] == ["18000:8000"] and back["port"] is None and back["restart_policy"] == "no"


def test_a_description_gives_the_gate_and_the_router_urls() -> None:
    spec = vllm_container_spec(INSTANCE, COMMON, SETTINGS)
    assert vllm_spec_health_instance(spec) == {"name": "vllm-1", "url": "http://127.0.0.1:8001",
                                               "container": "vllm-1", "served_model_name": "Qwen2.5-VL-7B-Instruct"}
    assert vllm_spec_urls([spec], "10.0.0.11") == ["http://10.0.0.11:8001"]


def test_container_outcomes_keep_the_name_the_change_and_the_diff_only() -> None:
    from ansible_collections.atlas.vllm.plugins.filter.vllm_container import vllm_container_outcome

    result = {"__vllm_spec": {"name": "vllm-1", "env": {"VLLM_API_KEY": "secret"}}, "changed": True,
              "diff": {"before": {"command": "a"}, "after": {"command": "b"}}, "container": {"Id": "x"}}
    assert vllm_container_outcome(result) == {"name": "vllm-1", "changed": True,
                                              "diff": {"before": {"command": "a"}, "after": {"command": "b"}}}
    assert vllm_container_outcome({"__vllm_spec": {"name": "vllm-0"}, "changed": False}) == {
        "name": "vllm-0", "changed": False, "diff": {}}
    # With --diff the module's diff is in the result even when the task is no_log: the secret never leaves it.
    keyed = {"__vllm_spec": {"name": "vllm-1"}, "changed": True,
             "diff": {"before": {"env": {"VLLM_USE_V1": "1"}},
                      "after": {"env": {"VLLM_USE_V1": "1", "VLLM_API_KEY": "sk-live-0042abcd"},
                                "command": ["vllm", "serve", "--api-key", "sk-live-0042abcd"]}}}
    shown = vllm_container_outcome(keyed, ["sk-live-0042abcd"])
    assert "sk-live-0042abcd" not in repr(shown)
    assert shown["diff"]["after"]["env"] == {"VLLM_USE_V1": "1", "VLLM_API_KEY": "<redacted>"}
    # Check mode's report of a container it would start (its image is not on the node yet).
    reported = {"__vllm_spec": {"name": "vllm-2"}, "changed": True, "msg": "atlas-01: would (re)create vllm-2"}
    assert vllm_container_outcome(reported) == {"name": "vllm-2", "changed": True, "diff": {}}


def test_an_instance_with_an_hccl_range_carries_it_in_its_environment() -> None:
    spec = vllm_container_spec({**INSTANCE, "hccl_base_port": 60016}, {**COMMON, "env": {"HCCL_IF_BASE_PORT": "1"}},
                               SETTINGS)
    assert spec["env"]["HCCL_IF_BASE_PORT"] == "60016"
    assert "HCCL_IF_BASE_PORT" not in vllm_container_spec(INSTANCE, COMMON, SETTINGS)["env"]


def _running(spec: dict, env: list[str], binds: list[str] | None = None) -> dict:
    """docker inspect of the container a description started, as docker spells it back."""
    return {"Name": "/" + spec["name"],
            "Config": {"Image": spec["image"], "Cmd": spec["command"], "Labels": {**spec["labels"], "extra": "x"},
                       "Env": ["PATH=/usr/local/bin:/usr/bin", *env]},
            "HostConfig": {"RestartPolicy": {"Name": spec["restart_policy"]}, "NetworkMode": "host",
                           "ShmSize": 1073741824, "Binds": binds if binds is not None else spec["volumes"],
                           "PortBindings": {},
                           "Devices": [{"PathOnHost": p, "PathInContainer": p} for p in spec["devices"]]}}


def test_changes_name_each_option_and_hide_every_secret() -> None:
    from ansible_collections.atlas.vllm.plugins.filter.vllm_container import vllm_spec_changes

    key, new_key = "sk-live-0042abcd", "sk-live-9999ffff"
    before = vllm_container_spec(INSTANCE, {**COMMON, "env": {"VLLM_USE_V1": "1", "VLLM_API_KEY": key}}, SETTINGS)
    after = vllm_container_spec(INSTANCE, {**COMMON, "env": {"VLLM_USE_V1": "1", "VLLM_API_KEY": new_key}},
                                {**SETTINGS, "max_model_len": 16384})
    # docker keeps a bind as it was spelled, and the image adds PATH: neither is a change.
    running = _running(before, ["VLLM_USE_V1=1", f"VLLM_API_KEY={key}"], ["/root/.cache/:/root/.cache"])
    (changed,) = vllm_spec_changes([after], [running], [key, new_key])
    assert changed["name"] == "vllm-1" and changed["state"] == "changed"
    assert sorted(changed["changes"]) == ["command", "env.VLLM_API_KEY"]
    assert "16384" in " ".join(changed["changes"]["command"]["after"])
    assert "8192" in " ".join(changed["changes"]["command"]["before"])
    assert changed["changes"]["env.VLLM_API_KEY"] == "<redacted>"
    assert key not in repr(changed) and new_key not in repr(changed)


def test_an_unchanged_container_is_same_and_a_missing_one_new() -> None:
    from ansible_collections.atlas.vllm.plugins.filter.vllm_container import vllm_spec_changes

    spec = vllm_container_spec(INSTANCE, COMMON, SETTINGS)
    other = vllm_container_spec({"name": "vllm-2", "devices": [4, 5], "port": 8002}, COMMON, SETTINGS)
    states = vllm_spec_changes([spec, other], [_running(spec, ["VLLM_USE_V1=1"]), None])
    assert states == [{"name": "vllm-1", "state": "same", "changes": {}},
                      {"name": "vllm-2", "state": "new", "changes": {}}]
    # A mount made read-only, and a smaller /dev/shm, are changes.
    ro = vllm_container_spec(INSTANCE, {**COMMON, "volumes": ["/root/.cache:/root/.cache:ro"], "shm_size": "512m"},
                             SETTINGS)
    (changed,) = vllm_spec_changes([ro], [_running(spec, ["VLLM_USE_V1=1"])])
    assert changed["changes"]["volumes"] == {"before": ["/root/.cache:/root/.cache:rw"],
                                             "after": ["/root/.cache:/root/.cache:ro"]}
    assert changed["changes"]["shm_size"] == {"before": 1073741824, "after": 536870912}
