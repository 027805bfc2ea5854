"""The local folder store behind the seam: :class:`LocalStore` reads a loaded version folder (FAISS + BM25 arrays).

The default store and the fastest: every read is an array lookup in memory-mapped files.
Its candidates and evidence are computed exactly as the ranker computed them before the
seam existed (same calls, same float order), so rankings are unchanged.

Note on approximate FAISS indexes: sentence vectors are read back from the FAISS index
(``reconstruct_batch``; 8-bit decoded for HNSW-SQ8). An index type that cannot
reconstruct makes :meth:`LocalStore.evidence` return no cosines, and the ranker falls
back to the cosines the search returned.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError
from ..ingest.segment import paragraph_numbers
from ..schema import Document
from .format import POINTER
from .lexical import Idf, score_lookup
from .read import StoredIndex, load_version, pointer_mtime
from .seam import (
    CandidateSet,
    Evidence,
    LazySequence,
    TokenPresence,
    VectorSource,
    WordPieceIds,
    query_vector,
)
from .verify import check_sources

#: A query's BM25 search runs on the store's thread, beside the embedding of the question,
#: when its words have at least this many postings (~30 ns each: ~0.6 ms of BM25 at 20,000;
#: a median SQuAD question over a million sentences has ~55,000). Below, the hand-off to a
#: thread (~0.1 ms on an idle core, milliseconds when it must wait for one) costs more than it saves.
THREAD_MIN_POSTINGS = 20_000
#: A search held to some documents scores their stored vectors exactly up to this many sentences;
#: more are searched in the whole index, for proportionally more hits (at most the second number).
EXACT_WITHIN, WITHIN_SEARCH_MAX = 200_000, 20_000


def top_n(scores: np.ndarray, n: int, *, positive_only: bool = False) -> np.ndarray:
    """Indices of the ``n`` largest entries of ``scores``, best first.

    Args:
        scores: Any 1-D array of scores.
        n: How many to keep (fewer when the array is shorter).
        positive_only: Drop entries that are not > 0 (e.g. BM25 "no match").
    """
    if n <= 0:
        raise InvalidArgumentError(f"n must be > 0, got {n}")
    scores = np.asarray(scores)
    if positive_only and not (scores.shape[0] and scores.min() > 0):
        candidates = np.flatnonzero(scores > 0)
        kept = scores[candidates]
    else:  # every entry (BM25 scores of the texts holding a query word are all > 0): no copy
        candidates, kept = None, scores
    if kept.shape[0] > n:
        part = np.argpartition(-kept, n - 1)[:n]
    else:
        part = np.arange(kept.shape[0])
    best = part[np.argsort(-kept[part], kind="stable")]
    return best if candidates is None else candidates[best]


def candidate_ids(dense_ids: np.ndarray, lexical_ids: np.ndarray, n: int) -> np.ndarray:
    """Union of the vector-search hits and the BM25 hits (``-1`` and out-of-range dropped).

    Order: first appearance in ``dense_ids`` then ``lexical_ids``.
    """
    merged = np.concatenate([np.asarray(dense_ids, np.int64).ravel(), np.asarray(lexical_ids, np.int64).ravel()])
    merged = merged[(merged >= 0) & (merged < n)]
    order, first = unique_runs(merged)
    return merged[np.sort(order[first])]


def unique_runs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A stable sort of a 1-D array and where each run of equal values starts in it.

    Returns:
        ``order`` (``values[order]`` is sorted, equal values in their original order) and a
        bool mask over it, True at the first of each run: ``values[order][mask]`` is
        ``np.unique(values)``, ``order[mask]`` its ``return_index``. For the ~100-400 rows of
        a query this costs a third of ``np.unique`` (NumPy 2's hash-based unique starts slowly).
    """
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    first = np.empty(ordered.shape[0], dtype=bool)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    return order, first


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` of a 1-D array (see :func:`unique_runs`)."""
    order, first = unique_runs(values)
    return values[order[first]]


class LocalStore:
    """One loaded version folder, read through the seam (immutable after construction)."""

    def __init__(self, stored: StoredIndex) -> None:
        rows = stored.sentences
        self.stored = stored
        self.manifest = stored.manifest
        self._vectors = stored.vectors
        self._bm25 = stored.bm25
        self._n = int(rows.shape[0])
        # contiguous int64 copies (8 bytes a sentence each): searchsorted needs them
        self._doc = np.ascontiguousarray(rows[:, 0])
        self._start = rows[:, 1]
        self._end = rows[:, 2]
        self._paragraph = paragraph_numbers(rows)
        # the first row of each document and of each paragraph, one past the last at the end:
        # a lookup where a binary search over all n rows costs ~20 cache misses per row
        self._doc_first = np.zeros(len(stored.documents) + 1, dtype=np.int64)
        np.cumsum(np.bincount(self._doc, minlength=len(stored.documents)), out=self._doc_first[1:])
        starts = np.flatnonzero(np.diff(self._paragraph)) + 1
        self._paragraph_first = np.concatenate([[0], starts, [self._n]]).astype(np.int64) if self._n else np.zeros(1, np.int64)
        self._idf = self._bm25.idf()
        self._codes = _scalar_codes(stored.vectors.index, self._n)
        self._can_reconstruct = self._n > 0 and self._reconstruct(np.zeros(1, dtype=np.int64)) is not None
        self._thread: ThreadPoolExecutor | None = None
        self._thread_pid = 0
        self._thread_lock = threading.Lock()

    @classmethod
    def open(cls, path: str | Path, *, check_stale: bool = True) -> LocalStore:
        """Load and verify the live version of the index folder at ``path`` (see :func:`load_version`)."""
        return cls(load_version(Path(path), check_stale=check_stale))

    def __len__(self) -> int:
        return self._n

    @property
    def path(self) -> Path:
        """The version folder."""
        return self.stored.path

    @property
    def location(self) -> str:
        return str(self.stored.path)

    @property
    def version(self) -> str:
        return self.stored.path.name

    @property
    def documents(self) -> Sequence[Document]:
        return self.stored.documents

    # ------------------------------------------------------------------ ranking reads

    def candidates(
        self,
        query_text: str,
        query_tokens: Sequence[str],
        vector: VectorSource,
        k_dense: int,
        k_lexical: int,
        documents: Sequence[int] | None = None,
    ) -> CandidateSet:
        within = None if documents is None else self._numbers_of(documents)
        if callable(vector) and self._bm25.postings(query_tokens) >= THREAD_MIN_POSTINGS:
            # BM25 on the store's thread while this one makes the vector
            pending = self._lexical_thread().submit(self._lexical_best, query_tokens, k_lexical, within)
            vector = query_vector(vector)
            held, lexical_held, best = pending.result()
        else:
            held, lexical_held, best = self._lexical_best(query_tokens, k_lexical, within)
        if within is None:
            scores, ids = self._vectors.search(query_vector(vector)[None, :], min(self._n, k_dense))
        else:
            scores, ids = self._dense_within(query_vector(vector), k_dense, within)
        found = {i: s for i, s in zip(ids[0].tolist(), scores[0].tolist()) if i >= 0}
        cands = candidate_ids(ids[0], best, self._n)
        return CandidateSet(
            ids=cands,
            lexical=score_lookup(held, lexical_held, cands).astype(np.float64),
            found=found,
            docs=self._doc[cands],
            paragraphs=self._paragraph[cands],
            title_rows=self.title_rows(cands),
            # a question asking for no answer type reads no candidate's text
            texts=SentenceTexts(self, cands),
            word_counts=self.word_counts(cands),
            word_pieces=self.word_pieces(cands),
        )

    def _lexical_best(
        self, query_tokens: Sequence[str], k_lexical: int, within: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """BM25 over the texts holding a query word only (``bm25_scores`` at those rows): the
        rows, their scores, and the ``k_lexical`` best rows (score > 0), best first; only rows
        of the documents numbered ``within`` when given. The scores are the whole index's (its IDF)."""
        held, lexical_held = self._bm25.sparse_scores(query_tokens)
        if within is not None and held.shape[0]:
            inside = np.isin(self._doc[held], within)
            held, lexical_held = held[inside], lexical_held[inside]
        best = held[top_n(lexical_held, k_lexical, positive_only=True)] if held.shape[0] else held
        return held, lexical_held, best

    def _numbers_of(self, documents: Sequence[int]) -> np.ndarray:
        """``documents`` (document numbers) checked, sorted and without repeats."""
        numbers = np.unique(np.asarray(list(documents), dtype=np.int64))
        last = len(self._doc_first) - 2
        if not numbers.size or numbers[0] < 0 or numbers[-1] > last:
            raise InvalidArgumentError(f"documents must be document numbers 0..{last}, got {numbers.tolist()}")
        return numbers

    def _dense_within(self, vector: np.ndarray, k: int, within: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` sentences of the documents numbered ``within`` nearest to ``vector``, as FAISS
        returns them (``(1, k')`` arrays): exactly up to :data:`EXACT_WITHIN` sentences, else by
        a larger whole-index search whose other hits are dropped."""
        sizes = self._doc_first[within + 1] - self._doc_first[within]
        total = int(sizes.sum())
        if not total:
            return np.zeros((1, 0), dtype=np.float32), np.zeros((1, 0), dtype=np.int64)
        if self._can_reconstruct and total <= EXACT_WITHIN:
            rows = np.concatenate([np.arange(self._doc_first[d], self._doc_first[d + 1], dtype=np.int64) for d in within])
            cosines = np.concatenate([self._reconstruct(part) @ vector for part in np.array_split(rows, -(-total // 65_536))])  # type: ignore[operator]
            best = top_n(cosines, k)
            return cosines[best][None, :].astype(np.float32), rows[best][None, :]
        wanted = min(self._n, WITHIN_SEARCH_MAX, max(k, -(-k * self._n // total) * 2))
        scores, ids = self._vectors.search(vector[None, :], wanted)
        inside = (ids[0] >= 0) & np.isin(self._doc[np.maximum(ids[0], 0)], within)  # FAISS pads with -1
        return scores[:, inside][:, :k], ids[:, inside][:, :k]

    def _lexical_thread(self) -> ThreadPoolExecutor:
        """The thread that searches BM25 while a query is being embedded (made on first use,
        and again in a forked child, whose copy has no thread behind it).

        The vector function runs on the caller's thread: ONNX Runtime releases the GIL as
        soon as the question is tokenized, so this thread gets it and, on a second core,
        at a million sentences the ~1.5-2 ms of BM25 overlap the ~3 ms embedding. (The other
        way round, embedding on a thread while the caller searched BM25, the embedding
        thread waited for the GIL held by the caller's NumPy calls and ran after them.)
        """
        with self._thread_lock:
            if self._thread is None or self._thread_pid != os.getpid():
                # a thread per core: concurrent queries do not wait for each other's BM25
                self._thread = ThreadPoolExecutor(os.cpu_count() or 1, thread_name_prefix="citeqa-bm25")
                self._thread_pid = os.getpid()
            return self._thread

    def evidence(
        self, query_tokens: Sequence[str], vector: np.ndarray, ids: np.ndarray, paragraphs: np.ndarray, docs: np.ndarray
    ) -> Evidence:
        vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        matrix = self._reconstruct(ids) if self._can_reconstruct else None
        return Evidence(
            cosines=None if matrix is None else (matrix @ vector).astype(np.float64),
            sentence_paragraphs=self._paragraph[ids],
            paragraph_dense=np.asarray(self.stored.paragraph_vectors[paragraphs], dtype=np.float32) @ vector,
            paragraph_lexical=self.stored.paragraph_bm25.scores_at(query_tokens, paragraphs),
            document_dense=np.asarray(self.stored.document_vectors[docs], dtype=np.float32) @ vector,
        )

    def _reconstruct(self, rows: np.ndarray) -> np.ndarray | None:
        if self._codes is not None:  # the same vectors as reconstruct_batch, 2x faster (no call per row)
            storage, codes = self._codes
            import faiss

            previous = faiss.omp_get_max_threads()
            faiss.omp_set_num_threads(1)  # sa_decode is parallel: ~25 ms for 300 rows on 2 busy cores
            try:
                return np.asarray(storage.sa_decode(codes[np.asarray(rows, dtype=np.int64)]), dtype=np.float32)
            finally:
                faiss.omp_set_num_threads(previous)
        try:
            return np.asarray(self._vectors.reconstruct_batch(np.ascontiguousarray(rows, dtype=np.int64)), dtype=np.float32)
        except (RuntimeError, AttributeError):
            return None

    def idf(self) -> Idf:
        return self._idf

    def token_presence(self, query_tokens: Sequence[str], ids: np.ndarray, min_prefix: int) -> TokenPresence:
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        order, first = unique_runs(ids)  # np.unique(ids, return_inverse=True), cheaper
        rows = ids[order[first]]
        back = np.empty(ids.shape[0], dtype=np.int64)
        back[order] = np.cumsum(first) - 1
        tokens, exact, loose = self._bm25.presence(query_tokens, rows, min_prefix)
        return TokenPresence(tokens, exact[back], loose[back])

    def vocabulary(self) -> dict[str, list[str]]:
        return self.stored.vocabulary()

    def dense_search(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        scores, ids = self._vectors.search(np.asarray(vector, dtype=np.float32).reshape(1, -1), k)
        return scores[0], ids[0]

    def bm25_scores(self, query_text: str) -> np.ndarray:
        return self._bm25.scores(query_text)

    # ------------------------------------------------------------------ sentences

    def text(self, row: int) -> str:
        """The sentence at ``row``."""
        row = int(row)
        return self.stored.documents.text_slice(int(self._doc[row]), int(self._start[row]), int(self._end[row]))

    def texts(self, ids: np.ndarray) -> list[str]:
        rows = np.asarray(ids, dtype=np.int64).reshape(-1)
        return self.stored.documents.text_slices(self._doc[rows], self._start[rows], self._end[rows])

    def word_counts(self, ids: np.ndarray) -> np.ndarray:
        """``len(text.split())`` of each sentence (int64): read from the index's word counts,
        or counted from the text in an index built before they were stored."""
        rows = np.asarray(ids, dtype=np.int64).reshape(-1)
        if self.stored.word_counts is not None:
            return self.stored.word_counts[rows].astype(np.int64)
        return self.stored.documents.word_counts(self._doc[rows], self._start[rows], self._end[rows])

    def word_pieces(self, ids: np.ndarray) -> WordPieceIds | None:
        """The stored word-piece ids of each sentence's words (see :mod:`.format`), or None
        in an index built before they were stored."""
        stored, table = self.stored, self.stored.manifest.get("word_pieces")
        if stored.pieces is None or stored.piece_offsets is None or not isinstance(table, str):
            return None
        rows = np.asarray(ids, dtype=np.int64).reshape(-1)
        starts = stored.piece_offsets[rows]
        counts = stored.piece_offsets[rows + 1] - starts
        # the positions of every row's ids, one row after the other, without a loop over rows
        ends = np.cumsum(counts)
        at = np.arange(int(ends[-1]) if ends.shape[0] else 0, dtype=np.int64) + np.repeat(starts - (ends - counts), counts)
        return WordPieceIds(ids=np.asarray(stored.pieces[at]), counts=counts, table=table)

    def rows(self, ids: np.ndarray) -> np.ndarray:
        return np.asarray(self.stored.sentences[np.asarray(ids, dtype=np.int64).reshape(-1)])

    def paragraph_rows(self, row: int) -> range:
        number = int(self._paragraph[int(row)])
        return range(int(self._paragraph_first[number]), int(self._paragraph_first[number + 1]))

    def title_rows(self, ids: np.ndarray) -> np.ndarray:
        """The headline row of each row's document, or -1 where the document has none.

        A headline is a first paragraph of one sentence: a title line ("Turkish, Azerbaijani
        militaries hold joint exercise in Lachin", a SQuAD article's title). A document
        that starts straight with running text has no headline.
        """
        rows = np.asarray(ids, dtype=np.int64)
        first = self._doc_first[self._doc[rows]]
        following = np.minimum(first + 1, self._n - 1)
        alone = (following == first) | (self._paragraph[following] != self._paragraph[first])
        return np.where(alone, first, -1)

    def sentence_counts(self) -> np.ndarray:
        return np.bincount(self._doc, minlength=len(self.stored.documents))

    # ------------------------------------------------------------------ freshness

    def check_sources(self) -> None:
        check_sources(self.stored.path, self.manifest)

    def live_version(self) -> str | None:
        """The version folder ``CURRENT`` names now (None without an index folder around it)."""
        try:
            return (self.stored.path.parent / POINTER).read_text(encoding="utf-8").strip() or None
        except OSError:
            return None

    def pointer_mtime(self) -> float:
        """Modification time of the index folder's live pointer (cheap change detection)."""
        return pointer_mtime(self.stored.path.parent)


class SentenceTexts(LazySequence[str]):
    """The texts of some sentences of a :class:`LocalStore`, each read when first asked for, then kept.

    Not shared between threads (one query's candidates): two threads reading one entry
    would both read the same text.
    """

    def __init__(self, store: LocalStore, rows: np.ndarray) -> None:
        self._store = store
        self._rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        self._read: dict[int, str] = {}

    def __len__(self) -> int:
        return int(self._rows.shape[0])

    _position_name = "candidate position"

    def _item(self, position: int) -> str:
        text = self._read.get(position)
        if text is None:
            text = self._read[position] = self._store.text(int(self._rows[position]))
        return text

    def many(self, positions: Sequence[int] | np.ndarray) -> list[str]:
        """The texts at ``positions``, those not read yet read at once (one span lookup for all:
        the reranker asks for a few dozen candidates' texts at a time)."""
        wanted = [int(p) + len(self) if int(p) < 0 else int(p) for p in positions]
        for p in wanted:
            if not 0 <= p < len(self):
                raise IndexError(f"{self._position_name} {p} out of range")
        missing = [p for p in dict.fromkeys(wanted) if p not in self._read]
        if missing:
            self._read.update(zip(missing, self._store.texts(self._rows[missing])))
        return [self._read[p] for p in wanted]


def _scalar_codes(index: Any, n: int) -> tuple[Any, np.ndarray] | None:
    """The scalar quantizer and a ``(n, code_size)`` view of the codes of an HNSW-SQ index, else None.

    Decoding the gathered codes of a query's ~300 rows at once (``sa_decode``) gives the
    vectors ``reconstruct_batch`` gives (the same decoder), without its call per row.
    Any other index type, or a FAISS build that does not expose the codes, returns None
    and rows are reconstructed one by one.
    """
    try:
        import faiss

        storage = faiss.downcast_index(faiss.downcast_index(index).storage)
        if not isinstance(storage, faiss.IndexScalarQuantizer) or n <= 0 or storage.ntotal != n:
            return None
        size = int(storage.code_size)
        codes = faiss.rev_swig_ptr(storage.codes.data(), n * size)
        codes = np.frombuffer(codes, dtype=np.uint8) if not isinstance(codes, np.ndarray) else codes
        codes = codes.reshape(n, size)
        row = np.array([0, n - 1], dtype=np.int64)
        if not np.array_equal(storage.sa_decode(codes[row]), index.reconstruct_batch(row)):
            return None
        return storage, codes
    except (AttributeError, RuntimeError, TypeError, ValueError):
        return None


def as_store(stored: Any) -> Any:
    """A seam store for ``stored``: a :class:`StoredIndex` is wrapped in a :class:`LocalStore`.

    Raises:
        InvalidArgumentError: ``stored`` is a path (``Index("idx")``), which ``Index.load`` opens.
    """
    if isinstance(stored, (str, os.PathLike)):
        raise InvalidArgumentError(f"Index() takes a loaded index, got the path {str(stored)!r}: open it with Index.load({str(stored)!r})")
    return LocalStore(stored) if isinstance(stored, StoredIndex) else stored
