"""The server's workspace: documents added from the web page and the index built from them.

Layout of a workspace folder::

    WORKSPACE/
      documents/     uploaded .txt/.md/.html/.pdf files, one per document (written atomically)
      index/         index of the base sources + those documents (via build_index only)
      .change.lock   held while documents change (one writer, also across processes)

The committed ``index/`` and the shipped article are never written: the workspace
index is a separate folder, built from the base index's sources plus the uploads.
:class:`Library` is what the server answers from — the base index while nothing
was uploaded, the workspace index otherwise — and swaps only after a rebuild
verified.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..api import LiveIndex, build_index
from ..embed import Embedder, new_embedder
from ..errors import CiteqaError, SourceError
from ..fsutil import atomic_write_bytes, folder_lock
from ..index import Index
from ..ingest.extract import extract, sniff
from ..ingest.extracted import Extracted
from ..ingest.fetch import is_url
from ..ingest.sources import SUPPORTED_SUFFIXES

log = logging.getLogger("citeqa")

DOCUMENTS_DIR = "documents"
INDEX_DIR = "index"
#: Held (across processes) while documents are added or removed and the index rebuilt.
CHANGE_LOCK = ".change.lock"
#: Largest accepted text or Markdown upload, in bytes.
MAX_DOCUMENT_BYTES = 1_000_000
#: Largest accepted HTML or PDF upload, in bytes (the HTTP layer refuses larger bodies first).
MAX_UPLOAD_BYTES = 10_000_000
ACCEPTED = ".txt, .md, .html or .pdf"
#: Most documents a workspace holds.
MAX_DOCUMENTS = 20
MAX_NAME_CHARS = 100

#: ``progress(fraction, message)`` callback for long operations.
Progress = Callable[[float, str], None]


def default_workspace_path() -> Path:
    """``$CITEQA_WORKSPACE`` if set, else ``$XDG_DATA_HOME/citeqa/workspace``."""
    env = os.environ.get("CITEQA_WORKSPACE")
    if env:
        return Path(env)
    data_home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return data_home / "citeqa" / "workspace"


def safe_document_name(name: str) -> str:
    """A file name safe to store: no folders, no leading dot, only ``[A-Za-z0-9 ._-]``.

    Raises:
        SourceError: the name has no usable characters or is not a .txt/.md/.html/.pdf file.
    """
    base = re.split(r"[\\/]", str(name))[-1].strip()
    cleaned = re.sub(r"[^A-Za-z0-9 ._-]", "_", base).lstrip(". ")
    stem, dot, suffix = cleaned.rpartition(".")
    if not dot or not stem.strip("._ -"):
        raise SourceError(f"{name!r} is not a {ACCEPTED} file name; rename the file and upload it again")
    if f".{suffix.lower()}" not in SUPPORTED_SUFFIXES:
        raise SourceError(
            f"{base!r}: unsupported file type '.{suffix}'; citeqa reads {ACCEPTED} files"
        )
    stem = stem[: MAX_NAME_CHARS - len(suffix) - 1]
    return f"{stem}.{suffix.lower()}"


def check_document(name: str, data: bytes) -> Extracted:
    """Check an upload by its content: type, size, and that text can be extracted from it.

    The format is decided by the bytes (a PDF named .txt is a PDF; an .html that is
    really binary is refused), exactly as the build will read the stored file.

    Returns:
        The extracted text (what the index will store).

    Raises:
        SourceError: saying what is wrong and what to do.
    """
    kind = sniff(data, name)
    limit = MAX_DOCUMENT_BYTES if kind == "text" else MAX_UPLOAD_BYTES
    if len(data) > limit:
        raise SourceError(
            f"{name} is {len(data):,} bytes; the limit is {limit:,} bytes for {kind} files — "
            "split it into smaller files"
        )
    extracted = extract(data, name, max_bytes=limit)
    if not any(ch.isalnum() for ch in extracted.text):
        raise SourceError(f"{name} holds no text; add some sentences and upload it again")
    return extracted


@dataclass(frozen=True)
class DocumentInfo:
    """One indexed document as the documents panel lists it."""

    name: str
    sentences: int
    #: The workspace file name if it was uploaded from the page, else "".
    file: str
    added_at: str


@dataclass(frozen=True)
class Change:
    """The outcome of adding or removing documents."""

    message: str
    index: Index


class Workspace:
    """The uploaded documents on disk. All workspace file I/O goes through here."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.documents_dir = self.root / DOCUMENTS_DIR
        self.index_dir = self.root / INDEX_DIR

    def names(self) -> list[str]:
        """Names of the uploaded documents, sorted."""
        if not self.documents_dir.is_dir():
            return []
        return sorted(
            p.name
            for p in self.documents_dir.iterdir()
            if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in SUPPORTED_SUFFIXES
        )

    def paths(self) -> list[str]:
        """Absolute paths of the uploaded documents, in :meth:`names` order."""
        return [str((self.documents_dir / name).resolve()) for name in self.names()]

    def added_at(self, name: str) -> str:
        """When ``name`` was stored (UTC, ISO minutes), or "" if it is not there."""
        try:
            mtime = (self.documents_dir / name).stat().st_mtime
        except OSError:
            return ""
        return datetime.fromtimestamp(mtime, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

    def read(self, name: str) -> bytes | None:
        """The stored bytes of ``name`` (None if absent)."""
        try:
            return (self.documents_dir / safe_document_name(name)).read_bytes()
        except (OSError, SourceError):
            return None

    def write(self, name: str, data: bytes) -> None:
        """Store ``data`` as ``name`` atomically (temp file, fsync, os.replace)."""
        atomic_write_bytes(self.documents_dir / safe_document_name(name), data)

    def delete(self, name: str) -> None:
        """Remove ``name`` (no error if it is already gone)."""
        with contextlib.suppress(FileNotFoundError):
            (self.documents_dir / safe_document_name(name)).unlink()

    def read_upload(self, path: str | os.PathLike[str]) -> bytes:
        """Read an uploaded temp file, refusing anything over the size limit without reading it all."""
        path = Path(path)
        try:
            size = path.stat().st_size
            if size > MAX_UPLOAD_BYTES:
                raise SourceError(
                    f"{path.name} is {size:,} bytes; the limit is {MAX_UPLOAD_BYTES:,} bytes — "
                    "split it into smaller files"
                )
            return path.read_bytes()
        except OSError as exc:
            raise SourceError(f"{path.name}: the upload could not be read ({exc.strerror}); try again") from None


def default_build_embedder(model: str) -> Embedder:
    """A separate embedder for rebuilds, so queries never wait for a rebuild's encoding.

    Made by the same factory and default backend as ``citeqa build`` (``$CITEQA_BACKEND``,
    else ONNX int8), so an upload is embedded as fast and into the same vector space as a
    build from the command line.
    """
    return new_embedder(model or None)


def stage_reporter(report: Progress, documents: int):  # type: ignore[no-untyped-def]
    """Turn the build's ``(stage, done, total)`` reports into ``(fraction, message)`` ones:
    reading and segmenting up to 15%, embedding 15-85% by sentences, indexing to 95%."""

    def on_stage(stage: str, done: int, total: int) -> None:
        if stage == "reading":
            report(0.08, f"Reading {documents} document{'s' if documents != 1 else ''}")
        elif stage == "segmenting":
            report(0.12, "Splitting the documents into sentences")
        elif stage == "embedding":
            report(0.15 + 0.7 * done / max(total, 1), f"Embedding sentences: {done:,} of {total:,}")
        elif stage == "indexing":
            report(0.88, f"Indexing {total:,} sentences (vectors and keywords)")

    return on_stage


class Library:
    """What the server answers from, and how documents are added to or removed from it.

    Args:
        base: The index served while nothing was uploaded (its sources are part of
            every workspace index).
        workspace: The workspace folder.
        build_embedder: Makes the embedder used for rebuilds, given the model name.
    """

    def __init__(
        self,
        base: LiveIndex,
        workspace: Workspace,
        build_embedder: Callable[[str], Embedder] = default_build_embedder,
    ) -> None:
        self.base = base
        self.workspace = workspace
        self._make_embedder = build_embedder
        self._embedder: Embedder | None = None
        self._change_lock = threading.Lock()
        self._live: LiveIndex = base
        if workspace.names():
            self._live = self._open_workspace_index()

    # ------------------------------------------------------------------ serving

    def get(self) -> Index:
        """The index to answer from now."""
        return self._live.get()

    @property
    def busy(self) -> bool:
        """True while documents are being added or removed."""
        return self._change_lock.locked()

    def base_sources(self) -> list[str]:
        """Sources of the base index (the shipped article by default)."""
        return [str(s["path"]) for s in self.base.get().manifest.get("sources", [])]

    def base_names(self) -> set[str]:
        """Document ids of the base index (uploads may not reuse them)."""
        return {d.doc_id for d in self.base.get().documents}

    def documents(self) -> list[DocumentInfo]:
        """The documents of the serving index, with sentence counts."""
        index = self.get()
        counts = index.sentence_counts()
        uploaded = set(self.workspace.paths())
        infos = []
        for d in index.documents:
            file = Path(d.path).name if d.path in uploaded else ""
            infos.append(
                DocumentInfo(
                    name=d.doc_id,
                    sentences=counts.get(d.doc_id, 0),
                    file=file,
                    added_at=self.workspace.added_at(file) if file else "",
                )
            )
        return infos

    # ------------------------------------------------------------------ changing

    def add(self, uploads: Sequence[tuple[str, str | os.PathLike[str]]], progress: Progress | None = None) -> Change:
        """Check and store uploaded files, rebuild, and serve the new index.

        Args:
            uploads: ``(original name, temp path)`` pairs.
            progress: Called with ``(fraction, message)`` as the work proceeds.

        Raises:
            SourceError: a file is refused (type, size, encoding, name); nothing is changed.
        """
        report = progress or (lambda fraction, message: None)
        if not uploads:
            raise SourceError(f"no file was uploaded; choose {ACCEPTED} files")
        with self._change_lock, folder_lock(self.workspace.root, CHANGE_LOCK):
            report(0.02, "Checking the files")
            staged: dict[str, bytes] = {}
            taken = self.base_names()
            for original, path in uploads:
                name = safe_document_name(original)
                if name in taken:
                    raise SourceError(f"{name} is already a document of the base index; rename the file and upload it again")
                data = self.workspace.read_upload(path)
                check_document(name, data)
                staged[name] = data
            total = len(set(self.workspace.names()) | set(staged))
            if total > MAX_DOCUMENTS:
                raise SourceError(
                    f"a workspace holds at most {MAX_DOCUMENTS} documents ({total} asked); remove some first"
                )
            previous = {name: self.workspace.read(name) for name in staged}
            for name, data in staged.items():
                self.workspace.write(name, data)
            try:
                index = self._rebuild(report)
            except BaseException:
                for name, data in previous.items():  # put back exactly what was there
                    if data is None:
                        self.workspace.delete(name)
                    else:
                        self.workspace.write(name, data)
                raise
            names = ", ".join(sorted(staged))
            return Change(f"Added {names}. {self._summary(index)}", index)

    def remove(self, name: str, progress: Progress | None = None) -> Change:
        """Remove an uploaded document, rebuild, and serve the new index.

        Raises:
            SourceError: ``name`` is not an uploaded document; nothing is changed.
        """
        report = progress or (lambda fraction, message: None)
        with self._change_lock, folder_lock(self.workspace.root, CHANGE_LOCK):
            if not name or name not in self.workspace.names():
                raise SourceError(f"{name or '(none)'} is not an uploaded document; choose one from the list")
            data = self.workspace.read(name)
            self.workspace.delete(name)
            try:
                index = self._rebuild(report)
            except BaseException:
                if data is not None:
                    self.workspace.write(name, data)
                raise
            return Change(f"Removed {name}. {self._summary(index)}", index)

    def _rebuild(self, report: Progress) -> Index:
        if not self.workspace.names():
            report(0.9, "Switching back to the base index")
            self._live = self.base
            return self.base.get()
        report(0.05, "Loading the embedding model")
        embedder = self._build_embedder()
        # the base index's URLs are taken as it fetched them: a rebuild never goes online
        fetched = [d for d in self.base.get().documents if is_url(d.path)]
        sources = [s for s in self.base_sources() if not is_url(s)] + self.workspace.paths()
        build_index(
            sources,
            self.workspace.index_dir,
            embedder=embedder,
            progress=stage_reporter(report, len(sources) + len(fetched)),
            documents=fetched,
        )
        report(0.95, "Switching to the new index")
        if self._live is self.base:
            self._live = LiveIndex(self.workspace.index_dir)
        fresh = self._live.get()
        log.info("workspace index rebuilt: %s", fresh.path)
        return fresh

    def _build_embedder(self) -> Embedder:
        if self._embedder is None:
            model = str(self.base.get().manifest.get("model", ""))
            self._embedder = self._make_embedder(model)
        return self._embedder

    def _open_workspace_index(self) -> LiveIndex:
        """Serve the workspace index, rebuilding it first if it is missing or out of date."""
        try:
            live = LiveIndex(self.workspace.index_dir)
            indexed = {d.doc_id for d in live.get().documents}
            if indexed == self.base_names() | set(self.workspace.names()):
                return live
            log.warning("workspace index at %s does not match its documents; rebuilding", self.workspace.index_dir)
        except CiteqaError as exc:
            log.warning("rebuilding the workspace index: %s", exc)
        self._live = self.base
        self._rebuild(lambda fraction, message: None)
        return self._live

    @staticmethod
    def _summary(index: Index) -> str:
        n = len(index.documents)
        return f"The chat now answers from the new index ({n} document{'s' if n != 1 else ''}, {len(index):,} sentences)."
