"""The port probe before start-up (citeqa.serve.binding): what the server could not bind is said in words."""

from __future__ import annotations

import socket

import pytest

from citeqa.errors import CiteqaError
from citeqa.serve.binding import check_port


def test_a_port_in_use_is_refused_and_a_free_one_passes():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(CiteqaError, match=rf"^port {port} on 127.0.0.1 is in use; .* --port$"):
            check_port("127.0.0.1", port)
    check_port("127.0.0.1", port)  # closed again: free


def test_an_address_not_of_this_machine_is_refused_in_words():
    with pytest.raises(CiteqaError, match=r"^cannot bind 192\.0\.2\.1: not an address of this machine"):
        check_port("192.0.2.1", 8080)  # TEST-NET-1: never a local address
