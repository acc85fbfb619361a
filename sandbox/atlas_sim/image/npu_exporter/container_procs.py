"""NPU registrations of the processes in other containers, read through the docker socket.

The real exporter gets each chip's HBM use and processes from the driver, which sees every process of the node.
The twin's driver finds registrations in each process's own filesystem through /proc, and the exporter's container
has a PID namespace of its own, so /proc shows it nothing. The exporter does have what the real one uses to name
the containers of those processes (-containerMode docker): the docker socket. Through it, the registration
directory of every running container is read with the archive API, so the exporter's HBM figures include what
vLLM holds, as the real exporter's do. A registration is live while its container runs: the simulated vLLM removes
its file when it releases the NPUs, and a process that dies takes its container down.
"""

from __future__ import annotations

import http.client
import io
import json
import socket
import tarfile
import urllib.parse
from typing import Any

DOCKER_SOCKET = "/var/run/docker.sock"


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


def _get(path: str, url: str, timeout: float) -> tuple[int, bytes]:
    connection = _UnixConnection(path, timeout)
    try:
        connection.request("GET", url)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def container_registrations(procs_dir: str, docker_socket: str = DOCKER_SOCKET,
                            timeout: float = 5.0) -> list[dict[str, Any]]:
    """The registration records under ``procs_dir`` of every running container; empty when the socket is absent
    or does not answer (the exporter then reports what its own namespace shows, as before)."""
    try:
        status, body = _get(docker_socket, "/containers/json", timeout)
    except OSError:
        return []
    if status != 200:
        return []
    records: list[dict[str, Any]] = []
    for container in json.loads(body):
        query = urllib.parse.urlencode({"path": procs_dir})
        try:
            status, archive = _get(docker_socket, f"/containers/{container['Id']}/archive?{query}", timeout)
        except OSError:
            continue
        if status == 200:
            records.extend(_records(archive))
    return records


def _records(archive: bytes) -> list[dict[str, Any]]:
    found = []
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            name = member.name.rsplit("/", 1)[-1]
            if not member.isfile() or not name.endswith(".json") or name.startswith("."):
                continue
            handle = tar.extractfile(member)
            try:
                record = json.loads(handle.read()) if handle else None
            except ValueError:
                continue
            if isinstance(record, dict) and "devices" in record:
                found.append(record)
    return found


def merge(own: list[dict[str, Any]], others: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Registrations of both sources, each once (by id), oldest first, as the driver lists them."""
    found = {str(record.get("id")): record for record in others}
    found.update({str(record.get("id")): record for record in own})
    return sorted(found.values(), key=lambda r: (r.get("started", 0), r.get("id", "")))
