"""A loopback TCP port nobody listens on (bound, then released): for a server to start on, or for a
connection that must be refused."""

from __future__ import annotations

import socket


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
