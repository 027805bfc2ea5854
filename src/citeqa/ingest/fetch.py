"""Fetching a document from an http(s) URL, with a timeout, a size limit and a type check.

Only ``http`` and ``https`` are fetched, redirects are followed by hand (a bounded
number, and only to http(s)), the body is streamed and cut off at the size limit, and
only the content types citeqa can extract are accepted. With ``public_only`` (the chat's
web pages) every host on the way must be a public address: a page fetched for someone on
the web page must not reach the server's own machine or network (169.254.169.254, a
router's admin page). Every failure is a :class:`~citeqa.errors.SourceError` that names
the URL and says what to do.
"""

from __future__ import annotations

import ipaddress
import socket
import time
import urllib.request
from urllib.parse import urljoin, urlsplit

from ..errors import InvalidArgumentError, SourceError
from .extract import (
    CSV_TYPES,
    DOCX_TYPES,
    EPUB_TYPES,
    FORMATS_OR,
    GENERIC_TYPES,
    HTML_TYPES,
    NOTEBOOK_SUFFIXES,
    NOTEBOOK_TYPES,
    ODS_TYPES,
    ODT_TYPES,
    PDF_TYPES,
    PPTX_TYPES,
    TEXT_TYPES,
    XLS_TYPES,
    XLSX_TYPES,
)
from .extracted import DEFAULT_MAX_BYTES

DEFAULT_TIMEOUT = 20.0
DEFAULT_MAX_REDIRECTS = 5
#: The content types a fetched document may have: those :func:`citeqa.ingest.extract.sniff`
#: reads, and the generic ones servers give office files and books (S3's and many servers'
#: "application/octet-stream", an EPUB as "application/zip"), for which the bytes decide, as
#: they do when a server sends no content type at all.
ACCEPTED_TYPES = HTML_TYPES + PDF_TYPES + TEXT_TYPES + DOCX_TYPES + ODT_TYPES + PPTX_TYPES + EPUB_TYPES + NOTEBOOK_TYPES + CSV_TYPES + XLSX_TYPES + XLS_TYPES + ODS_TYPES + GENERIC_TYPES
#: JSON is read only as a notebook named so (servers send ".ipynb" files as "application/json").
_JSON = "application/json"
USER_AGENT = "citeqa (document question answering)"
_SCHEMES = ("http", "https")


def is_url(spec: str) -> bool:
    """True if ``spec`` looks like an http(s) URL rather than a path."""
    return urlsplit(spec).scheme.lower() in _SCHEMES and "://" in spec


def _check_scheme(url: str, original: str) -> None:
    parts = urlsplit(url)
    if parts.scheme.lower() not in _SCHEMES:
        if url == original:
            raise SourceError(f"{url}: only http:// and https:// URLs can be fetched")
        raise SourceError(
            f"{original} redirects to {url!r}, which is not http(s); refused — "
            "download the document yourself and build from the file"
        )
    if not parts.hostname:
        raise SourceError(f"{url}: the URL has no host name")


class PrivateAddressError(SourceError):
    """A host at a local or private network address, refused by ``public_only``."""


def _refuse_private(address: str, host: str, original: str) -> None:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if not ip.is_global or ip.is_multicast:
        where = host if host == str(ip) else f"{host} ({ip})"
        raise PrivateAddressError(
            f"{original}: {where} is a local or private network address; only public web "
            "addresses are fetched here — save the document and add the file instead"
        )


def check_public(url: str, original: str) -> None:
    """Refuse ``url`` unless every address its host resolves to is public (not loopback,
    private, link-local, shared or multicast).

    Raises:
        SourceError: the host is not public, or cannot be resolved.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        found = socket.getaddrinfo(host, parts.port or (443 if parts.scheme.lower() == "https" else 80), type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise SourceError(f"{original}: cannot find the host {host!r} ({exc}); check the address") from None
    for *_, sockaddr in found:
        _refuse_private(str(sockaddr[0]), host, original)


def _check_peer(response: object, url: str, original: str) -> None:
    """Refuse a connection that reached a non-public address after all (the host's name
    resolved again, to another address: DNS rebinding), unless a proxy made it."""
    if urllib.request.getproxies() and not urllib.request.proxy_bypass(urlsplit(url).hostname or ""):
        return  # the peer is the proxy, which the user configured
    stream = getattr(response, "extensions", {}).get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    if peer:
        _refuse_private(str(peer[0]), urlsplit(url).hostname or "", original)


def fetch(
    url: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_redirects: int = DEFAULT_MAX_REDIRECTS,
    public_only: bool = False,
) -> tuple[bytes, str, str]:
    """Download ``url``; return ``(body, content_type, final_url)``.

    Args:
        url: an http:// or https:// URL.
        timeout: seconds for the whole download, redirects included (each network
            wait is bounded by what is left of it).
        max_bytes: bodies larger than this are refused (checked while streaming).
        max_redirects: how many redirects to follow at most.
        public_only: refuse hosts at local or private network addresses (:func:`check_public`),
            the first and every one redirected to, and a connection that reached one anyway.

    Raises:
        SourceError: bad scheme, unreachable, timed out, HTTP error status, too many
            redirects or a redirect to a non-http(s) scheme, unaccepted content type,
            or too large.
        InvalidArgumentError: a limit is not positive.
    """
    import httpx

    if timeout <= 0:
        raise InvalidArgumentError(f"timeout must be > 0, got {timeout}")
    if max_bytes <= 0:
        raise InvalidArgumentError(f"max_bytes must be > 0, got {max_bytes}")
    if max_redirects < 0:
        raise InvalidArgumentError(f"max_redirects must be >= 0, got {max_redirects}")
    original = url
    _check_scheme(url, original)
    deadline = time.monotonic() + timeout
    headers = {"User-Agent": USER_AGENT, "Accept": ", ".join(ACCEPTED_TYPES)}

    def remaining() -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise SourceError(
                f"{original}: no complete answer within {timeout:g} s; "
                "try again later or raise the timeout"
            )
        return left

    def check_redirect(response: httpx.Response) -> None:
        # runs before httpx parses the Location itself (which fails on "javascript:…")
        if response.has_redirect_location:
            target = urljoin(str(response.request.url), response.headers["location"].strip())
            _check_scheme(target, original)

    try:
        with httpx.Client(
            follow_redirects=False, headers=headers, event_hooks={"response": [check_redirect]}
        ) as client:
            for _ in range(max_redirects + 1):
                if public_only:
                    check_public(url, original)
                with client.stream("GET", url, timeout=httpx.Timeout(remaining())) as response:
                    if public_only:
                        _check_peer(response, url, original)
                    if response.is_redirect:
                        location = response.headers.get("location")
                        if not location:
                            raise SourceError(
                                f"{url}: HTTP {response.status_code} redirect without a Location"
                            )
                        url = urljoin(url, location.strip())
                        _check_scheme(url, original)
                        continue
                    if response.status_code != 200:
                        raise SourceError(
                            f"{url}: the server answered HTTP {response.status_code} "
                            f"{response.reason_phrase}; check the address"
                        )
                    raw_type = response.headers.get("content-type", "")
                    media = raw_type.split(";", 1)[0].strip().lower()
                    # no Content-Type at all: as application/octet-stream, the bytes decide (RFC 9110, 8.3)
                    notebook = media == _JSON and urlsplit(url).path.lower().endswith(NOTEBOOK_SUFFIXES)
                    if media and media not in ACCEPTED_TYPES and not notebook:
                        raise SourceError(
                            f"{url}: content type {media!r} is not one citeqa reads "
                            f"(it reads {FORMATS_OR} documents)"
                        )
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > max_bytes:
                        raise SourceError(
                            f"{url} is {int(declared):,} bytes, over the limit of "
                            f"{max_bytes:,} bytes; save a smaller document or raise the limit"
                        )
                    body = bytearray()
                    for chunk in response.iter_bytes():
                        body += chunk
                        if len(body) > max_bytes:
                            raise SourceError(
                                f"{url} is over the limit of {max_bytes:,} bytes; "
                                "save a smaller document or raise the limit"
                            )
                        remaining()
                    return bytes(body), raw_type, str(response.url)
            raise SourceError(
                f"{original}: more than {max_redirects} redirects; give the final address"
            )
    except httpx.TimeoutException:
        raise SourceError(
            f"{original}: no answer within {timeout:g} s; try again later or raise the timeout"
        ) from None
    except httpx.InvalidURL as exc:
        raise SourceError(f"{url}: not a valid URL ({exc})") from None
    except httpx.HTTPError as exc:
        raise SourceError(
            f"{url}: cannot fetch ({type(exc).__name__}: {exc}); check the address and "
            "your connection"
        ) from None


__all__ = ["ACCEPTED_TYPES", "DEFAULT_MAX_REDIRECTS", "DEFAULT_TIMEOUT", "PrivateAddressError", "check_public", "fetch", "is_url"]
