"""Which HTTP requests the server accepts: trusted Host headers, same-origin writes and uploads, no CORS, size limits.

Against DNS rebinding (a page on ``evil.test`` whose name now resolves to 127.0.0.1)
every request, WebSocket included, must name a trusted host in ``Host``: 127.0.0.1,
localhost, [::1], the address the server was started on, and any ``--allowed-host``.
Against cross-site requests (any web page can POST to localhost, and a multipart POST
needs no preflight): a request with an ``Origin`` of another site may only read
(GET/HEAD), and the browser gets no ``Access-Control-Allow-*`` header, so it can't
read the answer either; uploads must come from the app's own page (a same-origin
``Origin``, or ``Referer`` when a browser sends no ``Origin``). Refused requests are
answered before their body is read, so a refused upload leaves nothing on disk.

Gradio 6.31 adds its own ``CustomCORSMiddleware``, which reflects any ``Origin`` with
credentials when the Host is not a loopback name. :func:`install` puts
:class:`RequestGuard` in its place (same position: outside the app and the size limit).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from ..errors import CiteqaError
from ..question import MAX_QUESTION_CHARS, MAX_RAW_QUESTION_CHARS
from .uploads import MAX_DOCUMENT_BYTES, MAX_DOCUMENTS

#: Names a loopback server always answers to.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
#: Methods a cross-site request may use (they read, never change anything).
SAFE_METHODS = frozenset({"GET", "HEAD"})
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
#: Longest question the page and the API accept, in characters.
MAX_INPUT_CHARS = MAX_QUESTION_CHARS
#: What the page's question box keeps of a paste: all the server reads, so a question too
#: long reaches it and is refused in words ("keep it under 1,000 characters") instead of
#: being cut short by the browser and asked.
MAX_TYPED_CHARS = MAX_RAW_QUESTION_CHARS
#: Largest request body outside uploads. Gradio keeps each /call/ request's body in its
#: session state, so without a cap a client can pin memory with huge JSON bodies.
MAX_REQUEST_BYTES = 2 * 1024 * 1024
#: Largest upload request: a full batch of documents, with room for the multipart framing.
MAX_UPLOAD_REQUEST_BYTES = MAX_DOCUMENTS * MAX_DOCUMENT_BYTES + 1024 * 1024


class RequestSizeLimit:
    """ASGI middleware: answer 413 to request bodies over ``limit`` bytes (uploads: over
    ``upload_limit``; Gradio's ``max_file_size`` also limits each file), declared or streamed."""

    def __init__(self, app: Any, limit: int = MAX_REQUEST_BYTES, upload_limit: int = MAX_UPLOAD_REQUEST_BYTES) -> None:
        self.app = app
        self.limit = limit
        self.upload_limit = upload_limit

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = scope["path"].rstrip("/").endswith("/upload")
        limit = self.upload_limit if upload else self.limit
        declared = dict(scope.get("headers", [])).get(b"content-length", b"")
        if declared.isdigit():
            if int(declared) > limit:
                await self._refuse(send, limit, upload)
                return
            await self.app(scope, receive, send)
            return
        buffered, size = [], 0  # no length given (chunked): read up to the limit first
        while True:
            message = await receive()
            buffered.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > limit:
                await self._refuse(send, limit, upload)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> dict[str, Any]:
            return buffered.pop(0) if buffered else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Any, limit: int, upload: bool) -> None:
        what = (f"uploads are limited to {MAX_DOCUMENT_BYTES // 1000:,} kB per file" if upload
                else f"questions are limited to {MAX_INPUT_CHARS:,} characters")
        body = f'{{"detail": "request body over {limit / (1024 * 1024):.0f} MB; {what}"}}'.encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def host_name(value: str) -> str:
    """The lower-case host of a ``Host`` header or an address: "[::1]:7860" → "[::1]", "LocalHost" → "localhost"."""
    value = value.strip().lower().rstrip(".")
    if value.startswith("["):
        return value[: value.find("]") + 1] if "]" in value else value
    if value.count(":") > 1:  # a bare IPv6 address (as given to --host)
        return f"[{value}]"
    return value.partition(":")[0].rstrip(".")


def allowed_hosts(bind: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """The Host names to accept: the loopback names, the bound address (unless it is a
    wildcard, which names no host) and each extra name."""
    names = {*LOOPBACK_HOSTS, *(host_name(name) for name in extra if name.strip())}
    if bind and host_name(bind) not in ("0.0.0.0", "[::]"):
        names.add(host_name(bind))
    return frozenset(names)


def same_origin(origin: str, host: str) -> bool:
    """True if ``origin`` (an Origin or Referer URL) is the site the request was sent to (``host``)."""
    try:
        parts, target = urlsplit(origin), urlsplit(f"//{host}")
        port, target_port = parts.port, target.port
    except ValueError:
        return False
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return False
    default = _DEFAULT_PORTS[parts.scheme]
    return host_name(parts.netloc.rpartition("@")[2]) == host_name(host) and (port or default) == (target_port or default)


class RequestGuard:
    """ASGI middleware: trusted Host, same-origin writes and uploads, no CORS headers.

    Args:
        app: The ASGI app it guards.
        hosts: Accepted host names (see :func:`allowed_hosts`).
        **_gradio: What Gradio passes to the middleware it replaces (ignored).
    """

    def __init__(self, app: Any, hosts: Iterable[str] = LOOPBACK_HOSTS, **_gradio: Any) -> None:
        self.app = app
        self.hosts = frozenset(hosts)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope.get("headers", [])}
        host = headers.get("host", "")
        if host_name(host) not in self.hosts:
            await _refuse(scope, receive, send, 400, f"untrusted Host header {host[:100]!r}; start citeqa serve "
                          "with --allowed-host NAME to accept requests for that name")
            return
        origin = headers.get("origin")
        cross_site = origin is not None and not same_origin(origin, host)
        method = scope.get("method", "GET")
        if cross_site and (scope["type"] == "websocket" or method not in SAFE_METHODS):
            await _refuse(scope, receive, send, 403, "cross-site requests may only read; use the page this server serves")
            return
        if scope["type"] == "http" and scope["path"].rstrip("/").endswith("/upload") and method not in SAFE_METHODS:
            source = origin if origin is not None else headers.get("referer", "")
            if not same_origin(source, host):
                await _refuse(scope, receive, send, 403, "uploads are accepted only from this server's own page")
                return

        async def no_cors(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":  # never let a browser share an answer across sites
                message["headers"] = [
                    (key, value) for key, value in message.get("headers", [])
                    if not key.lower().startswith(b"access-control-allow-")
                ]
            await send(message)

        await self.app(scope, receive, no_cors)


async def _refuse(scope: dict[str, Any], receive: Any, send: Any, status: int, detail: str) -> None:
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.close", "code": 1008, "reason": detail[:120]})
        return
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def install(hosts: Iterable[str]) -> None:
    """Make Gradio's apps use :class:`RequestGuard` (accepting ``hosts``) where they would
    add their ``CustomCORSMiddleware``. Call before ``launch``; affects this process.

    Raises:
        CiteqaError: the installed Gradio adds its CORS middleware differently (the
            guard could not be put in place, so the server must not start).
    """
    import gradio.routes

    original = getattr(gradio.routes, "CustomCORSMiddleware", None)
    if not inspect.isclass(original) or not (
        issubclass(original, RequestGuard) or "strict_cors" in inspect.signature(original.__init__).parameters
    ):
        raise CiteqaError("this Gradio version adds its CORS middleware differently; citeqa can't guard the server")
    guard = type("CustomCORSMiddleware", (RequestGuard,), {"__init__": _bound_init(frozenset(hosts))})
    gradio.routes.CustomCORSMiddleware = guard  # type: ignore[attr-defined]


def _bound_init(hosts: frozenset[str]) -> Any:
    def __init__(self: RequestGuard, app: Any, **_gradio: Any) -> None:
        RequestGuard.__init__(self, app, hosts)

    return __init__


class KnownEvents:
    """ASGI middleware: a queue/run request naming an event the app doesn't have gets a 422,
    not a 500 with a traceback in the log (Gradio looks ``fn_index`` up unchecked).

    Args:
        app: The ASGI app.
        events: Returns the app's event ids (``Blocks.fns`` keys).
    """

    PATHS = ("/queue/join", "/run/predict")

    def __init__(self, app: Any, events: Any) -> None:
        self.app = app
        self.events = events

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST" or not scope["path"].rstrip("/").endswith(self.PATHS):
            await self.app(scope, receive, send)
            return
        buffered, body = [], b""  # the size limit outside has bounded the body already
        while True:
            message = await receive()
            buffered.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        try:
            fn_index = json.loads(body).get("fn_index")
        except (ValueError, AttributeError):
            fn_index = None  # not JSON or not an object: Gradio answers 422 itself
        if isinstance(fn_index, int) and not isinstance(fn_index, bool) and fn_index not in self.events():
            detail = json.dumps({"detail": f"unknown fn_index {fn_index}; see /gradio_api/info for the endpoints"}).encode()
            await send({"type": "http.response.start", "status": 422,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(detail)).encode())]})
            await send({"type": "http.response.body", "body": detail})
            return

        async def replay() -> dict[str, Any]:
            return buffered.pop(0) if buffered else await receive()

        await self.app(scope, replay, send)
