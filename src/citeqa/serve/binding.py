"""Where the server listens: the address and port checked before start-up, so a port in use is refused in words."""

from __future__ import annotations

import errno
import socket

from ..errors import CiteqaError


def check_port(host: str, port: int) -> None:
    """Refuse, in words, a port the server could not bind: in use, reserved, or on an address not of this machine.

    Binds and closes a probe socket as the server will (``SO_REUSEADDR``, so a port whose
    last connection is still closing counts as free).
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror:
        raise CiteqaError(f"cannot bind {host}: not an address or a name this machine knows; bind 127.0.0.1 (the default)") from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise CiteqaError(f"port {port} on {host} is in use; stop what serves there or choose another port with --port") from None
            if exc.errno == errno.EACCES:
                raise CiteqaError(f"port {port} on {host} needs privileges this user lacks; choose a port above 1023 with --port") from None
            if exc.errno == errno.EADDRNOTAVAIL:
                raise CiteqaError(f"cannot bind {host}: not an address of this machine; bind 127.0.0.1 (the default) or one of its own") from None
            raise
