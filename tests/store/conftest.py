"""Fixtures of the store tests: a real ``milvus-lite server`` on 127.0.0.1, started once per session."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def unused_port() -> int:
    """A loopback port nothing listens on."""
    return _free_port()


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory: pytest.TempPathFactory):
    """``HOST:PORT`` of a real ``milvus-lite server`` on 127.0.0.1 (an ephemeral port), for the whole session."""
    pytest.importorskip("pymilvus", reason="the Milvus store needs the extra: pip install 'citeqa[milvus]'")
    from citeqa.store.milvus import wait_for_server

    port = _free_port()
    data = tmp_path_factory.mktemp("milvus-data")
    log = open(data.parent / "milvus-server.log", "w")  # noqa: SIM115 - open for the whole session
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "milvus-lite"), "server", "--data-dir", str(data), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_server(f"milvus://127.0.0.1:{port}/probe", timeout=60)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
