"""The module-level API and the default-index policy: which index answers, and when it is rebuilt.

Sits above both sides of an index — :mod:`citeqa.build` (making one) and
:mod:`citeqa.index` (querying one) — so they never import each other: here
:func:`build_index` builds then loads, the default index is rebuilt when the shipped
article changes, and :class:`LiveIndex` swaps in a rebuilt index for a running server.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from . import build
from .config import default_index_path
from .embed import Embedder, get_embedder
from .errors import (
    CiteqaError,
    IncompatibleIndexError,
    IndexNotFoundError,
    InvalidArgumentError,
    StaleIndexError,
)
from .index import Index
from .ingest.sources import default_source
from .schema import Answer, Document, Hit
from .store.read import pointer_mtime
from .store.verify import recorded_sources

log = logging.getLogger("citeqa")


def build_index(
    sources: Iterable[str | os.PathLike[str]] | None,
    out: str | os.PathLike[str],
    *,
    model: str | None = None,
    embedder: Embedder | None = None,
    backend: str | None = None,
    index_type: str = "auto",
    incremental: bool = True,
    show_progress: bool = False,
    batch_size: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    documents: Sequence[Document] = (),
    doc_ids: Mapping[str, str] | None = None,
) -> Index:
    """Build an index from files and folders, make it the live version of ``out``, and open it.

    Args:
        sources: Files (text, Markdown, HTML, PDF), folders (read recursively) and
            http(s) URLs (fetched now); None means the shipped article.
        out: The index folder. An existing index there is replaced atomically.
        model: A sentence-transformers model path or name (default: bundled MiniLM).
        embedder: Use this embedder instead of loading ``model``.
        backend: Embedding backend when no ``embedder`` is given (see
            :data:`citeqa.embed.BACKENDS`; default "auto": ONNX int8, torch as fallback).
        index_type, incremental, show_progress, batch_size, progress, documents, doc_ids: See
            :func:`citeqa.build.build`.

    Returns:
        The new index, loaded back from disk and verified.

    Raises:
        SourceError: a source is missing, unreadable, unsupported, cannot be extracted or
            fetched, or no sentence was found.
        InvalidArgumentError: an unknown backend or index type.
    """
    build.check_options(index_type, batch_size)
    embedder = embedder or get_embedder(model, backend)
    build.build(
        sources,
        out,
        embedder=embedder,
        index_type=index_type,
        incremental=incremental,
        show_progress=show_progress,
        batch_size=batch_size,
        progress=progress,
        documents=documents,
        doc_ids=doc_ids,
    )
    # the sources were hashed when read moments ago; a later change shows at the next load
    return Index.load(out, embedder=embedder, check_stale=False)


def open_default_index(path: Path | None = None) -> Index:
    """Load the default index, rebuilding it when it is missing or the shipped article changed.

    Only an index built from the shipped article alone is rebuilt automatically;
    any other problem is raised.
    """
    path = path or default_index_path()
    try:
        return Index.load(path)
    except IndexNotFoundError:
        log.warning("no index at %s yet; building it from the shipped article", path)
    except (StaleIndexError, IncompatibleIndexError) as exc:
        if recorded_sources(path) != [default_source()]:
            raise
        log.warning("rebuilding the default index at %s: %s", path, exc)
    return build_index(None, path)


_default: Index | None = None


_default_lock = threading.Lock()


def default_index() -> Index:
    """The default index, loaded once per process (see :func:`open_default_index`)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = open_default_index()
        return _default


def resolve_index(index: Index | str | os.PathLike[str] | None) -> Index:
    """An :class:`Index` from an Index, a path, or None (the default index)."""
    if index is None:
        return default_index()
    if isinstance(index, Index):
        return index
    if isinstance(index, (str, os.PathLike)):
        return Index.load(index)
    raise InvalidArgumentError(f"index must be an Index, a path or None, got {type(index).__name__}")


def retrieve(question: str, k: int = 5, index: Index | str | os.PathLike[str] | None = None) -> list[Hit]:
    """The ``k`` sentences most relevant to ``question`` (default index when None)."""
    return resolve_index(index).retrieve(question, k)


def answer(
    question: str,
    history: Sequence[Mapping[str, Any]] | None = None,
    index: Index | str | os.PathLike[str] | None = None,
) -> Answer:
    """Answer ``question`` from the documents, citing their sentences (default index when None)."""
    return resolve_index(index).answer(question, history)


class LiveIndex:
    """The index a long-running server answers from, swapped when a rebuild lands.

    Each :meth:`get` does one ``stat`` of the index's pointer file; when it changed,
    the new version is loaded and verified *before* it replaces the old one. If it
    fails to load, the last good index keeps serving and the problem is logged.
    Loaded indexes are never mutated, so requests in flight are unaffected.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, check_stale: bool = True) -> None:
        self._path = Path(path) if path is not None else default_index_path()
        self._is_default = path is None
        self._check_stale = check_stale  # False: the index's own texts are served even if a source changed
        self._lock = threading.Lock()
        self._index = (
            open_default_index(self._path) if self._is_default else Index.load(self._path, check_stale=check_stale)
        )
        self._seen = pointer_mtime(self._path)

    @property
    def path(self) -> Path:
        """The index folder being served."""
        return self._path

    def get(self) -> Index:
        """The newest good index (reloading first if the pointer changed)."""
        current = pointer_mtime(self._path)
        if current == self._seen:
            return self._index
        with self._lock:
            if current != self._seen:
                try:
                    try:
                        fresh = Index.load(self._path, embedder=self._index.embedder, check_stale=self._check_stale)
                    except IncompatibleIndexError:  # rebuilt with another model or backend
                        fresh = Index.load(self._path, check_stale=self._check_stale)
                        _ = fresh.embedder  # load its query embedder before it serves
                except CiteqaError as exc:
                    log.error("keeping the index that was serving; reload failed: %s", exc)
                else:
                    log.info("now serving %s", fresh.path)
                    self._index = fresh
                self._seen = current
            return self._index
