"""The settings that are secrets are declared once, in the roles' argument specs (no_log: true)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from ansible_collections.atlas.vllm.plugins.plugin_utils.role_specs import role_options, secret_options

# A setting named like a secret: its last part is a key, a token, a password or a secret.
SECRET_NAME = re.compile(r"(api_key|token|password|secret)$")


def test_every_setting_named_like_a_secret_is_declared_no_log() -> None:
    named = sorted(name for name in role_options() if SECRET_NAME.search(name))
    assert named, "no secret-named setting found; the pattern no longer matches the specs"
    assert set(named) <= set(secret_options()), f"declare no_log: true for {sorted(set(named) - set(secret_options()))}"


def test_the_declared_secrets_include_the_keys_of_every_role_that_has_one() -> None:
    assert {"vllm_api_key", "vllm_benchmark_api_key", "aisbench_api_key", "vllm_router_api_key",
            "model_weights_modelscope_token", "vllm_gateway_clients"} <= set(secret_options())


REPO = Path(__file__).resolve().parents[3]


def test_the_lookup_lists_all_options_or_only_the_secrets() -> None:
    # Through Ansible itself, from the checkout (its ansible.cfg finds the collection).
    expression = "{{ {'all': query('atlas.vllm.role_options'), 'secret': query('atlas.vllm.role_options', secret=true)} }}"
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible"), "localhost", "-m", "ansible.builtin.debug", "-a",
         f"msg={expression}", "-e", f"ansible_python_interpreter={sys.executable}"],
        cwd=REPO, capture_output=True, text=True, check=False, timeout=120,
        env={**os.environ, "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json", "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    msg = json.loads(result.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]["msg"]
    assert msg == {"all": sorted(role_options()), "secret": secret_options()}
