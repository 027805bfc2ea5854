"""Start and stop a real `citeqa serve` subprocess on loopback, for the server tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    log: Path, *serve_args: str, env: dict[str, str] | None = None, timeout: float = 180
) -> tuple[subprocess.Popen[bytes], str]:
    """Run ``citeqa serve SERVE_ARGS --port P`` and wait until it answers HTTP.

    Returns:
        The process and its base URL (``http://127.0.0.1:P``, no trailing slash).

    Raises:
        AssertionError: the server exited or did not answer in time (with its log).
    """
    port = free_port()
    full_env = {
        **os.environ,
        "PYTHONPATH": str(REPO / "src"),
        "HF_HUB_OFFLINE": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        **(env or {}),
    }
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "citeqa", "serve", *serve_args, "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=full_env,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {log.read_text(errors='replace')}")
        try:
            urllib.request.urlopen(url + "/gradio_api/info", timeout=2)
            return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    proc.wait()
    raise AssertionError(f"server did not start: {log.read_text(errors='replace')}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """Terminate the server (kill it if it doesn't stop within 30 s)."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=30)


def run_async(coroutine):  # type: ignore[no-untyped-def]
    """Run a coroutine to completion on a fresh event loop in its own thread.

    The browser tests' sync Playwright keeps an event loop running in the main thread for
    the whole session, so ``asyncio.run`` there fails; a thread has no loop of its own.
    """
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
