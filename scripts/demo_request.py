"""Send the demo's multimodal request through the fleet endpoint and to every node, with the command to do it yourself.

The request is the vLLM-Ascend tutorial's chat completion (system prompt, an image and a question), with the
image inlined as a data URI because the sandbox, like an air-gapped fleet, cannot fetch URLs. The fleet endpoint
takes HTTPS with a client key (the sandbox's `demo` client, trusting the sandbox's fleet CA); the instances
behind it take plain HTTP on the nodes' network.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SIM = str(REPO / ".venv/bin/atlas-sim")
SIM_HOME = Path(os.environ.get("ATLAS_SIM_HOME", REPO / "build/sandbox"))
GATEWAY_PORT = 8443
PROMETHEUS_PORT = 9090


def _rel(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def curl(url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([SIM, "run", "--", "curl", "-sS", "-m", "60", url, *args], capture_output=True, text=True)


def main() -> int:
    fleet = json.loads((SIM_HOME / "run/fleet.json").read_text())
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
    json_header = ["-H", "Content-Type: application/json", "-d", f"@{request}"]
    ca = SIM_HOME / "fleet-ca/ca.crt"
    # The key goes to curl in a file, not on its command line where `ps` would show it.
    header = REPO / "build/demo-client.header"
    gateways = fleet.get("gateways", [])
    if gateways:
        key = json.loads((SIM_HOME / "run/gateway-clients.json").read_text())["demo"]
        header.touch(mode=0o600)
        header.write_text(f"Authorization: Bearer {key}\n")
    locked = ["--cacert", str(ca), "-H", f"@{header}"]
    targets = [(f"fleet endpoint on {gw['name']} (client 'demo')", f"https://{gw['ip']}:{GATEWAY_PORT}", locked)
               for gw in gateways]
    targets += [(f"{node['name']} ({node['os']})", f"http://{node['ip']}:8000", []) for node in fleet["hosts"]]
    print("\n=== A multimodal request through the fleet endpoint, then to every node ===")
    for label, url, extra in targets:
        result = curl(f"{url}/v1/chat/completions", *extra, *json_header)
        if result.returncode != 0:
            print(f"{label}: request failed: {result.stderr.strip()}")
            return 1
        answer = json.loads(result.stdout)
        if "choices" not in answer:
            print(f"{label}: request refused: {result.stdout.strip()}")
            return 1
        print(f"{label}: {answer['choices'][0]['message']['content']!r} "
              f"[{answer['usage']['prompt_tokens']} prompt + {answer['usage']['completion_tokens']} completion tokens]")
    if gateways:
        endpoint = targets[0][1]
        refused = curl(f"{endpoint}/v1/models", "--cacert", str(ca), "-o", "/dev/null", "-w", "%{http_code}")
        control = curl(f"{endpoint}/list_workers", *locked, "-o", "/dev/null", "-w", "%{http_code}")
        print(f"without a key: HTTP {refused.stdout}; the router's /list_workers from outside: HTTP {control.stdout}")
        print("\nSend one yourself (the sandbox is reached through its lab network namespace; the key is in "
              f"{_rel(header)}):")
        print(f"  .venv/bin/atlas-sim run -- curl -s --cacert {_rel(ca)} -H @{_rel(header)} \\\n"
              f"      {endpoint}/v1/chat/completions -H 'Content-Type: application/json' -d @{_rel(request)}")
    else:
        endpoint = targets[0][1]
        print("\nSend one yourself (the sandbox is reached through its lab network namespace):")
        print(f"  .venv/bin/atlas-sim run -- curl -s {endpoint}/v1/chat/completions \\\n"
              f"      -H 'Content-Type: application/json' -d @{_rel(request)}")
    _print_where_to_look(gateways)
    return 0


def _print_where_to_look(gateways: list[dict]) -> None:
    """Prometheus on each gateway (with how many targets it sees up) and the newest fleet report's page."""
    for gw in gateways:
        url = f"http://{gw['ip']}:{PROMETHEUS_PORT}"
        result = curl(f"{url}/api/v1/targets?state=active")
        try:
            targets = json.loads(result.stdout)["data"]["activeTargets"]
            seen = f"{sum(t['health'] == 'up' for t in targets)}/{len(targets)} targets up"
        except (ValueError, KeyError, TypeError):
            seen = f"not answering: {(result.stderr or result.stdout).strip()[:200]}"
        print(f"\nPrometheus on {gw['name']}: {url} ({seen}); its alerts:")
        print(f"  .venv/bin/atlas-sim run -- curl -s {url}/api/v1/alerts")
    reports = sorted((REPO / "reports").glob("*/report.html"))
    if reports:
        print(f"\nFleet report (open it in a browser; it needs no network): {_rel(reports[-1])}")


if __name__ == "__main__":
    sys.exit(main())
