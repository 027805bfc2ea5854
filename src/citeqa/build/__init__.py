"""The build: sources → sentences → vectors → the index files (and the corpus-wide arrays ranking reads).

Owns every step of making an index: read the documents (:mod:`citeqa.ingest`), reuse the
sentences and vectors of unchanged documents, segment and embed the rest
(:mod:`citeqa.embed`) in overlapped stages (:mod:`citeqa.build.pipeline`), compute the
corpus-wide context (:mod:`citeqa.build.context`) and hand it all to :mod:`citeqa.store`
to write atomically; progress bars are :mod:`citeqa.build.progress`. Never opens an
:class:`citeqa.Index` (the query side); the public ``citeqa.build_index`` in
:mod:`citeqa.api` builds here, then loads.
"""

from __future__ import annotations

import ctypes
import dataclasses
import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from ..embed import Embedder
from ..embed.passage import EMBEDDING_TEXT
from ..embed.wordpieces import piece_ids
from ..errors import CiteqaError, IndexNotFoundError, InvalidArgumentError, SourceError
from ..fsutil import refuse_file_in_the_way
from ..ingest.segment import segmenter_info
from ..ingest.sources import read_documents
from ..schema import Document
from ..search.candidates import soft_word_ids
from ..store.format import is_index_folder
from ..store.milvus import is_milvus_address, parse_address
from ..store.milvus import write_index as write_milvus
from ..store.read import load_version
from ..store.vectors import VectorIndex, build_vector_index, check_index_type
from ..store.write import write_version
from ..text import TOKENIZER_NAME, TOKENIZER_VERSION
from .context import (
    ContextArrays,
    Lexical,
    context_arrays,
    group_means,
    lexical_arrays,
    mean_vectors,
)
from .copies import log_copies
from .pipeline import Background, Key, segment_and_embed
from .progress import StageBars

log = logging.getLogger("citeqa")

__all__ = ["ContextArrays", "build", "check_options", "context_arrays", "group_means", "write_index"]


def _previous_build(out: Path, embedder: Embedder) -> tuple[dict[Key, tuple[np.ndarray, np.ndarray, str]], str]:
    """Sentences, vectors and text of the live index at ``out`` per (doc_id, sha256, extractor), if reusable.

    Reusable means: same vector space, the same segmenter and the same texts embedded for
    its sentences (:data:`citeqa.embed.passage.EMBEDDING_TEXT`); and its stored vectors
    verify. Anything else (no index, another model, damage) means an empty map and a reason.
    """
    try:
        stored = load_version(out, check_stale=False)
    except IndexNotFoundError:
        return {}, "first build"
    except CiteqaError as exc:
        return {}, f"the previous index is unusable ({exc})"
    manifest = stored.manifest
    if manifest.get("vector_space") != embedder.space or manifest.get("segmenter") != segmenter_info():
        return {}, "the previous index used another model or segmenter"
    if manifest.get("embedding_text") != EMBEDDING_TEXT:
        return {}, "the previous index embedded other texts for its sentences"
    vectors = stored.embeddings()
    if vectors is None:
        return {}, "the previous index has no usable stored vectors"
    rows = np.asarray(stored.sentences)
    order = np.argsort(rows[:, 0], kind="stable")
    bounds = np.searchsorted(rows[order, 0], np.arange(len(stored.documents) + 1))
    found: dict[Key, tuple[np.ndarray, np.ndarray, str]] = {}
    for number, key in enumerate(stored.documents.keys()):
        picked = order[bounds[number] : bounds[number + 1]]
        found[key] = (rows[picked], vectors[picked], stored.documents[number].text)
    return found, "ok"


def _rename(documents: list[Document], doc_ids: Mapping[str, str]) -> list[Document]:
    """Apply explicit document names (by recorded path); names must stay unique."""
    if not doc_ids:
        return documents
    renamed = [dataclasses.replace(d, doc_id=doc_ids.get(d.path, d.doc_id)) for d in documents]
    seen: set[str] = set()
    for document in renamed:
        if document.doc_id in seen:
            raise SourceError(f"two sources are both named {document.doc_id!r}; give each a distinct name")
        seen.add(document.doc_id)
    return renamed


def check_options(index_type: str, batch_size: int | None, out: str | os.PathLike[str] | None = None) -> None:
    """Refuse a bad index type, batch size, store address or index folder before anything slow (reading, loading a model) starts."""
    check_index_type(index_type)
    if out is not None and is_milvus_address(out):
        parse_address(str(out))
        if index_type not in ("auto", "flat"):
            raise InvalidArgumentError(
                f"index_type {index_type!r} is for the local FAISS index; a Milvus store is built with an "
                f"exact (FLAT) index: leave index_type at 'auto' or 'flat'"
            )
    elif out is not None:
        check_index_folder(Path(out))
    if batch_size is not None and batch_size <= 0:
        raise InvalidArgumentError(f"batch_size must be > 0, got {batch_size}")


def check_index_folder(folder: Path) -> None:
    """Refuse an index folder that cannot be one: it, or a folder it would be made in, is a file."""
    refuse_file_in_the_way(folder, "index folder", "give the index a folder of its own (it is made if missing)")


def build(
    sources: Iterable[str | os.PathLike[str]] | None,
    out: str | os.PathLike[str],
    *,
    embedder: Embedder,
    index_type: str = "auto",
    incremental: bool = True,
    show_progress: bool = False,
    batch_size: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    documents: Sequence[Document] = (),
    doc_ids: Mapping[str, str] | None = None,
) -> Path | str:
    """Build an index from files and folders and make it the live version of ``out``.

    Args:
        sources: Files (text, Markdown, HTML, PDF; the format is read from the content),
            folders (read recursively; other files are skipped and logged) and http(s)
            URLs (fetched now). None means the shipped article.
        out: The index folder, or a Milvus store address (``milvus://HOST:PORT/COLLECTION``,
            ``milvus-lite:PATH.db[#COLLECTION]``). An existing index there is replaced atomically.
        embedder: Embeds the sentences (and is recorded as the index's query embedder).
        index_type: "auto" (exact below 100k sentences, HNSW above), "flat", "hnsw-sq8"
            or "ivf-sq8" (see :mod:`citeqa.store.vectors`).
        incremental: Reuse the sentences and vectors of documents unchanged since the
            live index at ``out`` was built (same content hash, model and segmenter).
        show_progress: Show one progress bar per stage on stderr (:mod:`citeqa.build.progress`).
        batch_size: Sentences per embedding batch (default: the embedder's own).
        progress: Called (from this thread only) with ``(stage, done, total)`` as each stage
            starts and advances: "reading" (sources), "segmenting" (documents), "embedding"
            (sentences embedded so far, sentences found to embed so far: documents are
            segmented while earlier ones are embedded, so the total can grow until
            segmenting is done), "indexing" (0 then all sentences, when written).
        documents: Documents already read, indexed as they are after those of
            ``sources`` (e.g. a served index's fetched URLs, so a rebuild stays offline).
            With ``documents`` and no ``sources``, only they are indexed.
        doc_ids: Document names to use instead of the derived ones, by source path as
            recorded (resolved path, or ``package:NAME``): keeps names stable when
            sources from several folders are indexed together (the chat's workspace).

    Returns:
        The index folder or the store address (open it with :meth:`citeqa.Index.load`).

    Raises:
        SourceError: a source is missing, unreadable, not UTF-8, unsupported, cannot be
            extracted or fetched, or no sentence was found.
        InvalidArgumentError: an unknown index type or a bad batch size.
    """
    check_options(index_type, batch_size, out)
    bars = StageBars() if show_progress else None
    reporters = [r for r in (bars, progress) if r is not None]

    def report(stage: str, done: int, total: int) -> None:
        for reporter in reporters:
            reporter(stage, done, total)

    try:
        return _build(sources, out, embedder, index_type, incremental, batch_size, report, documents, doc_ids or {})
    finally:
        if bars is not None:
            bars.close()


def _build(
    sources: Iterable[str | os.PathLike[str]] | None,
    out: str | os.PathLike[str],
    embedder: Embedder,
    index_type: str,
    incremental: bool,
    batch_size: int | None,
    report: Callable[[str, int, int], None],
    documents: Sequence[Document],
    doc_ids: Mapping[str, str],
) -> Path | str:
    sources = list(sources) if sources is not None else []
    given = list(documents)
    report("reading", 0, len(sources) + len(given))
    # an index kept among the documents (citeqa build docs/ --index docs/index) is no source
    documents = _rename(read_documents(sources, skip_folder=is_index_folder) if sources or not given else [], doc_ids) + given
    report("reading", len(sources) + len(given), len(sources) + len(given))
    names = [d.doc_id for d in documents]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise SourceError(f"two sources are both named {twice[0]!r}; give each a distinct name")
    if is_milvus_address(out):  # a Milvus store keeps no reusable vectors: embed everything
        previous, why = {}, "a Milvus store embeds every sentence at each build"
    else:
        out = Path(out)
        previous, why = _previous_build(out, embedder) if incremental else ({}, "a full rebuild was asked for")
    if incremental and why not in ("ok", "first build"):
        log.info("embedding every sentence: %s", why)
    segmented = segment_and_embed(
        documents, previous, embedder, report=report, batch_size=batch_size, compact=index_type != "flat" and not is_milvus_address(out)
    )
    if segmented.reused_documents:
        count = segmented.reused_documents
        log.info("reusing the sentences and vectors of %d unchanged document%s", count, "" if count == 1 else "s")
    log_copies(documents, segmented.rows, segmented.texts)  # a print page, a file saved twice
    total = len(segmented.texts)
    report("indexing", 0, total)
    write_index(
        out, documents, segmented.rows, segmented.texts, segmented.vectors, embedder,
        index_type=index_type, lexical=segmented.lexical,
    )
    report("indexing", total, total)
    return out if isinstance(out, Path) else str(out)


def _give_back_freed_memory() -> None:
    """Return the memory this thread's malloc arena holds free to the system (glibc's
    ``malloc_trim``; nothing elsewhere): another thread's allocations can't reuse it."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def write_index(
    out: str | os.PathLike[str],
    documents: Sequence[Document],
    rows: np.ndarray,
    texts: Sequence[str],
    vectors: np.ndarray,
    embedder: Embedder,
    *,
    index_type: str = "auto",
    lexical: Lexical | None = None,
) -> None:
    """Write segmented, embedded documents as the live index of ``out`` (the last build step).

    Args:
        out: The index folder or a Milvus store address.
        documents: The documents, in order.
        rows: int64 ``(n, 4)``: document number, start, end, paragraph id per sentence.
        texts: The sentence texts (``documents[d].text[start:end]``), for BM25.
        vectors: ``(n, dim)`` unit vectors made by ``embedder`` (float32, or float16 for a
            large corpus: read block by block, never copied whole to float32).
        embedder: The embedder that made ``vectors`` (recorded in the manifest; embeds queries).
        index_type: See :func:`build`.
        lexical: The sentences' BM25 and vocabulary if already computed
            (:func:`citeqa.build.context.lexical_arrays`; when None, computed here while a
            thread builds the vector index: :class:`citeqa.build.pipeline.Background`).
    """
    info = {
        "model": embedder.model_name,
        "backend": embedder.backend,
        "dimension": embedder.dim,
        "vector_space": embedder.space,
        "embedding_text": EMBEDDING_TEXT,
        "metric": "inner_product",
        "segmenter": segmenter_info(),
        "tokenizer": {"name": TOKENIZER_NAME, "version": TOKENIZER_VERSION, "bm25": "bm25s lucene k1=1.2 b=0.75"},
    }
    if is_milvus_address(out):
        paragraph_vectors, document_vectors = mean_vectors(rows, vectors, len(documents))
        lexical = lexical_arrays(rows, texts) if lexical is None else lexical
        write_milvus(
            str(out),
            documents=documents,
            rows=rows,
            texts=texts,
            vectors=vectors,
            info=info,
            paragraph_vectors=paragraph_vectors,
            document_vectors=document_vectors,
            paragraph_bm25=lexical.paragraph_bm25,
            vocabulary=lexical.vocabulary,
        )
        return
    pieces = piece_ids()
    info["word_pieces"] = pieces.digest  # the table the stored word-piece ids are rows of
    # FAISS builds the vector index in a thread (the longest part of a large build) while
    # this one indexes the words, then computes the mean vectors (their float32 temporaries
    # and the words' never coexist), then writes every other file of the version, the
    # FAISS index last (write_version waits for it): the mean vectors and most of the
    # writing leave the build's critical path, and the BM25 postings are read from their
    # files from then on (~210 MB less held while the index is finished: at a million
    # sentences the peak was the FAISS index's codes next to them). The words'
    # temporaries stay this thread's: glibc gives each thread its own malloc arena, and at
    # a million sentences indexing them in the other thread held ~300 MB more at the peak
    faiss_thread = Background("citeqa-build-vectors", build_vector_index, vectors, index_type)
    faiss_thread.start()
    try:
        if lexical is None:
            lexical = lexical_arrays(rows, texts)
            _give_back_freed_memory()  # the words' temporaries, before the graph grows in the other thread
        paragraph_vectors, document_vectors = mean_vectors(rows, vectors, len(documents))
        # stored as float16: held so from here on (half of 2 x 77 MB at a million sentences)
        paragraph_vectors, document_vectors = paragraph_vectors.astype(np.float16), document_vectors.astype(np.float16)
        _give_back_freed_memory()  # their float32 temporaries
    except BaseException:
        faiss_thread.join()  # no FAISS work left running behind the error
        raise

    def vector_index() -> object:
        built = faiss_thread.result()
        assert isinstance(built, VectorIndex)
        info["faiss_index"] = built.info["factory"]
        info["faiss"] = built.info
        return built.index

    try:
        write_version(
            Path(out),
            documents=documents,
            sentences=rows,
            vectors=vector_index,
            bm25=lexical.bm25,
            paragraph_bm25=lexical.paragraph_bm25,
            paragraph_vectors=paragraph_vectors,
            document_vectors=document_vectors,
            vocabulary=lexical.vocabulary,
            info=info,
            embeddings=vectors,
            release=True,
            # the reranker's length feature, read per candidate instead of slicing its text
            word_counts=np.fromiter((len(text.split()) for text in texts), dtype=np.int32, count=len(texts)),
            # soft coverage's words, read per candidate instead of made from its text
            word_pieces=soft_word_ids(texts, pieces),
        )
    finally:
        faiss_thread.join()  # a write that failed leaves no FAISS work running behind it
