"""Send the demo's multimodal request through the fleet endpoint and to every node, with the command to do it yourself.

The request is the vLLM-Ascend tutorial's chat completion (system prompt, an image and a question), with the
image inlined as a data URI because the sandbox, like an air-gapped fleet, cannot fetch URLs.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SIM = str(REPO / ".venv/bin/atlas-sim")


def main() -> int:
    fleet = json.loads((REPO / "build/sandbox/run/fleet.json").read_text())
    image = base64.b64encode((REPO / "roles/vllm/files/probe.png").read_bytes()).decode()
    body = {
        "model": "Qwen2.5-VL-7B-Instruct",
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{image}"}},
                {"type": "text", "text": "What is the text in the illustrate?"},
            ]},
        ],
    }
    request = REPO / "build/demo-request.json"
    request.write_text(json.dumps(body))
    gateways = [(f"fleet endpoint on {gw['name']}", f"http://{gw['ip']}:30000") for gw in fleet.get("gateways", [])]
    nodes = [(f"{node['name']} ({node['os']})", f"http://{node['ip']}:8000") for node in fleet["hosts"]]
    print("\n=== A multimodal request through the fleet endpoint, then to every node ===")
    for label, url in gateways + nodes:
        argv = [SIM, "run", "--", "curl", "-sS", "-m", "60", f"{url}/v1/chat/completions",
                "-H", "Content-Type: application/json", "-d", f"@{request}"]
        result = subprocess.run(argv, capture_output=True, text=True)
        if result.returncode != 0:
            print(f"{label}: request failed: {result.stderr.strip()}")
            return 1
        answer = json.loads(result.stdout)
        print(f"{label}: {answer['choices'][0]['message']['content']!r} "
              f"[{answer['usage']['prompt_tokens']} prompt + {answer['usage']['completion_tokens']} completion tokens]")
    first = (gateways + nodes)[0][1]
    print("\nSend one yourself (the sandbox is reached through its lab network namespace):")
    print(f"  .venv/bin/atlas-sim run -- curl -s {first}/v1/chat/completions \\\n"
          f"      -H 'Content-Type: application/json' -d @{request.relative_to(REPO)}")
    print(f"  .venv/bin/atlas-sim run -- curl -s {first}/v1/models")
    return 0


if __name__ == "__main__":
    sys.exit(main())
