"""Wait, from inside the lab netns, until every node's sshd greets; print progress as nodes come up."""

from __future__ import annotations

import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor


def greets(address: str, deadline: float) -> float | None:
    started = time.monotonic()
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((address, 22), timeout=1) as sock:
                sock.settimeout(2)
                if sock.recv(64).startswith(b"SSH-"):
                    return time.monotonic() - started
        except OSError:
            time.sleep(0.1)
    return None


def main(argv: list[str]) -> int:
    timeout = float(argv[0])
    addresses = argv[1:]
    deadline = time.monotonic() + timeout
    failed = []
    with ThreadPoolExecutor(max_workers=max(1, len(addresses))) as pool:
        futures = {address: pool.submit(greets, address, deadline) for address in addresses}
        for done, (address, future) in enumerate(futures.items(), start=1):
            took = future.result()
            if took is None:
                failed.append(address)
                print(f"sshd on {address}: no answer after {timeout:.0f}s", flush=True)
            else:
                print(f"sshd on {address} ready ({done}/{len(addresses)}, {took:.1f}s)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
