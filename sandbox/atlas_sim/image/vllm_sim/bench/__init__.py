"""`vllm bench serve`: a real load client measuring TTFT, TPOT and ITL from the server's SSE stream."""
