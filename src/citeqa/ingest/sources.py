"""Reading sources into documents: files, folders, http(s) URLs and the shipped article.

Each source's bytes go through :func:`citeqa.ingest.extract.extract`, which decides the
format by content (:data:`citeqa.ingest.extract.FORMATS`); the extracted text is what the
index stores and what offsets refer to. Folders are read recursively: files of no such
format (or that cannot be extracted), and sub-folders the caller picks (a citeqa index kept
among the documents), are skipped with a reason, never silently. URLs are fetched once,
here (see :mod:`citeqa.ingest.fetch`).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..config import DEFAULT_ARTICLE, PACKAGE_PREFIX, package_data
from ..errors import SourceError
from ..schema import Document
from .archive import MAX_PACKAGE_BYTES
from .extract import (
    CSV_SUFFIXES,
    FORMATS_OR,
    HTML_SUFFIXES,
    NOTEBOOK_SUFFIXES,
    PACKAGE_KINDS,
    PACKAGE_SUFFIXES,
    PDF_SUFFIXES,
    TEXT_SUFFIXES,
    extract,
    sniff,
)
from .extracted import DEFAULT_MAX_BYTES, Extracted
from .fetch import fetch, is_url

log = logging.getLogger("citeqa")

#: File name endings read from folders (other files are read only if their content is HTML, PDF or a package).
SUPPORTED_SUFFIXES = TEXT_SUFFIXES + HTML_SUFFIXES + PDF_SUFFIXES + PACKAGE_SUFFIXES + NOTEBOOK_SUFFIXES + CSV_SUFFIXES
NOT_SUPPORTED = f"not a {FORMATS_OR} file"
#: Folder files of other types logged one by one up to this many; more are counted by suffix.
SKIPPED_SHOWN = 5
#: Why a folder's sub-folder that ``skip_folder`` picks (a citeqa index) is left out.
NOT_DOCUMENTS = "a citeqa index folder: its files are not documents"
#: Bytes looked at to decide whether a file of another name is HTML or PDF.
_HEAD = 4096

#: ``fetch(url) -> (body, content_type, final_url)``; replaced in tests only by real servers.
Fetcher = Callable[[str], tuple[bytes, str, str]]


def default_source() -> str:
    """The source spec of the article that ships inside the package."""
    return f"{PACKAGE_PREFIX}{DEFAULT_ARTICLE}"


def resolve_source_path(spec: str) -> Path:
    """Turn a recorded source path (plain or ``package:NAME``) into a filesystem path."""
    if spec.startswith(PACKAGE_PREFIX):
        name = spec[len(PACKAGE_PREFIX) :]
        return package_data(name)
    return Path(spec)


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes, read in chunks."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


@dataclass(frozen=True)
class Skipped:
    """A file of a folder that was not indexed, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class ReadResult:
    """What :func:`read_sources` read: the documents, and the folder files it skipped."""

    documents: list[Document]
    skipped: list[Skipped]


@dataclass(frozen=True)
class _Entry:
    spec: str  # what is recorded as Document.path: absolute path, package:NAME or the URL
    path: Path | None  # None for URLs
    in_folder: bool  # a folder's file: skipped (with a reason) rather than fatal on failure
    shown: str = ""  # a folder's file as the user would name it (folder/sub/file)


def url_doc_id(url: str) -> str:
    """A readable, stable document id for a URL: host (and port) + path (+ query)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.port:
        host = f"{host}:{parts.port}"
    path = unquote(parts.path).strip("/")
    doc_id = f"{host}/{path}" if path else host
    return f"{doc_id}?{parts.query}" if parts.query else doc_id


def _is_candidate(path: Path) -> str | None:
    """None if a folder's file is to be read, else the reason it is skipped."""
    if path.suffix.lower() in SUPPORTED_SUFFIXES:
        return None
    try:
        with open(path, "rb") as handle:
            head = handle.read(_HEAD)
    except OSError as exc:
        return f"cannot read ({exc.strerror or exc})"
    try:
        # a PDF, web page or package saved under another name is read; any other text is not
        return None if head and sniff(head, "file.bin") in ("pdf", "html", *PACKAGE_KINDS) else NOT_SUPPORTED
    except SourceError:
        return NOT_SUPPORTED


def _folder_files(root: Path, skipped: list[Skipped], skip_folder: Callable[[Path], bool] | None) -> list[Path]:
    """The files under ``root``, sorted; hidden files and folders left out, and each sub-folder
    ``skip_folder`` picks recorded once in ``skipped`` instead of file by file."""
    found: list[Path] = []
    for top, folders, files in os.walk(root):
        here = Path(top)
        kept = []
        for name in sorted(folders):
            if name.startswith("."):
                continue
            if skip_folder is not None and skip_folder(here / name):
                skipped.append(Skipped(str(here / name), NOT_DOCUMENTS))
            else:
                kept.append(name)
        folders[:] = kept  # os.walk descends only into these
        found.extend(here / name for name in files if not name.startswith(".") and (here / name).is_file())
    return sorted(found)


def _expand(
    sources: Sequence[str | os.PathLike[str]], skipped: list[Skipped], skip_folder: Callable[[Path], bool] | None = None
) -> list[_Entry]:
    """Expand files, folders and URLs into entries, sorted within folders."""
    found: list[_Entry] = []
    for source in sources:
        spec = os.fspath(source)
        if spec.startswith(PACKAGE_PREFIX):
            found.append(_Entry(spec, resolve_source_path(spec), False))
            continue
        if is_url(spec):
            found.append(_Entry(spec, None, False))
            continue
        if "://" in spec:
            raise SourceError(f"{spec}: only http:// and https:// URLs can be fetched")
        path = Path(spec)
        if path.is_dir():
            files = _folder_files(path, skipped, skip_folder)
            kept = []
            for file in files:
                reason = _is_candidate(file)
                if reason is None:
                    kept.append(file)
                else:
                    skipped.append(Skipped(str(file), reason))
            if not kept:
                raise SourceError(
                    f"{spec}: folder has no {FORMATS_OR} files; add some or name files directly"
                )
            found.extend(_Entry(str(p.resolve()), p, True, str(p)) for p in kept)
        elif path.is_file():
            found.append(_Entry(str(path.resolve()), path, False))
        elif path.exists():
            raise SourceError(f"{spec}: not a regular file or folder")
        else:
            raise SourceError(f"{spec}: no such file or folder")
    return found


def _doc_ids(entries: list[_Entry]) -> list[str]:
    """Short, unique document ids: file paths relative to the files' common folder, URLs as host/path."""
    plain = [e.path.resolve() for e in entries if e.path is not None and not e.spec.startswith(PACKAGE_PREFIX)]
    root = Path(os.path.commonpath([str(p.parent) for p in plain])) if plain else None
    ids: list[str] = []
    for entry in entries:
        if entry.path is None:
            ids.append(url_doc_id(entry.spec))
        elif entry.spec.startswith(PACKAGE_PREFIX) or root is None:
            ids.append(entry.path.name)
        else:
            ids.append(entry.path.resolve().relative_to(root).as_posix())
    seen: dict[str, str] = {}
    for doc_id, entry in zip(ids, entries):
        if doc_id in seen and seen[doc_id] != entry.spec:
            raise SourceError(f"two sources are both named {doc_id!r}; give each a distinct name")
        seen[doc_id] = entry.spec
    return ids


def _extract_file(data: bytes, name: str, max_bytes: int) -> Extracted:
    # plain text has no size limit of its own (it costs what its sentences cost);
    # Markdown, HTML and PDF do: their parsers' time and memory grow faster than the text;
    # a package (.docx, .pptx, .epub...) may be as large as its pictures, which are never read
    kind = sniff(data, name)
    if kind == "text":
        max_bytes = max(max_bytes, len(data))
    elif kind in PACKAGE_KINDS:
        max_bytes = max(max_bytes, MAX_PACKAGE_BYTES)
    return extract(data, name, max_bytes=max_bytes)


def _read_raw(entry: _Entry, max_bytes: int, fetcher: Fetcher) -> tuple[bytes, str | None]:
    """The raw bytes of an entry (and a URL's content type); nothing extracted yet."""
    if entry.path is None:
        body, content_type, _final = fetcher(entry.spec)
        return body, content_type
    try:
        size = entry.path.stat().st_size
        suffix = entry.path.suffix.lower()
        limit = max(max_bytes, MAX_PACKAGE_BYTES) if suffix in PACKAGE_SUFFIXES else max_bytes
        if size > limit and suffix not in TEXT_SUFFIXES:
            raise SourceError(
                f"{entry.spec} is {size:,} bytes, over the limit of {limit:,} bytes; "
                "split it or raise the limit"
            )
        return entry.path.read_bytes(), None
    except OSError as exc:
        raise SourceError(f"{entry.spec}: cannot read ({exc.strerror or exc})") from None


def _skip(entry: _Entry, exc: SourceError) -> Skipped:
    reason = str(exc).removeprefix(f"{entry.spec}: ").replace(entry.spec, Path(entry.spec).name)
    return Skipped(entry.shown or entry.spec, reason)


@dataclass(frozen=True)
class RawSource:
    """One source's bytes as read, before extraction (what a distributed build ships to its workers).

    Attributes:
        doc_id: The document id it will get (see :func:`read_sources`).
        spec: What is recorded as ``Document.path``.
        data: The raw bytes (a file's, or a URL's response body).
        content_type: A URL's content type; None for files.
        in_folder: A folder's file: skipped with a reason (not fatal) if it cannot be extracted.
        shown: How a skipped folder file is named to the user.
    """

    doc_id: str
    spec: str
    data: bytes
    content_type: str | None
    in_folder: bool
    shown: str


def iter_raw_sources(
    sources: Iterable[str | os.PathLike[str]] | None,
    skipped: list[Skipped],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    fetcher: Fetcher = fetch,
    skip_folder: Callable[[Path], bool] | None = None,
) -> Iterator[RawSource]:
    """Expand and read the sources one at a time, as :func:`read_sources` does, leaving extraction to :func:`document_from_raw`.

    Folder files that cannot be read are appended to ``skipped`` (the names are all
    checked, and every folder listed, before the first source is read), and so is each
    sub-folder of a named folder that ``skip_folder`` picks (once, its files unread).

    Raises:
        SourceError: see :func:`read_sources` (extraction errors come from :func:`document_from_raw`).
    """
    specs = list(sources) if sources is not None else []
    entries = _expand(specs or [default_source()], skipped, skip_folder)
    ids = _doc_ids(entries)
    seen: set[str] = set()
    for entry, doc_id in zip(entries, ids):
        if entry.spec in seen:
            continue
        seen.add(entry.spec)
        try:
            data, content_type = _read_raw(entry, max_bytes, fetcher)
        except SourceError as exc:
            if not entry.in_folder:
                raise
            skipped.append(_skip(entry, exc))
            continue
        yield RawSource(doc_id, entry.spec, data, content_type, entry.in_folder, entry.shown)


def document_from_raw(raw: RawSource, max_bytes: int = DEFAULT_MAX_BYTES) -> Document:
    """Extract a :class:`RawSource` into its :class:`Document`.

    Raises:
        SourceError: the text cannot be extracted (the message names ``raw.spec``).
    """
    if raw.content_type is not None:
        extracted = extract(raw.data, raw.spec, raw.content_type, max_bytes=max_bytes)
    else:
        extracted = _extract_file(raw.data, raw.spec, max_bytes)
    return Document(
        doc_id=raw.doc_id,
        text=extracted.text,
        path=raw.spec,
        sha256=sha256_bytes(raw.data),
        pages=extracted.pages,
        extractor=extracted.extractor,
        extractor_version=extracted.extractor_version,
    )


def skipped_raw(raw: RawSource, exc: SourceError) -> Skipped:
    """The :class:`Skipped` record of a folder file whose extraction failed."""
    return _skip(_Entry(raw.spec, None, raw.in_folder, raw.shown), exc)


def read_sources(
    sources: Iterable[str | os.PathLike[str]] | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    fetcher: Fetcher = fetch,
    skip_folder: Callable[[Path], bool] | None = None,
) -> ReadResult:
    """Read every source into a :class:`Document`; report the folder files left out.

    Args:
        sources: Files, folders (read recursively) and http(s) URLs. ``None`` or empty
            means the shipped article.
        max_bytes: HTML and PDF files and URL responses larger than this are refused.
        fetcher: Downloads a URL (default :func:`citeqa.ingest.fetch.fetch`).
        skip_folder: Picks a folder's sub-folders to leave out whole (the build passes
            :func:`citeqa.store.format.is_index_folder`: an index kept beside the documents).

    Returns:
        The documents in a stable order, and the skipped files with their reasons
        (each also logged as a warning).

    Raises:
        SourceError: a named file or URL is missing, unreadable, of an unsupported type,
            or its text cannot be extracted; two sources share a name.
    """
    skipped: list[Skipped] = []
    documents: list[Document] = []
    for item in iter_raw_sources(sources, skipped, max_bytes=max_bytes, fetcher=fetcher, skip_folder=skip_folder):
        try:
            documents.append(document_from_raw(item, max_bytes))
        except SourceError as exc:
            if not item.in_folder:
                raise
            skipped.append(skipped_raw(item, exc))
    log_skipped(skipped)
    if not documents:
        raise SourceError(
            "none of the sources could be read (see the skipped files above); "
            f"citeqa reads {FORMATS_OR} files and http(s) URLs"
        )
    return ReadResult(documents, skipped)


def log_skipped(skipped: Sequence[Skipped]) -> None:
    """Log the folder files left out: each one that could not be read, with its reason; those of
    other types (:data:`NOT_SUPPORTED`) one by one up to :data:`SKIPPED_SHOWN`, else in one line
    counting them by suffix (each then at DEBUG, ``citeqa -vv``).

    A website saved as a folder (the Rust book: 466 pages) holds hundreds of scripts, styles,
    fonts and images: a line for each buried the few that mattered.
    """
    others = [item for item in skipped if item.reason == NOT_SUPPORTED]
    summed = len(others) > SKIPPED_SHOWN
    for item in skipped:
        log.log(logging.DEBUG if summed and item.reason == NOT_SUPPORTED else logging.WARNING, "skipped %s: %s", item.path, item.reason)
    if summed:
        counted = Counter(Path(item.path).suffix.lower() or "(no suffix)" for item in others)
        kinds = sorted(counted.items(), key=lambda kind: (-kind[1], kind[0]))  # most first, ties by name
        listed = ", ".join(f"{count} {kind}" for kind, count in kinds[:6]) + (", ..." if len(kinds) > 6 else "")
        log.warning("skipped %d files that are not %s files (%s); -vv names each", len(others), FORMATS_OR, listed)


def read_documents(
    sources: Iterable[str | os.PathLike[str]] | None = None, *, skip_folder: Callable[[Path], bool] | None = None
) -> list[Document]:
    """The documents of :func:`read_sources` (skipped folder files are logged).

    Raises:
        SourceError: see :func:`read_sources`.
    """
    return read_sources(sources, skip_folder=skip_folder).documents
