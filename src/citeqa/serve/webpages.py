"""Web pages added by their address from the chat: fetched, named, then stored like uploads.

The page is fetched once, with the upload limits, and kept in the workspace as a file
(a rebuild never goes online, as for the base index's URLs). Unless the server was
started to allow them, hosts at local or private network addresses are refused, on the
first address and on every redirect: a page fetched for someone using the web page must
not reach the server's own machine or network (:func:`citeqa.ingest.fetch.check_public`).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..errors import SourceError
from ..ingest.extract import sniff
from ..ingest.fetch import PrivateAddressError, fetch, is_url
from ..ingest.sources import url_doc_id
from .uploads import MAX_NAME_CHARS, MAX_UPLOAD_BYTES, safe_document_name
from .progress import Progress
from .workspace import Change, Library

#: Longest address accepted (browsers' practical limit).
MAX_URL_CHARS = 2000
#: Most addresses added at a time.
MAX_PAGES = 10
#: Seconds a page may take to arrive.
FETCH_TIMEOUT = 20.0
#: The file suffix a fetched document is stored under, by the format its bytes have.
SUFFIXES = {
    "html": ".html", "pdf": ".pdf", "text": ".txt", "markdown": ".md", "rst": ".rst",
    "docx": ".docx", "odt": ".odt", "pptx": ".pptx", "epub": ".epub", "notebook": ".ipynb", "csv": ".csv", "xlsx": ".xlsx", "xls": ".xls", "ods": ".ods",
}


def page_name(url: str, data: bytes, content_type: str = "") -> str:
    """The workspace file name of a page fetched from ``url``: its host and path, "/" as "_",
    with the suffix of the format its bytes have ("example.org_news_ferry.html")."""
    stem = url_doc_id(url).replace("/", "_").replace("?", "_")
    kind = sniff(data, stem, content_type or None)
    suffix = SUFFIXES[kind]
    if os.path.splitext(stem)[1].lower() == suffix:
        suffix = ""  # "report.pdf" keeps its name
    return safe_document_name(stem[: MAX_NAME_CHARS - len(suffix)] + suffix)


def add_web_page(library: Library, url: str, progress: Progress | None = None, *, public_only: bool = True) -> Change:
    """Fetch the documents at the addresses in ``url`` (one, or several separated by spaces)
    and add them to ``library`` as uploaded files, in one rebuild.

    Raises:
        SourceError: not an http(s) address, a private one (with ``public_only``), more than
            :data:`MAX_PAGES` addresses, or a page cannot be fetched or read; nothing is changed.
    """
    text = (url or "").strip()
    addresses = list(dict.fromkeys(text.split()))
    if not addresses:
        raise SourceError("no address was given; paste a web page's address, starting with https://")
    if "://" not in text:
        raise SourceError(f"{text[:200]!r} is not a web address; paste one starting with https:// or http://")
    if len(addresses) > MAX_PAGES:
        raise SourceError(f"{len(addresses)} addresses were given; add at most {MAX_PAGES} at a time")
    for address in addresses:
        if len(address) > MAX_URL_CHARS:
            raise SourceError(f"an address is {len(address):,} characters long; the limit is {MAX_URL_CHARS:,}")
        if not is_url(address):
            raise SourceError(f"{address[:200]!r} is not a web address; paste one starting with https:// or http://")
    report = progress or (lambda fraction, message: None)
    with tempfile.TemporaryDirectory(prefix="citeqa-pages-") as folder:
        pages = []
        for number, address in enumerate(addresses):
            report(0.01, f"Fetching {address[:100]}" + (f" ({number + 1} of {len(addresses)})" if len(addresses) > 1 else ""))
            try:
                data, content_type, final = fetch(address, timeout=FETCH_TIMEOUT, max_bytes=MAX_UPLOAD_BYTES, public_only=public_only)
            except PrivateAddressError as exc:
                raise SourceError(f"{exc} (or start the server with --allow-private-urls)") from None
            path = Path(folder) / f"page-{number}"
            path.write_bytes(data)
            pages.append((page_name(final, data, content_type), path, address))
        return library.add([(name, path) for name, path, _ in pages], progress, origins={name: address for name, _, address in pages})


__all__ = ["FETCH_TIMEOUT", "MAX_PAGES", "MAX_URL_CHARS", "SUFFIXES", "add_web_page", "page_name"]
