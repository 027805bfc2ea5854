"""Fetching URLs (citeqa.ingest.fetch) from real http.server instances on 127.0.0.1."""

from __future__ import annotations

import functools
import http.server
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from citeqa.errors import InvalidArgumentError, SourceError
from citeqa.ingest.extract import extract
from citeqa.ingest import fetch as fetching
from citeqa.ingest.fetch import fetch, is_url

FORMATS = Path(__file__).resolve().parents[1] / "data" / "formats"


def _serve(handler: type[http.server.BaseHTTPRequestHandler] | functools.partial) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture()
def site(tmp_path: Path) -> Iterator[str]:
    """python -m http.server's handler serving a folder with the fixtures."""
    for name in ("news.html", "report.pdf"):
        shutil.copy(FORMATS / name, tmp_path / name)
    (tmp_path / "notes.txt").write_text("Plain notes.\nSecond line.\n", encoding="utf-8")
    (tmp_path / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    yield from _serve(functools.partial(Quiet, directory=str(tmp_path)))


@pytest.fixture()
def tricky() -> Iterator[tuple[str, threading.Event]]:
    """A server with redirects, stalls, drips and oversize bodies; the event ends stalls."""
    stop = threading.Event()
    routes: dict[str, str] = {
        "/to-ftp": "ftp://127.0.0.1/secret.txt",
        "/to-file": "file:///etc/passwd",
        "/to-js": "javascript:alert(1)",
        "/to-article": "/article",
        "/loop": "/loop",
        "/to-intranet": "http://10.0.0.1/wiki",
    }

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _headers(self, status: int, ctype: str, length: int | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            if length is not None:
                self.send_header("Content-Length", str(length))
            self.send_header("Connection", "close")
            self.end_headers()

        def do_GET(self) -> None:
            if self.path in routes:
                self.send_response(302)
                self.send_header("Location", routes[self.path])
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif self.path == "/article":
                body = (FORMATS / "news.html").read_bytes()
                self._headers(200, "text/html; charset=utf-8", len(body))
                self.wfile.write(body)
            elif self.path == "/stall":
                stop.wait(10)  # accepts the connection, never answers
            elif self.path == "/drip":
                self._headers(200, "text/plain")
                for _ in range(100):
                    if stop.wait(0.1):
                        return
                    self.wfile.write(b"drip ")
                    self.wfile.flush()
            elif self.path in ("/big", "/big-declared"):
                size = 3 * 1024 * 1024
                self._headers(200, "text/plain", size if self.path == "/big-declared" else None)
                try:
                    for _ in range(size // 65536):
                        self.wfile.write(b"a" * 65536)
                except OSError:
                    pass
            elif self.path == "/octet":
                self._headers(200, "application/octet-stream", 4)
                self.wfile.write(b"\x00\x01\x02\x03")
            elif self.path == "/latin-9":  # the euro sign is 0xA4 in Latin-9, a currency sign in Windows-1252
                body = "Tickets cost 40 \u20ac at the harbour caf\u00e9.\n".encode("iso-8859-15")
                self._headers(200, "text/plain; charset=ISO-8859-15", len(body))
                self.wfile.write(body)
            elif self.path == "/untyped":  # no Content-Type header at all
                body = b"The ferry leaves at nine. Tickets cost 40 kronor.\n"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
            elif self.path in ("/levels.ipynb", "/nb", "/data.json"):  # a notebook as servers send one, and other JSON
                data = (FORMATS / "levels.ipynb").read_bytes()
                self._headers(200, "application/x-ipynb+json" if self.path == "/nb" else "application/json", len(data))
                self.wfile.write(data)
            elif self.path in ("/files/budget.pptx", "/files/book"):
                data = (FORMATS / ("budget.pptx" if self.path.endswith("pptx") else "book.epub")).read_bytes()
                self._headers(200, "application/octet-stream" if self.path.endswith("pptx") else "application/zip", len(data))
                self.wfile.write(data)
            else:
                self._headers(404, "text/plain", 9)
                self.wfile.write(b"not found")

    gen = _serve(Handler)
    base = next(gen)
    try:
        yield base, stop
    finally:
        stop.set()
        for _ in gen:
            pass


def test_fetch_html_then_extract(site: str) -> None:
    body, ctype, final = fetch(f"{site}/news.html")
    assert body == (FORMATS / "news.html").read_bytes()
    assert ctype.startswith("text/html") and final == f"{site}/news.html"
    extracted = extract(body, final, ctype)
    assert extracted.text.startswith("Harbour town switches on its tidal barrage\n\nThe small harbour town")
    assert "cookie" not in extracted.text.lower()


def test_fetch_pdf_and_text(site: str) -> None:
    body, ctype, final = fetch(f"{site}/report.pdf")
    assert ctype == "application/pdf"
    assert extract(body, final, ctype).pages is not None
    body, ctype, final = fetch(f"{site}/notes.txt")
    assert extract(body, final, ctype).text == "Plain notes.\nSecond line.\n"


def test_wrong_content_type_refused(site: str, tricky: tuple[str, threading.Event]) -> None:
    with pytest.raises(SourceError, match=r"photo\.png: content type 'image/png' is not one citeqa reads"):
        fetch(f"{site}/photo.png")


def test_no_content_type_lets_the_bytes_decide(tricky: tuple[str, threading.Event]) -> None:
    """A server that names no type is read as one that says "application/octet-stream" (RFC 9110, 8.3)."""
    body, ctype, final = fetch(f"{tricky[0]}/untyped")
    assert ctype == ""
    assert extract(body, final, ctype).text == "The ferry leaves at nine. Tickets cost 40 kronor.\n"


def test_text_is_read_in_the_charset_its_server_declares(tricky: tuple[str, threading.Event]) -> None:
    body, ctype, final = fetch(f"{tricky[0]}/latin-9")
    assert extract(body, final, ctype).text == "Tickets cost 40 \u20ac at the harbour caf\u00e9.\n"


def test_a_generic_binary_type_lets_the_bytes_decide(tricky: tuple[str, threading.Event]) -> None:
    """Servers give office files and books "application/octet-stream" or "application/zip"."""
    body, ctype, final = fetch(f"{tricky[0]}/files/budget.pptx")
    assert ctype == "application/octet-stream" and extract(body, final, ctype).extractor == "pptx"
    body, ctype, final = fetch(f"{tricky[0]}/files/book")
    assert ctype == "application/zip" and extract(body, final, ctype).extractor == "epub"
    body, ctype, final = fetch(f"{tricky[0]}/octet")
    with pytest.raises(SourceError, match=r"unsupported or binary content"):
        extract(body, final, ctype)


def test_a_notebook_is_read_as_json_named_ipynb_or_as_jupyters_type_and_other_json_is_refused(tricky: tuple[str, threading.Event]) -> None:
    for route in ("/levels.ipynb", "/nb"):
        body, ctype, final = fetch(f"{tricky[0]}{route}")
        extracted = extract(body, final, ctype)
        assert extracted.extractor == "notebook" and extracted.title == "Norrby harbour water levels"
    with pytest.raises(SourceError, match=r"data\.json: content type 'application/json' is not one citeqa reads \(it reads .*\.ipynb.* documents\)"):
        fetch(f"{tricky[0]}/data.json")


def test_redirect_followed_to_http(tricky: tuple[str, threading.Event]) -> None:
    base, _ = tricky
    body, _, final = fetch(f"{base}/to-article")
    assert final == f"{base}/article" and body.startswith(b"<!DOCTYPE html>")


@pytest.mark.parametrize("route,target", [("/to-ftp", "ftp://"), ("/to-file", "file://"), ("/to-js", "javascript:")])
def test_redirect_to_other_scheme_refused(tricky: tuple[str, threading.Event], route: str, target: str) -> None:
    base, _ = tricky
    with pytest.raises(SourceError, match=rf"{route} redirects to '{target}.*', which is not http\(s\); refused"):
        fetch(f"{base}{route}")


def test_redirect_loop_stops(tricky: tuple[str, threading.Event]) -> None:
    with pytest.raises(SourceError, match="more than 3 redirects"):
        fetch(f"{tricky[0]}/loop", max_redirects=3)


def test_timeout_honoured_when_server_stalls(tricky: tuple[str, threading.Event]) -> None:
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"/stall: no answer within 0\.5 s"):
        fetch(f"{tricky[0]}/stall", timeout=0.5)
    assert time.monotonic() - started < 3


def test_timeout_covers_a_slow_drip(tricky: tuple[str, threading.Event]) -> None:
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"within 1 s"):
        fetch(f"{tricky[0]}/drip", timeout=1.0)
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("route", ["/big", "/big-declared"])
def test_size_limit_enforced(tricky: tuple[str, threading.Event], route: str) -> None:
    with pytest.raises(SourceError, match=r"over the limit of 1,048,576 bytes"):
        fetch(f"{tricky[0]}{route}", max_bytes=1024 * 1024)


def test_http_error_status_refused(tricky: tuple[str, threading.Event]) -> None:
    with pytest.raises(SourceError, match=r"/missing: the server answered HTTP 404 Not Found"):
        fetch(f"{tricky[0]}/missing")


def test_bad_urls_refused() -> None:
    for url in ("ftp://127.0.0.1/a.txt", "file:///etc/passwd"):
        with pytest.raises(SourceError, match="only http:// and https:// URLs can be fetched"):
            fetch(url)
    with pytest.raises(SourceError, match="has no host name"):
        fetch("http:///path")
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SourceError, match=r"cannot fetch \(ConnectError"):
        fetch(f"http://127.0.0.1:{port}/x", timeout=2)
    with pytest.raises(InvalidArgumentError, match="timeout must be > 0, got 0"):
        fetch("http://127.0.0.1/", timeout=0)
    assert is_url("https://example.org/a") and not is_url("notes/a.html") and not is_url("C:/x.pdf")


@pytest.mark.parametrize(
    "url",
    ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://[::1]/", "http://localhost/", "http://[::ffff:127.0.0.1]/"],
)
def test_public_only_refuses_local_and_private_hosts_before_connecting(url: str) -> None:
    with pytest.raises(SourceError, match=r"is a local or private network address; only public web addresses"):
        fetch(url, public_only=True)


def test_public_only_refuses_the_loopback_server_that_fetch_alone_reads(site: str) -> None:
    assert fetch(f"{site}/notes.txt")[0].startswith(b"Plain notes.")
    with pytest.raises(SourceError, match=r"127\.0\.0\.1 is a local or private network address"):
        fetch(f"{site}/notes.txt", public_only=True)


def test_public_only_checks_every_host_redirected_to(tricky: tuple[str, threading.Event], monkeypatch) -> None:
    checked: list[str] = []

    def check(url: str, original: str) -> None:  # the test server's loopback passes; the rest is real
        checked.append(url)
        if not url.startswith(tricky[0]):
            real_check(url, original)

    real_check = fetching.check_public
    monkeypatch.setattr(fetching, "check_public", check)
    monkeypatch.setattr(fetching, "_check_peer", lambda *args: None)
    with pytest.raises(SourceError, match=r"/to-intranet: 10\.0\.0\.1 is a local or private network address"):
        fetch(f"{tricky[0]}/to-intranet", public_only=True)
    assert checked == [f"{tricky[0]}/to-intranet", "http://10.0.0.1/wiki"]


def test_public_only_refuses_a_name_that_resolves_again_to_a_private_address(site: str, monkeypatch) -> None:
    """DNS rebinding: checked, the name is public; connecting, it resolves to 127.0.0.1."""
    port = int(site.rsplit(":", 1)[1])
    real = socket.getaddrinfo
    answers = iter([[(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]])

    def resolve(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host == "rebound.test":
            return next(answers, None) or real("127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SourceError, match=r"rebound\.test \(127\.0\.0\.1\) is a local or private network address"):
        fetch(f"http://rebound.test:{port}/notes.txt", public_only=True)
