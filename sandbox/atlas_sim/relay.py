"""stdio <-> TCP relay used as SSH ProxyCommand from inside the lab netns.

`nsenter --net=/run/netns/lab python -m atlas_sim.relay HOST PORT` lets ssh on the machine reach
a node without any route to the sandbox ranges existing in the root namespace.
"""

from __future__ import annotations

import os
import selectors
import socket
import sys


def relay(host: str, port: int) -> int:
    try:
        sock = socket.create_connection((host, port), timeout=10)
    except OSError as exc:
        print(f"atlas-sim relay: cannot reach {host}:{port}: {exc}", file=sys.stderr)
        return 255
    sock.settimeout(None)
    selector = selectors.DefaultSelector()
    stdin = sys.stdin.buffer.fileno()
    stdout = sys.stdout.buffer.fileno()
    selector.register(stdin, selectors.EVENT_READ)
    selector.register(sock, selectors.EVENT_READ)
    while True:
        for key, _ in selector.select():
            if key.fileobj == stdin:
                data = os.read(stdin, 65536)
                if not data:
                    sock.shutdown(socket.SHUT_WR)
                    selector.unregister(stdin)
                    continue
                sock.sendall(data)
            else:
                data = sock.recv(65536)
                if not data:
                    return 0
                os.write(stdout, data)


if __name__ == "__main__":
    sys.exit(relay(sys.argv[1], int(sys.argv[2])))
