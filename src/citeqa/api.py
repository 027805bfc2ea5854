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
import time
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
from .store.milvus import is_milvus_address
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
    ray: bool | str = False,
) -> Index:
    """Build an index from files and folders, make it the live version of ``out``, and open it.

    Args:
        sources: Files (text, Markdown, HTML, PDF), folders (read recursively) and
            http(s) URLs (fetched now); None means the shipped article.
        out: The index folder, or a Milvus store address (``milvus://HOST:PORT/COLLECTION`` or
            ``milvus-lite:PATH.db[#COLLECTION]``; ``pip install 'citeqa[milvus]'``). An existing
            index there is replaced atomically (in Milvus: a new collection, then an alias switch).
        model: A sentence-transformers model path or name (default: bundled MiniLM).
        embedder: Use this embedder instead of loading ``model``.
        backend: Embedding backend when no ``embedder`` is given (see
            :data:`citeqa.embed.BACKENDS`; default "auto": ONNX int8, torch as fallback).
        index_type, incremental, show_progress, batch_size, progress, documents, doc_ids: See
            :func:`citeqa.build.build`.
        ray: Build with Ray Data (``pip install 'citeqa[ray]'``, :mod:`citeqa.build_ray`): True
            connects to ``$RAY_ADDRESS`` or starts Ray on this machine; a string is the Ray
            cluster's address. A Ray build embeds every sentence (``incremental`` and
            ``show_progress`` do not apply).

    Returns:
        The new index, loaded back from disk and verified.

    Raises:
        SourceError: a source is missing, unreadable, unsupported, cannot be extracted or
            fetched, or no sentence was found.
        InvalidArgumentError: an unknown backend or index type.
    """
    build.check_options(index_type, batch_size, out)
    embedder = embedder or get_embedder(model, backend)
    if ray is not False:
        from . import build_ray

        build_ray.build(
            sources,
            out,
            embedder=embedder,
            address=ray if isinstance(ray, str) else None,
            index_type=index_type,
            batch_size=batch_size,
            progress=progress,
            documents=documents,
            doc_ids=doc_ids,
        )
        return Index.load(out, embedder=embedder, check_stale=False)
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


def retrieve(
    question: str, k: int = 5, index: Index | str | os.PathLike[str] | None = None, *, documents: Sequence[str] | None = None
) -> list[Hit]:
    """The ``k`` sentences most relevant to ``question`` (default index when None; only of the
    documents named ``documents`` when given)."""
    return resolve_index(index).retrieve(question, k, documents=documents)


def answer(
    question: str,
    history: Sequence[Mapping[str, Any]] | None = None,
    index: Index | str | os.PathLike[str] | None = None,
    *,
    documents: Sequence[str] | None = None,
) -> Answer:
    """Answer ``question`` from the documents, citing their sentences (default index when None;
    only from the documents named ``documents``, their ``doc_id``, when given)."""
    return resolve_index(index).answer(question, history, documents=documents)


class LiveIndex:
    """The index a long-running server answers from, swapped when a rebuild lands.

    Each :meth:`get` does one ``stat`` of the index's pointer file; when it changed,
    the new version is loaded and verified *before* it replaces the old one. If it
    fails to load, the last good index keeps serving and the problem is logged.
    Loaded indexes are never mutated, so requests in flight are unaffected.
    """

    #: A Milvus store is asked which version is live at most this often (seconds): it is a round trip.
    REMOTE_CHECK_INTERVAL = 1.0

    def __init__(self, path: str | os.PathLike[str] | None = None, *, check_stale: bool = True) -> None:
        self._remote = is_milvus_address(path)
        self._path: Path | str = str(path) if self._remote else (Path(path) if path is not None else default_index_path())
        self._is_default = path is None
        self._check_stale = check_stale  # False: the index's own texts are served even if a source changed
        self._lock = threading.Lock()
        self._index = (
            open_default_index(Path(self._path))
            if self._is_default
            else Index.load(self._path, check_stale=check_stale)
        )
        self._checked = time.monotonic()
        self._seen: object = None
        self._seen = self._marker()

    @property
    def path(self) -> Path | str:
        """The index folder (or Milvus store address) being served."""
        return self._path

    def _marker(self) -> object:
        """What changes when a rebuild lands: the pointer's mtime, or the version a Milvus alias names."""
        if not self._remote:
            return pointer_mtime(Path(self._path))
        try:
            return self._index.store.live_version()
        except CiteqaError as exc:
            log.error("cannot ask %s which version is live: %s", self._path, exc)
            return self._seen

    def warm_up(self) -> threading.Thread:
        """Load the query embedder and embed one text in the background, so that the first
        question does not wait for it: a fresh install exports the model to ONNX on first use
        (:mod:`citeqa.embed.onnx`), 9.8 s on this 2-core machine against 0.8 s for the whole
        first ``citeqa ask`` once it is cached. A problem is only logged: the first question
        meets it again and says it in words."""

        def run() -> None:
            try:
                self.get().embedder.encode(["warm up"])
            except Exception as exc:  # noqa: BLE001 - a background convenience must not die loudly
                log.warning("could not prepare the embedding model in advance: %s", exc)

        thread = threading.Thread(target=run, name="citeqa-warm-up", daemon=True)
        thread.start()
        return thread

    def get(self) -> Index:
        """The newest good index (reloading first if the pointer changed)."""
        if self._remote:
            if time.monotonic() - self._checked < self.REMOTE_CHECK_INTERVAL:
                return self._index
            self._checked = time.monotonic()
        current = self._marker()
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
