"""Reading an index version: map its arrays and open its FAISS and BM25 indexes, after :mod:`.verify` checked it.

Owns the read side of :mod:`citeqa.store.format`: large arrays are memory-mapped, texts are
decoded on demand. Never writes.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import (
    CorruptIndexError,
    IndexReplacedError,
)
from ..ingest.segment import paragraph_numbers
from ..schema import Document
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
    SENTENCE_WORDS,
    SENTENCES,
    TEXTS,
    VECTORS,
    VOCABULARY,
    rebuild_hint,
)
from .lexical import BM25Index
from .seam import LazySequence
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


#: Non-ASCII documents up to this many bytes are decoded whole for each sentence read from them
#: (:meth:`DocumentTable.text_slice`); longer ones go through the cache of decoded documents.
SLICE_DECODE_BYTES = 16 << 10


#: The bytes ``str.split()`` treats as white space in ASCII text (tab to carriage return, the
#: four separators 0x1c-0x1f, space): a 256-entry lookup table for :meth:`DocumentTable.word_counts`.
_ASCII_SPACE = np.zeros(256, dtype=bool)
_ASCII_SPACE[[c for c in range(128) if chr(c).isspace()]] = True


class DocumentTable(LazySequence[Document]):
    """The documents of a loaded index; each text is decoded from the mapped file on access.

    The rows of ``documents.jsonl`` are kept as columns of shared strings, not one dict per
    document: at 50,000 documents the dicts held 31 MiB of a server's memory, and the loaded
    index is 34 MiB smaller with the columns (their strings are the manifest's own, passed as
    ``shared``).
    """

    def __init__(
        self, meta: Sequence[Mapping[str, Any]], spans: np.ndarray, blob: np.ndarray, *, shared: Iterable[str] = ()
    ) -> None:
        pool = {text: text for text in shared}

        def column(key: str, default: str | None = None) -> list[str]:
            return [pool.setdefault(value, value) for value in (str(row.get(key, default)) for row in meta)]

        self._doc_ids = column("doc_id")
        self._paths = column("path")
        self._sha256 = column("sha256")
        self._extractors = column("extractor", "text")
        self._extractor_versions = column("extractor_version", "1")
        self._pages = {n: tuple(int(p) for p in row["pages"]) for n, row in enumerate(meta) if row.get("pages") is not None}
        self._spans = spans
        self._blob = blob
        self._decode = lru_cache(maxsize=256)(self._decode_uncached)

    def __len__(self) -> int:
        return len(self._doc_ids)

    def _decode_uncached(self, number: int) -> Document:
        start, end, _chars = (int(x) for x in self._spans[number])
        text = self._blob[start:end].tobytes().decode("utf-8")
        return Document(
            doc_id=self._doc_ids[number],
            text=text,
            path=self._paths[number],
            sha256=self._sha256[number],
            pages=self.pages(number),
            extractor=self._extractors[number],
            extractor_version=self._extractor_versions[number],
        )

    def pages(self, number: int) -> tuple[int, ...] | None:
        """Page start offsets of document ``number`` (None if it is not paged), without its text."""
        return self._pages.get(number)

    _position_name = "document number"

    def _item(self, number: int) -> Document:
        return self._decode(number)

    def text_slice(self, number: int, start: int, end: int) -> str:
        """``self[number].text[start:end]``, without decoding an ASCII document whole.

        A document whose UTF-8 size equals its length in characters is ASCII, so
        character offsets are byte offsets: the slice is read straight from the mapped
        file. A short non-ASCII one is decoded on the spot, without the cache. That keeps a query over a large corpus from decoding a whole document for
        each candidate sentence it looks at.
        """
        first, last, chars = (int(x) for x in self._spans[number])
        if last - first == chars and 0 <= start <= end <= chars:
            return self._blob[first + start : first + end].tobytes().decode("ascii")
        if last - first <= SLICE_DECODE_BYTES and 0 <= start <= end <= chars:
            # a short non-ASCII document: decoding its bytes costs less than building (and
            # caching) its Document, and a query's candidates come from ~100 documents
            return self._blob[first:last].tobytes().decode("utf-8")[start:end]
        return self[number].text[start:end]

    def _look_up(
        self, numbers: np.ndarray, starts: np.ndarray, ends: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The spans as int64 rows, their documents' byte spans, and which are valid slices of an ASCII document."""
        numbers = np.asarray(numbers, dtype=np.int64).reshape(-1)
        starts = np.asarray(starts, dtype=np.int64).reshape(-1)
        ends = np.asarray(ends, dtype=np.int64).reshape(-1)
        spans = self._spans[numbers]
        first, chars = spans[:, 0], spans[:, 2]
        ascii_ok = (spans[:, 1] - first == chars) & (starts >= 0) & (starts <= ends) & (ends <= chars)
        return numbers, starts, ends, spans, ascii_ok

    def text_slices(self, numbers: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> list[str]:
        """``[self.text_slice(n, s, e) for n, s, e in zip(numbers, starts, ends)]``, the spans looked up at once.

        A query reads ~100 candidate sentences: one array lookup for all their documents'
        byte spans instead of one per sentence.
        """
        numbers, starts, ends, spans, ascii_ok = self._look_up(numbers, starts, ends)
        first, chars = spans[:, 0], spans[:, 2]
        # short non-ASCII documents are decoded whole, each once per call
        short = ~ascii_ok & (spans[:, 1] - first <= SLICE_DECODE_BYTES) & (starts >= 0) & (starts <= ends) & (ends <= chars)
        blob = self._blob
        out = []
        decoded: dict[int, str] = {}
        rows = zip(
            (first + starts).tolist(), (first + ends).tolist(), ascii_ok.tolist(), short.tolist(),
            numbers.tolist(), starts.tolist(), ends.tolist(), first.tolist(), spans[:, 1].tolist(),
        )
        for a, b, ok, small, n, s, e, first_byte, last_byte in rows:
            if ok:
                out.append(blob[a:b].tobytes().decode("ascii"))
            elif small:
                text = decoded.get(n)
                if text is None:
                    text = decoded[n] = blob[first_byte:last_byte].tobytes().decode("utf-8")
                out.append(text[s:e])
            else:
                out.append(self.text_slice(n, s, e))
        return out

    def word_counts(self, numbers: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """``len(text.split())`` of each ``self.text_slice(n, s, e)`` (int64), without making the strings.

        A sentence of an ASCII document is counted on its mapped bytes: a word starts at
        each byte that is not white space (:data:`_ASCII_SPACE`, what ``str.split`` splits
        on in ASCII text) and follows white space or the start. One array pass for all of
        a query's ~100 candidates, where slicing and splitting each cost ~5 µs in Python.
        Sentences of other documents are sliced and split.
        """
        numbers, starts, ends, spans, ascii_ok = self._look_up(numbers, starts, ends)
        first = spans[:, 0]
        counts = np.zeros(numbers.shape[0], dtype=np.int64)
        rows = np.flatnonzero(ascii_ok)
        if rows.shape[0]:
            lengths = ends[rows] - starts[rows]
            offsets = np.zeros(rows.shape[0] + 1, dtype=np.int64)
            np.cumsum(lengths, out=offsets[1:])
            total = int(offsets[-1])
            # the byte positions of every sentence, one after the other
            at = np.repeat(first[rows] + starts[rows] - offsets[:-1], lengths) + np.arange(total, dtype=np.int64)
            space = _ASCII_SPACE[self._blob[at]]
            after_space = np.empty(total, dtype=bool)
            after_space[1:] = space[:-1]
            after_space[offsets[:-1][lengths > 0]] = True  # each sentence's first byte starts a word
            begins = np.zeros(total + 1, dtype=np.int64)
            np.cumsum(~space & after_space, out=begins[1:])
            counts[rows] = begins[offsets[1:]] - begins[offsets[:-1]]
        for row in np.flatnonzero(~ascii_ok).tolist():
            counts[row] = len(self.text_slice(int(numbers[row]), int(starts[row]), int(ends[row])).split())
        return counts

    def chars(self) -> np.ndarray:
        """Length in characters of every document (int64 array)."""
        return np.asarray(self._spans[:, 2])

    def keys(self) -> list[tuple[str, str, str]]:
        """``(doc_id, sha256, "extractor version")`` of every document, without decoding any text.

        Documents stored before extractors were recorded are plain text ("text 1").
        """
        return [
            (doc_id, sha256, f"{extractor} {version}")
            for doc_id, sha256, extractor, version in zip(self._doc_ids, self._sha256, self._extractors, self._extractor_versions)
        ]


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
    except (KeyError, TypeError, ValueError, RuntimeError, OSError, UnicodeDecodeError) as exc:
        raise CorruptIndexError(f"index at {version} is unreadable ({exc}); rebuild with: {hint}") from None
    stored = StoredIndex(
        version, manifest, documents, sentences, vectors, bm25, paragraph_bm25, paragraph_vectors, document_vectors, word_counts
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
