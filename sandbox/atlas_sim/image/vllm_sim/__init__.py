"""A stdlib-only stand-in for vLLM 0.11.0 as shipped in quay.io/ascend/vllm-ascend:v0.11.0rc1.

It provides the `vllm` command (serve, bench serve, --version) with the flag names, log lines, error texts and
HTTP formats of vLLM 0.11.0, backed by the twin's simulated driver library instead of real NPUs.
"""

VLLM_VERSION = "0.11.0"
