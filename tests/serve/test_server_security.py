"""The real server against DNS rebinding and cross-site requests (issue #16 F1, F2, F3):
forged Host headers are refused over HTTP, the Gradio API and MCP; no CORS header ever
reflects another site; uploads come only from the app's own page, within the size limit,
and a refused one leaves nothing on disk; start-up answers while a rebuild waits."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import httpx
import pytest
from filelock import FileLock
from serving import start_server, stop_server

TIMEOUT = 60.0
MCP_INIT = {
    "jsonrpc": "2.0", "id": 1, "method": "initialize",
    "params": {"protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@pytest.fixture(scope="module")
def guarded(tmp_path_factory, article_index):
    root = tmp_path_factory.mktemp("guarded")
    temp = root / "gradio-tmp"
    temp.mkdir()
    proc, url = start_server(
        root / "server.log", "--index", str(article_index.path.parent), "--workspace", str(root / "ws"),
        "--mcp", "--allowed-host", "mybox.test", env={"GRADIO_TEMP_DIR": str(temp)},
    )
    yield {"url": url, "port": int(url.rsplit(":", 1)[1]), "temp": temp, "log": root / "server.log"}
    stop_server(proc)


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def _retrieve(url: str, question: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(f"{url}/gradio_api/call/retrieve", json={"data": [question, 5]}, headers=headers or {}, timeout=TIMEOUT)


# ---------------------------------------------------------------------- F2 trusted Host


@pytest.mark.parametrize("path", ["/", "/gradio_api/info", "/config"])
def test_forged_host_is_refused_over_http(guarded, path):
    response = httpx.get(guarded["url"] + path, headers={"Host": f"evil.com:{guarded['port']}"}, timeout=TIMEOUT)
    assert response.status_code == 400 and "untrusted Host" in response.json()["detail"]


def test_forged_host_is_refused_over_the_gradio_api(guarded):
    forged = _retrieve(guarded["url"], "What is the aim of the exercise?", {"Host": f"evil.com:{guarded['port']}"})
    assert forged.status_code == 400
    own = _retrieve(guarded["url"], "What is the aim of the exercise?")
    assert own.status_code == 200 and own.json()["event_id"]


def test_forged_host_is_refused_over_mcp(guarded):
    mcp = guarded["url"] + "/gradio_api/mcp/"
    own = httpx.post(mcp, json=MCP_INIT, headers=MCP_HEADERS, timeout=TIMEOUT)
    assert own.status_code == 200, own.text[:300]
    forged = httpx.post(mcp, json=MCP_INIT, headers={**MCP_HEADERS, "Host": f"evil.com:{guarded['port']}"}, timeout=TIMEOUT)
    assert forged.status_code == 400
    cross_site = httpx.post(mcp, json=MCP_INIT, headers={**MCP_HEADERS, "Origin": "http://evil.com"}, timeout=TIMEOUT)
    assert cross_site.status_code == 403


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "mybox.test", "MyBox.Test"])
def test_trusted_and_allowed_hosts_are_served(guarded, host):
    response = httpx.get(guarded["url"] + "/gradio_api/info", headers={"Host": f"{host}:{guarded['port']}"}, timeout=TIMEOUT)
    assert response.status_code == 200


# ---------------------------------------------------------------------- F2 strict CORS


def test_cors_never_reflects_another_origin(guarded):
    # Gradio's own middleware reflected any Origin (with credentials) when Host wasn't a loopback name
    for host in ("mybox.test", "127.0.0.1"):
        headers = {"Host": f"{host}:{guarded['port']}", "Origin": f"http://evil.com:{guarded['port']}"}
        response = httpx.get(guarded["url"] + "/gradio_api/info", headers=headers, timeout=TIMEOUT)
        assert response.status_code == 200
        assert not [k for k in response.headers if k.lower().startswith("access-control-allow")], response.headers
        preflight = httpx.options(
            guarded["url"] + "/gradio_api/call/retrieve",
            headers={**headers, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"},
            timeout=TIMEOUT,
        )
        assert preflight.status_code == 403 and "access-control-allow-origin" not in preflight.headers


def test_cross_site_writes_are_refused_and_the_own_page_is_served(guarded):
    question = "What is the aim of the exercise?"
    assert _retrieve(guarded["url"], question, {"Origin": "http://evil.com"}).status_code == 403
    assert _retrieve(guarded["url"], question, {"Origin": "null"}).status_code == 403
    assert _retrieve(guarded["url"], question, {"Origin": guarded["url"]}).status_code == 200


# ---------------------------------------------------------------------- F3 uploads


def test_cross_site_upload_is_refused_and_leaves_nothing_on_disk(guarded):
    before = set(_files(guarded["temp"]))
    files = {"files": ("fill-the-disk.txt", b"x" * 500_000, "text/plain")}
    for headers in ({"Origin": "http://evil.com"}, {"Origin": "null"}, {}, {"Referer": "http://evil.com/page"}):
        response = httpx.post(guarded["url"] + "/gradio_api/upload", files=files, headers=headers, timeout=TIMEOUT)
        assert response.status_code == 403, (headers, response.status_code)
    assert set(_files(guarded["temp"])) == before
    own = httpx.post(guarded["url"] + "/gradio_api/upload", files={"files": ("ok.txt", b"fine", "text/plain")},
                     headers={"Referer": guarded["url"] + "/"}, timeout=TIMEOUT)
    assert own.status_code == 200 and json.loads(own.text)[0].endswith("ok.txt")


def test_upload_requests_have_a_size_limit(guarded):
    """The request-size limit covers /upload too: refused on the declared length, body unread."""
    from citeqa.serve.security import MAX_UPLOAD_REQUEST_BYTES as MAX_UPLOAD_BYTES

    before = set(_files(guarded["temp"]))
    head = (
        f"POST /gradio_api/upload HTTP/1.1\r\nHost: 127.0.0.1:{guarded['port']}\r\nOrigin: {guarded['url']}\r\n"
        f"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {MAX_UPLOAD_BYTES + 1}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", guarded["port"]), timeout=TIMEOUT) as sock:
        sock.sendall(head + b'--b\r\nContent-Disposition: form-data; name="files"; filename="big.txt"\r\n\r\n' + b"y" * 65536)
        raw = b""
        while b"}" not in raw:  # headers and the JSON body may come in separate packets
            chunk = sock.recv(4096)
            if not chunk:
                break
            raw += chunk
    reply = raw.decode("latin-1")
    assert reply.startswith("HTTP/1.1 413"), reply[:200]
    assert "uploads are limited" in reply, reply
    assert not [p for p in set(_files(guarded["temp"])) - before if p.name == "big.txt"]


# ---------------------------------------------------------------------- F1 start-up while a rebuild waits


def test_start_up_answers_at_once_while_the_workspace_rebuild_waits(tmp_path, article_index, embedder):
    from citeqa import LiveIndex
    from citeqa.serve.workspace import CHANGE_LOCK, Library, Workspace

    workspace = tmp_path / "ws"
    upload = tmp_path / "harbor.md"
    upload.write_text("The Hollis harbor opened in 1911 after four years of work.\n", encoding="utf-8")
    Library(LiveIndex(article_index.path.parent), Workspace(workspace), build_embedder=lambda m: embedder).add(
        [("harbor.md", str(upload))])
    # a document the index doesn't hold yet (as after a crash mid-upload) and a rebuild held up
    (workspace / "documents" / "quay.md").write_text("The Skarpa quay is 300 metres long.\n", encoding="utf-8")
    lock = FileLock(str(workspace / CHANGE_LOCK))
    lock.acquire()
    proc = None
    try:
        started = time.monotonic()
        proc, url = start_server(tmp_path / "server.log", "--index", str(article_index.path.parent),
                                 "--workspace", str(workspace), timeout=120)
        waited = time.monotonic() - started
        event = _retrieve(url, "How long is the Skarpa quay?").json()["event_id"]
        stream = httpx.get(f"{url}/gradio_api/call/retrieve/{event}", timeout=TIMEOUT).text
        assert "harbor.md" in stream or "lachin" in stream  # the last good index answers
        assert "quay.md" not in stream, "start-up waited for the rebuild"
        lock.release()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            event = _retrieve(url, "How long is the Skarpa quay?").json()["event_id"]
            if "quay.md" in httpx.get(f"{url}/gradio_api/call/retrieve/{event}", timeout=TIMEOUT).text:
                break
            time.sleep(1)
        else:
            raise AssertionError("the background rebuild never landed: " + (tmp_path / "server.log").read_text())
        assert waited < 60
    finally:
        if lock.is_locked:
            lock.release()
        if proc is not None:
            stop_server(proc)


# ---------------------------------------------------------------------- F10 bad fn_index


def test_unknown_fn_index_is_a_422_without_a_traceback_in_the_log(guarded):
    own = {"Origin": guarded["url"]}
    for path in ("/gradio_api/queue/join", "/gradio_api/run/predict"):
        for fn_index in (9999, -5):
            response = httpx.post(guarded["url"] + path, json={"fn_index": fn_index, "data": [], "session_hash": "s1"},
                                  headers=own, timeout=TIMEOUT)
            assert response.status_code == 422 and f"unknown fn_index {fn_index}" in response.json()["detail"]
    info = httpx.get(guarded["url"] + "/config", timeout=TIMEOUT).json()
    known = info["dependencies"][0]["id"]
    joined = httpx.post(guarded["url"] + "/gradio_api/queue/join",
                        json={"fn_index": known, "data": [], "session_hash": "s1", "event_data": None, "trigger_id": None},
                        headers=own, timeout=TIMEOUT)
    assert joined.status_code != 422 or "unknown fn_index" not in joined.text
    assert "Traceback" not in guarded["log"].read_text(errors="replace")
