"""atlas-sim: the sandbox fleet of simulated Atlas 800I A2 nodes.

Every sub-command prints progress on stderr and results on stdout; errors are one clear line
and exit code 1.
"""

from __future__ import annotations

import argparse
import os
import sys

from . import faults, fleet, host, images, net, paths
from .proc import SimError
from .progress import Progress
from .spec import MAX_GATEWAYS, PROFILES, FleetSpec, is_gateway


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="atlas-sim", description=__doc__.splitlines()[0])
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="build (once) and boot the fleet (nodes, and gateways with --gateways)",
                        description="Build (once) and boot the fleet: N simulated Atlas nodes atlas-01 ... and, "
                                    "with --gateways G, G plain Debian 12 gateway hosts atlas-gw-01 ... "
                                    "(inventory group atlas_gateways; no NPUs, image, weights or dockerd).")
    up.add_argument("--nodes", type=int, default=2, metavar="N", help="number of nodes (atlas-01 ...), default 2")
    up.add_argument("--gateways", type=int, default=0, metavar="G",
                    help=f"number of gateway hosts (atlas-gw-01 ..., 10.231.0.201 ...), 0 to {MAX_GATEWAYS}, "
                         "default 0")
    up.add_argument("--os", dest="os_list", help="ubuntu22.04 (default) or openeuler22.03; one value or one per node")
    up.add_argument("--profile", dest="profile_list",
                    help=f"hardware profile: {', '.join(PROFILES)}; one value or one per node")
    up.add_argument("--load-seconds", type=float, help="simulated model load time of vllm serve")
    up.add_argument("--no-image", action="store_true", help="do not load the vLLM-Ascend image into the nodes")
    up.add_argument("--no-weights", action="store_true", help="leave the nodes' model cache empty")

    sub.add_parser("down", help="stop the fleet and remove everything up made")
    sub.add_parser("status", help="list the nodes and gateways and whether they run")
    sub.add_parser("inventory", help="print the path of the generated Ansible inventory")

    run = sub.add_parser("run", help="run a command inside the lab netns with .venv/bin on PATH")
    run.add_argument("argv", nargs=argparse.REMAINDER)
    fault = sub.add_parser("fault", help="inject a fault into a node, not a gateway, or into the lab's services "
                                         "(NODE 'lab': registry-down); KIND 'clear' removes them all")
    fault.add_argument("node")
    fault.add_argument("kind", help="npu-unhealthy, hbm-busy, device-missing, driver-version, link-down, net-health, "
                                    "no-ip, hccn-hang, image-missing, weights-missing, weights-corrupt, "
                                    "container-crash, slow-load, graph-capture, npu-smi-hang, registry-down (lab), "
                                    "or clear")
    fault.add_argument("--device", help="NPU logic id (the N of /dev/davinciN)")
    fault.add_argument("--value", help="health level, MB, version, Fault|Init, or seconds, by kind")

    exe = sub.add_parser("exec", help="run a command inside a node or gateway")
    exe.add_argument("node")
    exe.add_argument("argv", nargs=argparse.REMAINDER)
    return parser


def _strip_dashes(argv: list[str]) -> list[str]:
    return argv[1:] if argv[:1] == ["--"] else argv


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    progress = Progress(quiet=args.quiet)
    if os.geteuid() != 0 and args.command not in ("inventory", "status"):
        print("atlas-sim: needs root (network namespaces, mounts); run it with sudo", file=sys.stderr)
        return 1
    try:
        return _dispatch(args, progress)
    except SimError as exc:
        print(f"atlas-sim: {exc}", file=sys.stderr)
        return 1


def _dispatch(args: argparse.Namespace, progress: Progress) -> int:
    if args.command == "up":
        spec = FleetSpec.parse(args.nodes, args.os_list, args.profile_list, args.load_seconds,
                               image=not args.no_image, weights=not args.no_weights, gateways=args.gateways)
        fleet.up(spec, progress)
        return 0
    if args.command == "down":
        fleet.down(progress)
        return 0
    if args.command == "status":
        nodes = fleet.status()
        if not nodes:
            print("no fleet is up")
            return 1
        for node in nodes:
            state = "running" if node["running"] else "STOPPED"
            kind = node["profile"] if node["role"] == "node" else "gateway"
            print(f"{node['name']:<12} {node['ip']:<14} {node['os']:<15} {kind:<10} {state}")
        return 0 if all(node["running"] for node in nodes) else 1
    if args.command == "inventory":
        if fleet.load_record() is None:
            raise SimError("no fleet is up: run 'atlas-sim up' first")
        print(paths.inventory_file())
        return 0
    if args.command == "run":
        return _run_in_lab(_strip_dashes(args.argv))
    if args.command == "fault":
        if args.node == faults.LAB:
            progress(faults.lab_fault(args.kind))
            return 0
        if is_gateway(args.node):
            raise SimError(f"{args.node} is a gateway: it has no NPUs, driver, image or weights to break; "
                           "faults apply to nodes (atlas-01 ...)")
        if args.kind == "clear":
            archive = images.ensure_archive(progress)
            faults.clear(args.node, lambda name: images.load_into(name, archive))
            progress(f"{args.node}: all faults cleared")
        else:
            print(faults.inject(args.node, args.kind, args.device, args.value))
        return 0
    if args.command == "exec":
        argv = _strip_dashes(args.argv) or ["/bin/bash"]
        os.execvp("nsenter", host.exec_argv(args.node, argv))
    raise SimError(f"unknown command {args.command}")


def _run_in_lab(argv: list[str]) -> int:
    if not argv:
        raise SimError("usage: atlas-sim run -- CMD [ARGS...]")
    if not net.netns_exists(net.LAB):
        raise SimError("the lab namespace does not exist: run 'atlas-sim up' first")
    env = dict(os.environ)
    env["PATH"] = f"{paths.venv_bin()}:{env.get('PATH', '/usr/bin:/bin')}"
    # Only the network namespace changes: Molecule must still see netns files and the checkout.
    os.execvpe("nsenter", ["nsenter", f"--net={net.NETNS_DIR / net.LAB}", "--", *argv], env)
    return 0


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
