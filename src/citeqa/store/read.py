"""Reading an index version: map its arrays and open its FAISS and BM25 indexes, after :mod:`.verify` checked it.

Owns the read side of :mod:`citeqa.store.format`: large arrays are memory-mapped, texts are
decoded on demand. Never writes.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import (
    CorruptIndexError,
    IndexReplacedError,
)
from ..ingest.segment import paragraph_numbers
from .documents import DocumentTable
from .format import (
    BM25_DIR,
    DOCUMENT_SPANS,
    DOCUMENT_VECTORS,
    DOCUMENTS,
    EMBEDDINGS,
    MMAP_MIN_BYTES,
    PARAGRAPH_BM25_DIR,
    PARAGRAPH_VECTORS,
    POINTER,
    SENTENCE_PIECE_OFFSETS,
    SENTENCE_PIECES,
    SENTENCE_WORDS,
    SENTENCES,
    TEXTS,
    VECTORS,
    VOCABULARY,
    rebuild_hint,
)
from .lexical import BM25Index
from .vectors import VectorSearcher, apply_search_params
from .verify import (
    check_sources,
    read_manifest,
    resolve_version,
    verify_file,
    verify_files,
)

log = logging.getLogger("citeqa")

#: Held while .npy headers are parsed. NumPy parses them with ``ast.literal_eval``, and
#: CPython 3.11's parser is not safe to run from several threads at once: a server
#: loading a rebuilt index while another thread loads one failed about once in 200
#: loads with "SystemError: AST constructor recursion depth mismatch". The arrays are
#: memory-mapped, so the lock is held for milliseconds.
_NPY_LOAD_LOCK = threading.Lock()


@dataclass(frozen=True)
class StoredIndex:
    """Everything read back from one verified version folder."""

    path: Path
    manifest: dict[str, Any]
    #: The documents, in index order (a lazy sequence: text is decoded on access).
    documents: DocumentTable
    #: int64 array (n, 4), memory-mapped: document number, start, end, paragraph id.
    sentences: np.ndarray
    vectors: VectorSearcher  # the FAISS index (attributes delegated), tuned for single queries
    bm25: BM25Index
    #: BM25 over whole paragraphs, numbered as :func:`citeqa.ingest.segment.paragraph_numbers` does.
    paragraph_bm25: BM25Index
    #: float16 (paragraphs, dim) and (documents, dim) unit mean vectors, memory-mapped.
    paragraph_vectors: np.ndarray
    document_vectors: np.ndarray
    #: int32 (n,) words of each sentence (``len(text.split())``), memory-mapped; None in an
    #: index built before the file existed.
    word_counts: np.ndarray | None = None
    #: int32 word-piece ids of every sentence's words and int64 (n + 1,) offsets of each
    #: sentence's, memory-mapped (see :mod:`.format`); None in an index built before them.
    pieces: np.ndarray | None = None
    piece_offsets: np.ndarray | None = None

    def embeddings(self) -> np.ndarray | None:
        """The stored float32 sentence vectors (n, dim), or None when absent or damaged.

        The file is checked against its sha256 first; a damaged file only means the
        vectors must be computed again, so it returns None (and logs) instead of raising.
        """
        return read_embeddings(self.path, self.manifest)

    def vocabulary(self) -> dict[str, list[str]]:
        """The corpus's distinct words and names (``{"words": [...], "names": [...]}``).

        Read on first call (a large corpus has hundreds of thousands of words that a
        plain ``retrieve`` never needs), checked against its sha256 again as it is read.

        Raises:
            CorruptIndexError: the file changed since the index loaded, or is malformed.
        """
        return read_vocabulary(self.path, self.manifest)


def read_embeddings(version: Path, manifest: dict[str, Any]) -> np.ndarray | None:
    """The verified float32 sentence vectors of a version, or None when absent or damaged."""
    expected = manifest.get("files", {}).get(EMBEDDINGS)
    if expected is None:
        return None
    try:
        verify_file(version, EMBEDDINGS, expected, rebuild_hint(manifest, version.parent))
        with _NPY_LOAD_LOCK:
            stored = np.load(version / EMBEDDINGS, mmap_mode="r", allow_pickle=False)
    except (CorruptIndexError, OSError, ValueError) as exc:
        log.warning("cannot reuse the stored vectors, computing them again: %s", exc)
        return None
    n = int(manifest.get("counts", {}).get("sentences", -1))
    if stored.ndim != 2 or stored.shape[0] != n or stored.shape[1] != manifest.get("dimension"):
        log.warning("cannot reuse %s: shape %s does not fit the manifest", version / EMBEDDINGS, stored.shape)
        return None
    return np.asarray(stored, dtype=np.float32)


def read_vocabulary(version: Path, manifest: dict[str, Any]) -> dict[str, list[str]]:
    """The verified word lists of a version (see :meth:`StoredIndex.vocabulary`)."""
    hint = rebuild_hint(manifest, version.parent)
    if not version.is_dir():
        raise IndexReplacedError(
            f"index version {version} was removed after newer builds of {version.parent}; "
            "reload the index (Index.load, or restart the program) to answer from the new version"
        )
    verify_file(version, VOCABULARY, manifest.get("files", {}).get(VOCABULARY), hint)
    try:
        with open(version / VOCABULARY, encoding="utf-8") as handle:
            data = json.load(handle)
        lists = {key: data[key] for key in ("words", "names")}
        if not all(isinstance(v, list) and all(isinstance(w, str) for w in v) for v in lists.values()):
            raise ValueError("words and names must be lists of strings")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CorruptIndexError(f"{version / VOCABULARY} is unreadable ({exc}); rebuild with: {hint}") from None
    return lists


def _source_strings(manifest: Mapping[str, Any]) -> Iterator[str]:
    """The strings of the manifest's source records (a document row repeats its doc_id, path and sha256)."""
    for source in manifest.get("sources", []):
        if isinstance(source, Mapping):
            yield from (value for value in source.values() if isinstance(value, str))


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                raise CorruptIndexError(f"{path}: line {number} is not JSON") from None
    return rows


def _load_array(path: Path, dtype: type, columns: int) -> np.ndarray:
    array = np.load(path, mmap_mode="r", allow_pickle=False)
    if array.dtype != dtype or array.ndim != 2 or array.shape[1] != columns:
        raise ValueError(f"{path.name} holds {array.dtype} {array.shape}, expected {np.dtype(dtype)} (n, {columns})")
    # a plain ndarray over the same mapped pages: indexing np.memmap one element at a
    # time goes through its Python-level __getitem__, ~1 µs per access on the query path
    return array.view(np.ndarray)


def _load_vector(path: Path, dtype: type) -> np.ndarray:
    array = np.load(path, mmap_mode="r", allow_pickle=False)
    if array.dtype != dtype or array.ndim != 1:
        raise ValueError(f"{path.name} holds {array.dtype} {array.shape}, expected {np.dtype(dtype)} (n,)")
    return array.view(np.ndarray)


def _load_blob(path: Path) -> np.ndarray:
    if path.stat().st_size == 0:
        return np.zeros(0, dtype=np.uint8)
    return np.memmap(path, dtype=np.uint8, mode="r").view(np.ndarray)


def _read_faiss(path: Path) -> Any:
    import faiss

    if path.stat().st_size >= MMAP_MIN_BYTES:
        try:
            return faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
        except RuntimeError:  # an index type FAISS cannot map: read it
            pass
    return faiss.read_index(str(path))


def _consistency_problems(stored: StoredIndex) -> list[str]:
    manifest, sentences, documents = stored.manifest, stored.sentences, stored.documents
    counts = manifest.get("counts", {})
    n = sentences.shape[0]
    problems = []
    if counts.get("sentences") != n or counts.get("documents") != len(documents):
        problems.append("counts differ from the manifest")
    if stored.vectors.ntotal != n:
        problems.append(f"{stored.vectors.ntotal} vectors for {n} sentences")
    if stored.vectors.d != manifest.get("dimension"):
        problems.append(f"vector dimension {stored.vectors.d}, manifest says {manifest.get('dimension')}")
    if stored.bm25.size != n:
        problems.append(f"BM25 holds {stored.bm25.size} sentences for {n}")
    paragraphs = int(paragraph_numbers(sentences)[-1]) + 1 if n else 0
    if not stored.paragraph_bm25.size == stored.paragraph_vectors.shape[0] == paragraphs == counts.get("paragraphs"):
        problems.append(
            f"{paragraphs} paragraphs, but {stored.paragraph_bm25.size} in the paragraph BM25 and "
            f"{stored.paragraph_vectors.shape[0]} paragraph vectors"
        )
    if stored.word_counts is not None and stored.word_counts.shape[0] != n:
        problems.append(f"{stored.word_counts.shape[0]} word counts for {n} sentences")
    if (stored.pieces is None) != (stored.piece_offsets is None):
        problems.append("word-piece ids without their offsets, or offsets without ids")
    elif stored.pieces is not None and stored.piece_offsets is not None:
        offsets = stored.piece_offsets
        if offsets.shape[0] != n + 1 or offsets[0] != 0 or offsets[-1] != stored.pieces.shape[0] or (np.diff(offsets) < 0).any():
            problems.append(f"word-piece offsets ({offsets.shape[0]}) do not fit {n} sentences and {stored.pieces.shape[0]} ids")
    if stored.document_vectors.shape[0] != len(documents):
        problems.append(f"{stored.document_vectors.shape[0]} document vectors for {len(documents)} documents")
    if n:
        doc, start, end = sentences[:, 0], sentences[:, 1], sentences[:, 2]
        if doc.min() < 0 or doc.max() >= len(documents):
            problems.append("sentence offsets out of range")
        elif start.min() < 0 or (start >= end).any() or (end > documents.chars()[doc]).any():
            problems.append("sentence offsets out of range")
    return problems


def load_version(path: Path, *, check_stale: bool = True) -> StoredIndex:
    """Load and verify the live version of the index at ``path``.

    Args:
        path: An index folder (with ``CURRENT``) or one version folder.
        check_stale: Also refuse the index if a source changed since the build.

    Raises:
        IndexNotFoundError, CorruptIndexError, IncompatibleIndexError, StaleIndexError:
            with a message naming the path and the command that fixes it.
    """
    version = resolve_version(Path(path))
    manifest = read_manifest(version)
    verify_files(version, manifest, serving_only=True)
    if check_stale:
        check_sources(version, manifest)
    hint = rebuild_hint(manifest, version.parent)
    try:
        with _NPY_LOAD_LOCK:
            meta = _read_jsonl(version / DOCUMENTS)
            spans = _load_array(version / DOCUMENT_SPANS, np.int64, 3)
            blob = _load_blob(version / TEXTS)
            if len(meta) != spans.shape[0]:
                raise ValueError(f"{len(meta)} documents but {spans.shape[0]} text spans")
            if spans.shape[0] and (spans[:, 0].min() < 0 or (spans[:, 1] < spans[:, 0]).any() or spans[:, 1].max() > blob.size):
                raise ValueError("document text spans out of range")
            for row in meta:
                if not all(isinstance(row.get(key), str) for key in ("doc_id", "path", "sha256")):
                    raise ValueError("a document row lacks doc_id/path/sha256")
                pages = row.get("pages")
                if pages is not None and (
                    not isinstance(pages, list)
                    or not all(isinstance(p, int) and not isinstance(p, bool) for p in pages)
                    or pages != sorted(pages)
                ):
                    raise ValueError(f"document {row['doc_id']!r} has malformed page starts")
            documents = DocumentTable(meta, spans, blob, shared=_source_strings(manifest))
            del meta
            sentences = _load_array(version / SENTENCES, np.int64, 4)
            vectors = _read_faiss(version / VECTORS)
            apply_search_params(vectors, manifest.get("faiss", {}).get("search", {}))
            vectors = VectorSearcher(vectors)
            bm25 = BM25Index.load(version / BM25_DIR, mmap=True)
            paragraph_bm25 = BM25Index.load(version / PARAGRAPH_BM25_DIR, mmap=True)
            dim = int(manifest["dimension"])
            paragraph_vectors = _load_array(version / PARAGRAPH_VECTORS, np.float16, dim)
            document_vectors = _load_array(version / DOCUMENT_VECTORS, np.float16, dim)
            word_counts = _load_vector(version / SENTENCE_WORDS, np.int32) if SENTENCE_WORDS in manifest["files"] else None
            pieces = _load_vector(version / SENTENCE_PIECES, np.int32) if SENTENCE_PIECES in manifest["files"] else None
            piece_offsets = (
                _load_vector(version / SENTENCE_PIECE_OFFSETS, np.int64) if SENTENCE_PIECE_OFFSETS in manifest["files"] else None
            )
    except (KeyError, TypeError, ValueError, RuntimeError, OSError, UnicodeDecodeError) as exc:
        raise CorruptIndexError(f"index at {version} is unreadable ({exc}); rebuild with: {hint}") from None
    stored = StoredIndex(
        version, manifest, documents, sentences, vectors, bm25, paragraph_bm25, paragraph_vectors, document_vectors, word_counts,
        pieces, piece_offsets,
    )
    problems = _consistency_problems(stored)
    if problems:
        raise CorruptIndexError(f"index at {version} is inconsistent: {'; '.join(problems)}; rebuild with: {hint}")
    return stored


def pointer_mtime(index_dir: Path) -> float:
    """Modification time of the live pointer (0 when absent): cheap change detection."""
    try:
        return (Path(index_dir) / POINTER).stat().st_mtime
    except OSError:
        return 0.0
