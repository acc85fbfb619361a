"""The simulated vLLM-Ascend container image: the `vllm` command (vllm_sim) and the docker-archive builder."""
