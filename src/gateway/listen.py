"""The server's listening socket, bound before anything else starts (`gateway serve`)."""

from __future__ import annotations

import errno
import socket


class PortUnavailable(OSError):
    def __init__(self, host: str, port: int, cause: OSError):
        super().__init__(cause.errno, cause.strerror)
        self.host, self.port = host, port
        self.in_use = cause.errno == errno.EADDRINUSE


def listening_socket(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """Bound and listening on (host, port); raises PortUnavailable at once."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        sock = socket.create_server((host, port), family=family, backlog=backlog)
    except OSError as exc:
        raise PortUnavailable(host, port, exc) from exc
    sock.set_inheritable(True)  # `--workers N` processes accept on it
    return sock
