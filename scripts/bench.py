"""make bench: how fast the automation is at fleet scale, as ratios measured in one run on the sandbox.

P1  deploy wall time, 16 nodes / 1 node (simulated model load 120 s)       target <= 1.5
P2  no-op re-run of deploy / `ansible -m ping`, same 16 nodes                target <= 10
P3  seconds from the server listening to the playbook seeing it ready      target <= 2 s
P4  seconds from a container's exit to the failure being reported          target <= 5 s
T   tasks run per host in a no-op re-run                                     target <= 25
S   nightly no-op re-run, 32 nodes / 16 nodes                                target <= 2.2 (linear)
    with a scaling table: deploy and no-op at 4, 8, 16 and 32 nodes (--quick: 4 and 8), tasks per host,
    controller CPU per host-task, the controller's share of the machine's CPU, and pings per node per ping mode
R1  a rolling change of one setting on 8 nodes, batch 1, under load: failed client requests (target 0), and the
    rollout's wall time / (8 x one node's restart-to-ready), where ready is what the rollout's gate asks of a batch:
    /health, /v1/models and an answer to the multimodal probe                target <= 1.2
R2  throughput through the fleet endpoint / direct to the instances, same client and load   target >= 0.95

Prints the table and writes it, with the machine it ran on, to docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = REPO / ".venv" / "bin"
SIM = str(BIN / "atlas-sim")


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def sim(*args: str) -> str:
    return subprocess.run([SIM, *args], check=True, capture_output=True, text=True).stdout


class Cpu:
    """CPU seconds used during a span: by this script's children (the controller: ansible-playbook, its workers and
    the ssh clients it waits for) and by the whole machine (controller, nodes, twin), from /proc/stat."""

    def __init__(self) -> None:
        self.children, self.machine = self._children(), self._machine()

    @staticmethod
    def _children() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    @staticmethod
    def _machine() -> float:
        fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + fields[4]
        return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")

    def used(self) -> tuple[float, float]:
        return self._children() - self.children, self._machine() - self.machine


LAST_CPU: dict[str, float] = {}


def timed(argv: list[str], label: str, env: dict[str, str] | None = None) -> tuple[float, str]:
    say(f"{label} ...")
    started, cpu = time.monotonic(), Cpu()
    result = subprocess.run([SIM, "run", "--", *argv], cwd=REPO, capture_output=True, text=True,
                            env={**os.environ, "ANSIBLE_NOCOLOR": "1", **(env or {})})
    took = time.monotonic() - started
    LAST_CPU["controller"], LAST_CPU["machine"] = cpu.used()
    if result.returncode != 0:
        sys.stdout.write(result.stdout[-4000:] + result.stderr[-2000:])
        raise SystemExit(f"{label} failed (rc={result.returncode})")
    say(f"{label}: {took:.1f}s")
    return took, result.stdout


def inventory() -> str:
    return sim("inventory").strip()


def deploy(label: str, stats: Path | None = None, profile: bool = False) -> tuple[float, str]:
    """Run deploy.yml; with stats, the atlas.vllm.host_stats callback writes each host's recap counters there.

    With profile, skipped tasks are printed too and ansible.posix.profile_roles sums the wall time per role, so
    role_breakdown() can say where the run's tasks and seconds go.
    """
    env = {"ANSIBLE_CALLBACKS_ENABLED": "atlas.vllm.host_stats", "ATLAS_HOST_STATS_FILE": str(stats)} if stats else {}
    if profile:
        env |= {"ANSIBLE_CALLBACKS_ENABLED": env.get("ANSIBLE_CALLBACKS_ENABLED", "") + ",ansible.posix.profile_roles",
                "PROFILE_ROLES_SUMMARY_ONLY": "true", "ANSIBLE_DISPLAY_SKIPPED_HOSTS": "true"}
    return timed([str(BIN / "ansible-playbook"), "deploy.yml", "-i", inventory()], label, env=env)


def fleet(nodes: int, load_seconds: int, gateways: int = 0) -> None:
    sim("down")
    say(f"booting {nodes} node(s) and {gateways} gateway(s) (simulated model load {load_seconds}s)")
    subprocess.run([SIM, "up", "--nodes", str(nodes), "--gateways", str(gateways), "--load-seconds",
                    str(load_seconds)], check=True)


def load(args: list[str], label: str) -> tuple[subprocess.Popen, Path]:
    """Start scripts/fleet_load.py in the lab; its summary is the last line of its stdout."""
    out = REPO / "build" / "bench" / f"{label}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    argv = [SIM, "run", "--", sys.executable, str(REPO / "scripts" / "fleet_load.py"), "--out", str(out), *args]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True), out


def summary(proc: subprocess.Popen) -> dict:
    lines = proc.communicate(timeout=900)[0].strip().splitlines()
    if not lines:
        raise SystemExit("the load client printed no summary")
    return json.loads(lines[-1])


# The play of playbooks/serve.yml that rolls a change through the fleet, one run of it per batch.
ROLLING_PLAY = "Roll the change through the fleet, a batch at a time"


def rolling_span(output: str) -> float:
    """Seconds from the first batch's start to the last batch's end, read from the JSON callback's output."""
    plays = json.loads(output[output.find("{"):])["plays"]
    spans = [play["play"]["duration"] for play in plays if play["play"]["name"] == ROLLING_PLAY]
    if not spans:
        raise SystemExit("R1: the deploy rolled nothing (no rolling play in its output)")

    def seconds(stamp: str) -> float:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()

    return seconds(spans[-1]["end"]) - seconds(spans[0]["start"])


def r1_rolling(nodes: int, gateway: list[str]) -> tuple[float, float, float, dict]:
    """A rolling change under load; one node's recreate-to-ready time measured alone on atlas-01 first.

    Ready is what the rollout's gate asks of each batch: /health, /v1/models and an answer to the multimodal probe.
    """
    started = time.monotonic()
    sim("exec", "atlas-01", "--", "docker", "restart", "vllm-0")
    health = subprocess.run([SIM, "run", "--", *health_argv("atlas-01", 300, probe=True)], capture_output=True,
                            text=True)
    one = time.monotonic() - started
    if health.returncode != 0:
        raise SystemExit(f"R1: vllm_health failed:\n{health.stdout[-2000:]}")
    stop = REPO / "build" / "bench" / "r1.stop"
    stop.unlink(missing_ok=True)
    client, _ = load([*gateway, "--rate", "4", "--duration", "1800", "--max-tokens", "8",
                      "--stop-file", str(stop)], "r1")
    deploy_time, output = timed([str(BIN / "ansible-playbook"), "deploy.yml", "-i", inventory(), "-e",
                                 json.dumps({"vllm_max_model_len": 8192, "atlas_rolling_batch": 1})],
                                f"R1 rolling change on {nodes} nodes",
                                env={"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"})
    stop.write_text("")
    # Kept for reading the rollout's task timings (the JSON callback records each task's start and end).
    (REPO / "build" / "bench" / "r1-deploy.json").write_text(output)
    return rolling_span(output), deploy_time, one, summary(client)


def r2_throughput(gateway: list[str], instances: list[str], seconds: int) -> tuple[dict, dict]:
    # Connections kept open on both sides, as OpenAI client libraries keep them.
    common = ["--throughput", "--keep-alive", "--concurrency", "16", "--duration", str(seconds), "--max-tokens", "16"]
    say(f"R2 throughput through the fleet endpoint (TLS proxy and router) for {seconds}s")
    routed = summary(load([*gateway, *common], "r2-router")[0])
    say(f"R2 throughput to the {len(instances)} instances directly for {seconds}s")
    direct = summary(load([arg for url in instances for arg in ("--url", url)] + common, "r2-direct")[0])
    return routed, direct


def in_lab_python(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([SIM, "run", "--", sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True)


# Polls a port every 20 ms from inside the lab and prints the wall-clock time it first accepts a connection.
LISTEN_PROBE = """
import socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])
while True:
    try:
        socket.create_connection((host, port), 0.2).close()
        print(time.time(), flush=True)
        break
    except OSError:
        time.sleep(0.02)
"""


def health_argv(node: str, timeout: int, probe: bool = False) -> list[str]:
    args: dict = {"instances": [{"name": "vllm-0", "url": "http://127.0.0.1:8000", "container": "vllm-0"}],
                  "timeout": timeout, "poll_interval": 0.2}
    if probe:
        # The rollout's health gate: the probe image deploy.yml staged, and the role's default question.
        args["probe"] = {"image_path": "/etc/atlas-vllm/probe.png", "prompt": "What is in this image?"}
    args = json.dumps(args)
    return [str(BIN / "ansible"), node, "-i", inventory(), "-m", "atlas.vllm.vllm_health", "-a", args]


def p3_ready_seen(node_ip: str) -> float:
    """Restart the instance, then time the gap between its port accepting and vllm_health returning."""
    sim("exec", "atlas-01", "--", "docker", "restart", "vllm-0")
    probe = in_lab_python(LISTEN_PROBE, node_ip, "8000")
    health = subprocess.run([SIM, "run", "--", *health_argv("atlas-01", 300)], capture_output=True, text=True)
    seen = time.time()
    listening = float(probe.communicate(timeout=300)[0].strip())
    if health.returncode != 0:
        raise SystemExit(f"P3: vllm_health failed:\n{health.stdout[-2000:]}")
    return seen - listening


def p4_crash_reported() -> float:
    """Crash the instance a few seconds into its start and time the gap from its exit to the reported failure."""
    sim("fault", "atlas-01", "container-crash", "--value", "4")
    sim("exec", "atlas-01", "--", "docker", "restart", "vllm-0")
    health = subprocess.run([SIM, "run", "--", *health_argv("atlas-01", 300)], capture_output=True, text=True)
    reported = time.time()
    finished = sim("exec", "atlas-01", "--", "docker", "inspect", "-f", "{{.State.FinishedAt}}", "vllm-0").strip()
    sim("fault", "atlas-01", "clear")
    if health.returncode == 0:
        raise SystemExit("P4: vllm_health did not report the crash")
    # Docker prints nanoseconds; Python's fromisoformat takes microseconds.
    stamp = re.sub(r"(\.\d{6})\d*", r"\1", finished).replace("Z", "+00:00")
    return reported - datetime.fromisoformat(stamp).timestamp()


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.machine())
    memory = int(Path("/proc/meminfo").read_text().split()[1]) // (1024 * 1024)
    python = platform.python_version()
    return f"{os.cpu_count()} cores ({cpu}), {memory} GiB, Linux {platform.release()}, Python {python}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=16)
    parser.add_argument("--load-seconds", type=int, default=120)
    parser.add_argument("--rollout-nodes", type=int, default=8)
    parser.add_argument("--rollout-load-seconds", type=int, default=20)
    parser.add_argument("--sizes", type=int, nargs="+", help="fleet sizes of the scaling table (default 4 8 16 32)")
    parser.add_argument("--quick", action="store_true",
                        help="scaling table at 4 and 8 nodes only (a fast look; no S ratio)")
    parser.add_argument("--only", choices=["p", "r"],
                        help="only the deploy (P) or only the rollout (R) measures; the other section of "
                             "docs/performance.md is kept")
    args = parser.parse_args()
    sections = []
    if args.only != "r":
        rows, scaling = deploy_measures(args)
        sections.append((SECTIONS[0], table_lines(rows) + ["", SCALING_NOTE, ""] + scaling))
    if args.only != "p":
        sections.append((SECTIONS[1], table_lines(rollout_measures(args))))
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    recorded = read_sections(REPO / "docs/performance.md")
    for title, table in sections:
        print("\n" + "\n".join(table))
        recorded[title] = f"Last run: {stamp} on {machine()}.\n\n" + "\n".join(table) + "\n"
    (REPO / "docs/performance.md").write_text(PERFORMANCE_HEAD + "".join(
        f"\n## {title}\n\n{recorded[title]}" for title in SECTIONS if title in recorded) + PERFORMANCE_TAIL)
    return 0


PERFORMANCE_HEAD = (
    "# Performance of the automation (make bench)\n\n"
    "Ratios measured on the sandbox fleet; `scripts/bench.py` says how each is taken. Each section is one run\n"
    "(`make bench` runs both; `scripts/bench.py --only p|r` one). Simulated model loads make the fleet wait like a\n"
    "real one; everything else (SSH, Ansible, docker, nginx, the router) is real.\n")
SECTIONS = ("Deploy and fleet scale (P, T, S)", "Fleet endpoint and rolling changes (R)")
# Kept under the measured sections on every run: what does not change with the figures.
PERFORMANCE_TAIL = """
## What keeps a nightly run linear

- **One read per node and role.** `npu_driver` reads the node with one `atlas.vllm.npu_node_info` call (npu-smi
  table, chip mapping, each chip's health, each NPU's board, version.info, device files, our containers' pids; the
  queries run concurrently on the node) and `hccl_network` with one `atlas.vllm.hccn_info` call. The decisions are
  pure Python (`plugins/module_utils/readiness/`).
- **A ping plan that does not grow with the fleet.** `hccl_network_ping_mode: ring` (the default) sends 8 pings
  per node whatever the fleet size; `all` sends 8 x (n - 1). docs/preflight.md says what each finds.
- **No work whose result cannot change.** Results are recorded by one controller-side task
  (`atlas.vllm.fleet_record`); role files import what they always run instead of including it; `config.json` is
  read again only when the weights changed since the gate read it, and the HBM budget is judged only when an
  instance is about to start.

## Sandbox fleets of 30 hosts and more

Each simulated host runs its own systemd, dbus and dockerd, and the kernel counts their inotify instances per user,
not per namespace. At Debian's default (`fs.inotify.max_user_instances` = 128) the hosts booted last log "Failed to
create inotify object: Too many open files" and never start sshd: that is why a 32-node fleet did not boot before.
`atlas-sim up` now raises the limit when the fleet needs more (12 per host on top of what is in use) and says so;
`atlas-sim down` puts the old value back. Real nodes are separate machines and are not concerned.

## mitogen

Evaluated with `mitogen` 0.3.54 (PyPI) and ansible-core 2.19 on the sandbox, with
`ANSIBLE_STRATEGY_PLUGINS=<site-packages>/ansible_mitogen/plugins/strategy ANSIBLE_STRATEGY=mitogen_linear`:

| run | default (linear, ssh pipelining, ControlPersist) | mitogen_linear |
|---|---|---|
| `deploy.yml` no-op re-run, 2 nodes and a gateway | 54.9 s, changed 0 | 35.3 s, changed 0 |
| `playbooks/benchmark.yml`, 2 nodes | passes | fails (below) |

Under mitogen_linear the benchmark's async job (`community.docker.docker_container_exec` with `async` and
`poll: 0`) never started `vllm bench serve` in the container, and `async_status` reported it unfinished for 91
polls (over 5 minutes) until the run was stopped.

It is not offered: it does not work for every playbook. The benchmark and accuracy roles run their clients as async
jobs and, after an interrupted run, find the jobs left behind by `async_wrapper`'s command line and their records in
the node's async directory; mitogen runs async tasks with its own runner, so neither holds. Supporting it would
need those roles to run their clients without Ansible's async (for example as transient systemd units they
name and poll), and a Molecule run of every scenario under `mitogen_linear`.
"""
SCALING_NOTE = (
    "Scaling: each row is a fresh fleet, deployed, then re-run with nothing to change (the nightly run), then\n"
    "`ansible -m ping`, then a preflight with `hccl_network_ping_mode=all`. The controller, every node and the twin\n"
    "share this machine's cores: *controller CPU* is what ansible-playbook, its workers and the ssh clients they\n"
    "wait for used (persistent ssh control masters are not counted), and its share of all CPU tells the automation's\n"
    "cost from the nodes' and the twin's. Pings per node are read from the ping matrix each run printed.")


def table_lines(rows: list[tuple]) -> list[str]:
    return ["| | measure | measured | value | target |", "|---|---|---|---|---|"] + [
        f"| {key} | {what} | {raw} | {value:.2f} | {target} |" for key, what, raw, value, target in rows]


def read_sections(path: Path) -> dict[str, str]:
    """The sections of docs/performance.md as last written ({title: body}), so a partial run keeps the other."""
    text = path.read_text() if path.exists() else ""
    return {chunk.split("\n", 1)[0].strip(): chunk.split("\n", 1)[1].strip() + "\n"
            for chunk in text.split("\n## ")[1:] if "\n" in chunk}


def fleet_endpoint_args() -> list[str]:
    """The load client's arguments for the sandbox's fleet endpoint: HTTPS, the fleet CA, the 'demo' client key."""
    home = Path(os.environ.get("ATLAS_SIM_HOME", REPO / "build" / "sandbox"))
    key_file = REPO / "build" / "bench" / "demo.key"
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.touch(mode=0o600)
    key_file.write_text(json.loads((home / "run" / "gateway-clients.json").read_text())["demo"] + "\n")
    return ["--url", "https://10.231.0.201:8443", "--ca-file", str(home / "fleet-ca" / "ca.crt"),
            "--api-key-file", str(key_file)]


def rollout_measures(args: argparse.Namespace) -> list[tuple]:
    nodes = args.rollout_nodes
    try:
        fleet(nodes, args.rollout_load_seconds, gateways=1)
        deploy(f"deploy on {nodes} nodes behind the router")
        gateway = fleet_endpoint_args()
        rollout, deploy_time, one, client = r1_rolling(nodes, gateway)
        routed, direct = r2_throughput(gateway, [f"http://10.231.0.{10 + i}:8000" for i in range(1, nodes + 1)], 30)
    finally:
        sim("down")
    return [
        ("R1", f"failed requests during a rolling change of {nodes} nodes (load {args.rollout_load_seconds} s)",
         f"{client['failed']} of {client['total']}", float(client["failed"]), "0"),
        ("R1", f"rollout wall time (first batch out to last batch back) / ({nodes} x one node's restart to "
               "ready and probed)",
         f"{rollout:.1f} s / ({nodes} x {one:.1f} s)", rollout / (nodes * one), "<= 1.2"),
        ("R1", "the whole deploy.yml of that change (validate, preflight, prepare, rollout, verify, report)",
         f"{deploy_time:.1f} s", deploy_time, "-"),
        ("R2", "throughput through the fleet endpoint (HTTPS, key, router) / direct to the instances "
               "(16 in flight, kept connections)",
         f"{routed['requests_per_s']:.2f} / {direct['requests_per_s']:.2f} req/s",
         routed["requests_per_s"] / direct["requests_per_s"], ">= 0.95"),
    ]


# "atlas-01 -> atlas-02: 8/8 device pairs OK" in the ping matrix the preflight prints.
MATRIX_LINE = re.compile(r"(?P<src>[\w.-]+) -> (?P<dst>[\w.-]+): \d+/(?P<pairs>\d+) device pairs OK")


def pings_per_node(output: str) -> int:
    """The most pings one node sent, read from the ping matrix lines of a run's output."""
    sent: dict[str, int] = {}
    for match in MATRIX_LINE.finditer(output):
        sent[match["src"]] = sent.get(match["src"], 0) + int(match["pairs"])
    return max(sent.values(), default=0)


def scale_point(nodes: int, load_seconds: int) -> dict:
    """Deploy, no-op re-run, ansible -m ping and a full-mesh preflight on a fresh fleet of ``nodes``.

    A fleet that does not boot on this machine is a row that says so, and the other sizes are still measured.
    """
    point: dict = {"nodes": nodes}
    try:
        fleet(nodes, load_seconds)
    except subprocess.CalledProcessError:
        say(f"the {nodes}-node fleet did not boot; its row says so")
        point["failed"] = "the sandbox fleet did not boot on this machine (atlas-sim up failed; its output is above)"
        return point
    point["deploy"], _ = deploy(f"deploy on {nodes} nodes")
    stats = REPO / "build" / "bench" / f"noop-{nodes}-host-stats.json"
    stats.parent.mkdir(parents=True, exist_ok=True)
    point["noop"], output = deploy(f"no-op re-run on {nodes} nodes", stats, profile=True)
    point["controller_cpu"], point["machine_cpu"] = LAST_CPU["controller"], LAST_CPU["machine"]
    point["ring_pings"] = pings_per_node(output)
    counters = {host: c for host, c in json.loads(stats.read_text()).items() if host != "localhost"}
    busiest = max(counters, key=lambda host: counters[host]["ok"] + counters[host]["skipped"])
    point["plays"] = sum(1 for line in output.splitlines() if line.startswith("PLAY ["))
    point["roles"] = role_breakdown(output, busiest)
    point["tasks"] = max(c["ok"] + c["skipped"] for c in counters.values())
    point["host_tasks"] = sum(c["ok"] + c["skipped"] for c in counters.values())
    point["changed"] = sum(c["changed"] for c in counters.values())
    point["ping"], _ = timed([str(BIN / "ansible"), "all", "-i", inventory(), "-m", "ansible.builtin.ping"],
                             f"ansible -m ping on {nodes} nodes")
    point["mesh"], output = timed([str(BIN / "ansible-playbook"), "playbooks/preflight.yml", "-i", inventory(), "-e",
                                   "hccl_network_ping_mode=all"], f"preflight with the full mesh on {nodes} nodes")
    point["mesh_pings"] = pings_per_node(output)
    return point


ROLE_TIME = re.compile(r"^(\S.*?) -{2,} *(\d+\.\d+)s$")
RESULT = re.compile(r"^(?:ok|skipping|changed|included): (?:\[(?P<host>[^] ]+)[^]]*\]|\S+ for (?P<hosts>.*))")
ROLES = {path.name for path in (REPO / "roles").iterdir() if path.is_dir()}


def role_breakdown(output: str, host: str) -> dict[str, list]:
    """{role: [tasks run on host, wall seconds of the whole run]} from a run made with profile=True.

    Tasks outside roles count under "(plays)"; their seconds are the actions profile_roles names them by.
    """
    roles: dict[str, list] = {}
    role, counted = None, True
    for line in output.splitlines():
        if line.startswith("TASK ["):
            name = line[6:line.rfind("]")]
            role = name.split(" : ", 1)[0].removeprefix("atlas.vllm.") if " : " in name else "(plays)"
            role = role if role in ROLES else "(plays)"
            counted = False
            continue
        match = RESULT.match(line)
        if match and role and not counted:
            hosts = [match["host"]] if match["host"] else [h.strip() for h in match["hosts"].split(",")]
            if host in hosts:
                roles.setdefault(role, [0, 0.0])[0] += 1
                counted = True
            continue
        timing = ROLE_TIME.match(line)
        if timing and timing[1] != "total":
            key = timing[1].removeprefix("atlas.vllm.")
            key = key if key in ROLES else "(plays)"
            roles.setdefault(key, [0, 0.0])[1] += float(timing[2])
    return roles


def breakdown_lines(point: dict) -> list[str]:
    roles = point["roles"]
    total_tasks, total_time = sum(r[0] for r in roles.values()), sum(r[1] for r in roles.values())
    lines = [f"Where the no-op re-run on {point['nodes']} nodes goes ({point['plays']} plays): tasks on its busiest "
             "node and wall seconds per role (`ansible.posix.profile_roles`).", "",
             "| role | tasks on the busiest node | wall time | share of the run |", "|---|---|---|---|"]
    for name, (tasks, seconds) in sorted(roles.items(), key=lambda item: -item[1][1]):
        lines.append(f"| {name} | {tasks} | {seconds:.1f} s | {100 * seconds / max(total_time, 1e-9):.0f} % |")
    lines.append(f"| total | {total_tasks} | {total_time:.1f} s | 100 % |")
    return lines


def scaling_lines(points: list[dict]) -> list[str]:
    rows = ["| nodes | deploy | no-op re-run | ansible -m ping | no-op / ping | tasks per host (changed) | controller "
            "CPU in the no-op | controller CPU per host-task | controller share of all CPU | pings per node, ring "
            "(default) | pings per node, all | preflight with all |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for p in points:
        if "failed" in p:
            rows.append(f"| {p['nodes']} | {p['failed']} |" + " |" * 10)
            continue
        per_task_ms = 1000 * p["controller_cpu"] / p["host_tasks"]
        share = 100 * p["controller_cpu"] / p["machine_cpu"]
        rows.append(
            f"| {p['nodes']} | {p['deploy']:.1f} s | {p['noop']:.1f} s | {p['ping']:.1f} s | "
            f"{p['noop'] / p['ping']:.1f} | {p['tasks']} ({p['changed']}) | {p['controller_cpu']:.1f} s | "
            f"{per_task_ms:.0f} ms | {share:.0f} % | {p['ring_pings']} | {p['mesh_pings']} | {p['mesh']:.1f} s |")
    return rows


def deploy_measures(args: argparse.Namespace) -> tuple[list[tuple], list[str]]:
    sizes = [4, 8] if args.quick else args.sizes or [4, 8, args.nodes, 2 * args.nodes]
    try:
        fleet(1, args.load_seconds)
        one, _ = deploy("P1 deploy on 1 node")
        p3 = p3_ready_seen("10.231.0.11")
        p4 = p4_crash_reported()
        points = [scale_point(nodes, args.load_seconds) for nodes in sizes]
    finally:
        sim("down")
    by_size = {p["nodes"]: p for p in points if "failed" not in p}
    # P1, P2 and T at the fleet size of the targets (16), or the largest of a quick run.
    main = by_size.get(args.nodes) or by_size[max(by_size)]
    n = main["nodes"]
    rows = [
        ("P1", f"deploy wall time, {n} nodes / 1 node (load {args.load_seconds} s)",
         f"{main['deploy']:.1f} s / {one:.1f} s", main["deploy"] / one, "<= 1.5"),
        ("P2", f"no-op re-run / ansible -m ping, {n} nodes", f"{main['noop']:.1f} s / {main['ping']:.1f} s",
         main["noop"] / main["ping"], "<= 10"),
        ("P3", "server listening -> playbook sees it ready", f"{p3:.2f} s", p3, "<= 2 s"),
        ("P4", "container exit -> failure reported", f"{p4:.2f} s", p4, "<= 5 s"),
        ("T", f"tasks per host in a no-op re-run, {n} nodes (changed: total)",
         f"{main['tasks']} (changed {main['changed']})", float(main["tasks"]), "<= 25"),
    ]
    if 2 * args.nodes in by_size and args.nodes in by_size:
        big, small = by_size[2 * args.nodes], by_size[args.nodes]
        rows.append(("S", f"no-op re-run, {2 * args.nodes} nodes / {args.nodes} nodes",
                     f"{big['noop']:.1f} s / {small['noop']:.1f} s", big["noop"] / small["noop"], "<= 2.2"))
    return rows, scaling_lines(points) + ["", *breakdown_lines(main)]


if __name__ == "__main__":
    sys.exit(main())
