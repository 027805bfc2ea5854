"""The build: sources → sentences → vectors → the index files (and the corpus-wide arrays ranking reads).

Owns every step of making an index: read and segment the documents (:mod:`citeqa.ingest`),
reuse the sentences and vectors of unchanged documents, embed the rest
(:mod:`citeqa.embed`), compute the corpus-wide context (paragraph BM25, paragraph and
document mean vectors, the focus vocabulary) and hand it all to :mod:`citeqa.store` to
write atomically. Never opens an :class:`citeqa.Index` (the query side); the public
``citeqa.build_index`` in :mod:`citeqa.api` builds here, then loads.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .answer.focus import Vocabulary
from .embed import Embedder
from .errors import CiteqaError, IndexNotFoundError, InvalidArgumentError, SourceError
from .ingest.segment import paragraph_numbers, segment_document, segmenter_info
from .ingest.sources import read_documents
from .schema import Document
from .store.lexical import BM25Index
from .store.milvus import is_milvus_address, parse_address
from .store.milvus import write_index as write_milvus
from .store.read import load_version
from .store.vectors import build_vector_index, check_index_type
from .store.write import write_version
from .text import TOKENIZER_NAME, TOKENIZER_VERSION, tokenize

#: Sentences embedded between two progress reports (when a ``progress`` callback is given).
PROGRESS_SLICE = 256

log = logging.getLogger("citeqa")


@dataclass(frozen=True)
class ContextArrays:
    """The corpus-wide context ranking reads, computed once when an index is built.

    Attributes:
        paragraph_bm25: BM25 over whole paragraphs (numbered by
            :func:`citeqa.ingest.segment.paragraph_numbers`).
        paragraph_vectors: float32 ``(paragraphs, dim)`` unit mean vector of each paragraph.
        document_vectors: float32 ``(documents, dim)`` unit mean vector of each document
            (zeros for a document without sentences).
        vocabulary: The corpus's surface words and names (:meth:`Vocabulary.word_lists`),
            for the abstention's focus check.
    """

    paragraph_bm25: BM25Index
    paragraph_vectors: np.ndarray
    document_vectors: np.ndarray
    vocabulary: dict[str, list[str]]


def group_means(vectors: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Unit-length mean of each run of rows ``vectors[starts[i]:starts[i + 1]]``.

    Args:
        vectors: ``(n, dim)`` vectors whose groups are contiguous runs of rows.
        starts: Sorted first row of each group (the first is 0).

    Returns:
        float32 ``(len(starts), dim)``; a group summing to zero stays zero.
    """
    if not len(starts):
        return np.zeros((0, vectors.shape[1]), dtype=np.float32)
    sums = np.add.reduceat(np.asarray(vectors, dtype=np.float32), np.asarray(starts, dtype=np.int64), axis=0)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (sums / norms).astype(np.float32)


def context_arrays(
    rows: np.ndarray, texts: Sequence[str], tokens: Sequence[Sequence[str]], vectors: np.ndarray, documents: int
) -> ContextArrays:
    """Compute the :class:`ContextArrays` of an index being built.

    Args:
        rows: int64 ``(n, 4)``: document number, start, end, paragraph id per sentence.
        texts: Each sentence's text.
        tokens: Each sentence's BM25 tokens (:func:`citeqa.text.tokenize`).
        vectors: float32 ``(n, dim)`` unit sentence vectors.
        documents: How many documents the index holds.
    """
    rows = np.asarray(rows, dtype=np.int64).reshape(-1, 4)
    paragraph = paragraph_numbers(rows)
    count = int(paragraph[-1]) + 1 if paragraph.size else 0
    paragraph_starts = np.searchsorted(paragraph, np.arange(count))
    paragraph_tokens: list[list[str]] = [[] for _ in range(count)]
    for row, words in enumerate(tokens):
        paragraph_tokens[int(paragraph[row])].extend(words)
    document_vectors = np.zeros((documents, vectors.shape[1]), dtype=np.float32)
    if rows.shape[0]:
        doc = rows[:, 0]
        doc_starts = np.flatnonzero(np.r_[True, doc[1:] != doc[:-1]])
        document_vectors[doc[doc_starts]] = group_means(vectors, doc_starts)
    return ContextArrays(
        paragraph_bm25=BM25Index.from_tokens(paragraph_tokens),
        paragraph_vectors=group_means(vectors, paragraph_starts),
        document_vectors=document_vectors,
        vocabulary=Vocabulary.from_texts(texts, {t for words in tokens for t in words}).word_lists(),
    )


@dataclass(frozen=True)
class _Segmented:
    """Sentences of the documents to index, and the vectors already known for some."""

    rows: np.ndarray  # int64 (n, 4): document number, start, end, paragraph id
    texts: list[str]
    vectors: np.ndarray  # float32 (n, dim); rows in ``missing`` still to compute
    missing: np.ndarray  # int64 row numbers whose vectors must be computed
    reused_documents: int


_Key = tuple[str, str, str]


def _key(document: Document) -> _Key:
    """What must be unchanged for a document's sentences and vectors to be reused."""
    return (document.doc_id, document.sha256, f"{document.extractor} {document.extractor_version}")


def _previous_build(out: Path, embedder: Embedder) -> tuple[dict[_Key, tuple[np.ndarray, np.ndarray]], str]:
    """Sentences and vectors of the live index at ``out`` per (doc_id, sha256, extractor), if reusable.

    Reusable means: same vector space and the same segmenter; and its stored vectors
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
    vectors = stored.embeddings()
    if vectors is None:
        return {}, "the previous index has no usable stored vectors"
    rows = np.asarray(stored.sentences)
    order = np.argsort(rows[:, 0], kind="stable")
    bounds = np.searchsorted(rows[order, 0], np.arange(len(stored.documents) + 1))
    found: dict[_Key, tuple[np.ndarray, np.ndarray]] = {}
    for number, key in enumerate(stored.documents.keys()):
        picked = order[bounds[number] : bounds[number + 1]]
        found[key] = (rows[picked], vectors[picked])
    return found, "ok"


def _segment(documents: Sequence[Document], previous: Mapping[_Key, tuple[np.ndarray, np.ndarray]], dim: int) -> _Segmented:
    """Segment the documents, taking sentences and vectors of unchanged ones from ``previous``."""
    rows: list[np.ndarray] = []
    vectors: list[np.ndarray] = []
    missing: list[np.ndarray] = []
    texts: list[str] = []
    next_paragraph = 0
    count = 0
    reused = 0
    for number, document in enumerate(documents):
        known = previous.get(_key(document))
        if known is not None:
            old_rows, old_vectors = known
            part = old_rows.copy()
            part[:, 0] = number
            if len(part):
                _, part[:, 3] = np.unique(part[:, 3], return_inverse=True)
                part[:, 3] += next_paragraph
            part_vectors = old_vectors
            reused += 1
        else:
            sentences = segment_document(document, next_paragraph)
            part = np.array(
                [[number, s.start, s.end, s.paragraph_id] for s in sentences], dtype=np.int64
            ).reshape(-1, 4)
            part_vectors = np.zeros((len(sentences), dim), dtype=np.float32)
            missing.append(np.arange(count, count + len(sentences), dtype=np.int64))
        texts.extend(document.text[int(s) : int(e)] for s, e in part[:, 1:3])
        if len(part):
            next_paragraph = int(part[:, 3].max()) + 1
        rows.append(part)
        vectors.append(part_vectors)
        count += len(part)
    return _Segmented(
        rows=np.concatenate(rows) if rows else np.zeros((0, 4), dtype=np.int64),
        texts=texts,
        vectors=np.concatenate(vectors) if vectors else np.zeros((0, dim), dtype=np.float32),
        missing=np.concatenate(missing) if missing else np.zeros(0, dtype=np.int64),
        reused_documents=reused,
    )


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
    """Refuse a bad index type, batch size or store address before anything slow (reading, loading a model) starts."""
    check_index_type(index_type)
    if out is not None and is_milvus_address(out):
        parse_address(str(out))
        if index_type not in ("auto", "flat"):
            raise InvalidArgumentError(
                f"index_type {index_type!r} is for the local FAISS index; a Milvus store is built with an "
                f"exact (FLAT) index: leave index_type at 'auto' or 'flat'"
            )
    if batch_size is not None and batch_size <= 0:
        raise InvalidArgumentError(f"batch_size must be > 0, got {batch_size}")


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
        show_progress: Show a progress bar while embedding.
        batch_size: Sentences per embedding batch (default: the embedder's own).
        progress: Called with ``(stage, done, total)`` as each stage starts and as sentences
            are embedded: "reading" (0, sources), "segmenting" (0, documents), "embedding"
            (sentences embedded so far, sentences to embed), "indexing" (0, sentences).
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
    report = progress or (lambda stage, done, total: None)
    sources = list(sources) if sources is not None else []
    given = list(documents)
    report("reading", 0, len(sources) + len(given))
    documents = _rename(read_documents(sources) if sources or not given else [], doc_ids or {}) + given
    names = [d.doc_id for d in documents]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise SourceError(f"two sources are both named {twice[0]!r}; give each a distinct name")
    if is_milvus_address(out):  # a Milvus store keeps no reusable vectors: embed everything
        previous, why = {}, "a Milvus store embeds every sentence at each build"
    else:
        out = Path(out)
        previous, why = _previous_build(out, embedder) if incremental else ({}, "a full rebuild was asked for")
    report("segmenting", 0, len(documents))
    segmented = _segment(documents, previous, embedder.dim)
    if not segmented.texts:
        raise SourceError("the sources hold no text to index; add some sentences and build again")
    if segmented.reused_documents:
        log.info("reusing the sentences and vectors of %d unchanged documents", segmented.reused_documents)
    elif incremental and why not in ("ok", "first build"):
        log.info("embedding every sentence: %s", why)
    vectors = segmented.vectors
    if segmented.missing.size:
        todo = [segmented.texts[int(i)] for i in segmented.missing]
        sizing = {} if batch_size is None else {"batch_size": batch_size}
        if progress is None:
            vectors[segmented.missing] = embedder.encode(todo, show_progress=show_progress, **sizing)
        else:  # in slices, to say how far it got
            for first in range(0, len(todo), PROGRESS_SLICE):
                report("embedding", first, len(todo))
                part = segmented.missing[first : first + PROGRESS_SLICE]
                vectors[part] = embedder.encode(todo[first : first + PROGRESS_SLICE], **sizing)
            report("embedding", len(todo), len(todo))
    report("indexing", 0, len(segmented.texts))
    write_index(out, documents, segmented.rows, segmented.texts, vectors, embedder, index_type=index_type)
    return out if isinstance(out, Path) else str(out)




def write_index(
    out: str | os.PathLike[str],
    documents: Sequence[Document],
    rows: np.ndarray,
    texts: Sequence[str],
    vectors: np.ndarray,
    embedder: Embedder,
    *,
    index_type: str = "auto",
) -> None:
    """Write segmented, embedded documents as the live index of ``out`` (the last build step).

    Args:
        out: The index folder or a Milvus store address.
        documents: The documents, in order.
        rows: int64 ``(n, 4)``: document number, start, end, paragraph id per sentence.
        texts: The sentence texts (``documents[d].text[start:end]``), for BM25.
        vectors: float32 ``(n, dim)`` unit vectors made by ``embedder``.
        embedder: The embedder that made ``vectors`` (recorded in the manifest; embeds queries).
        index_type: See :func:`build`.
    """
    info = {
        "model": embedder.model_name,
        "backend": embedder.backend,
        "dimension": embedder.dim,
        "vector_space": embedder.space,
        "metric": "inner_product",
        "segmenter": segmenter_info(),
        "tokenizer": {"name": TOKENIZER_NAME, "version": TOKENIZER_VERSION, "bm25": "bm25s lucene k1=1.2 b=0.75"},
    }
    tokens = [tokenize(text) for text in texts]
    if not any(tokens):  # BM25 can't index a corpus without a single word (found by the fuzz tests)
        raise SourceError("the sources hold no words to index (only punctuation or symbols); add some text and build again")
    context = context_arrays(rows, texts, tokens, vectors, len(documents))
    if is_milvus_address(out):
        write_milvus(
            str(out),
            documents=documents,
            rows=rows,
            texts=texts,
            vectors=vectors,
            info=info,
            paragraph_vectors=context.paragraph_vectors,
            document_vectors=context.document_vectors,
            paragraph_bm25=context.paragraph_bm25,
            vocabulary=context.vocabulary,
        )
        return
    built = build_vector_index(vectors, index_type)
    info["faiss_index"] = built.info["factory"]
    info["faiss"] = built.info
    write_version(
        Path(out),
        documents=documents,
        sentences=rows,
        vectors=built.index,
        bm25=BM25Index.from_tokens(tokens),
        paragraph_bm25=context.paragraph_bm25,
        paragraph_vectors=context.paragraph_vectors,
        document_vectors=context.document_vectors,
        vocabulary=context.vocabulary,
        info=info,
        embeddings=vectors,
    )
