"""Candidate retrieval: dense (FAISS) and BM25 hits for a query, and each candidate's evidence.

:class:`CandidateRetriever` turns a query into the arrays that the pure functions of
:mod:`citeqa.search.features` and :mod:`citeqa.search.rerank` score. Candidates always come
from the vector search (top :data:`DENSE_CANDIDATES`) plus BM25 (top
:data:`LEXICAL_CANDIDATES`); their evidence (cosines of the sentence, its neighbours and its
document's headline, the paragraph's and document's mean vectors, paragraph BM25, IDF
coverage) is read for those rows only, so neither the cost per query nor the memory grows
with the corpus beyond the two searches. What needs the whole corpus (paragraph BM25, mean
vectors) is computed when the index is built (:mod:`citeqa.build`) and memory-mapped when it
loads. Reads the index only through :class:`citeqa.store.read.StoredIndex`; knows nothing of
answers or abstention.

Note on approximate FAISS indexes: sentence vectors are read back from the FAISS index
(``reconstruct_batch``; 8-bit decoded for HNSW-SQ8). An index type that cannot
reconstruct falls back to the cosines the search returned (unseen sentences get the
lowest of them), which keeps ranking working with weaker neighbour features.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InvalidArgumentError
from ..ingest.segment import paragraph_numbers
from ..question import answer_spans, question_type
from ..text import tokenize
from .features import CandidateContext, loose_coverages, weighted_coverage

if TYPE_CHECKING:
    from ..store.read import StoredIndex

#: How many nearest vectors the vector search returns as candidates.
DENSE_CANDIDATES = 50


#: How many best BM25 sentences join the candidates.
LEXICAL_CANDIDATES = 50


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
    candidates = np.flatnonzero(scores > 0) if positive_only else np.arange(scores.shape[0])
    if candidates.shape[0] > n:
        part = np.argpartition(-scores[candidates], n - 1)[:n]
        candidates = candidates[part]
    return candidates[np.argsort(-scores[candidates], kind="stable")]


def candidate_ids(dense_ids: np.ndarray, lexical_ids: np.ndarray, n: int) -> np.ndarray:
    """Union of the vector-search hits and the BM25 hits (``-1`` and out-of-range dropped).

    Order: first appearance in ``dense_ids`` then ``lexical_ids``.
    """
    merged = np.concatenate([np.asarray(dense_ids, np.int64).ravel(), np.asarray(lexical_ids, np.int64).ravel()])
    merged = merged[(merged >= 0) & (merged < n)]
    _, first = np.unique(merged, return_index=True)
    return merged[np.sort(first)]


class CandidateRetriever:
    """Fetches one loaded index's candidates for a query, with their evidence (immutable after construction)."""

    def __init__(self, stored: StoredIndex) -> None:
        """
        Args:
            stored: The loaded index (sentence table, FAISS and BM25 indexes, context arrays).
        """
        rows = stored.sentences
        self._stored = stored
        self._documents = stored.documents
        self._vectors = stored.vectors
        self._bm25 = stored.bm25
        self._paragraph_bm25 = stored.paragraph_bm25
        self._paragraph_vectors = stored.paragraph_vectors
        self._document_vectors = stored.document_vectors
        self._n = int(rows.shape[0])
        # contiguous int64 copies (8 bytes a sentence each): searchsorted needs them
        self._doc = np.ascontiguousarray(rows[:, 0])
        self._start = rows[:, 1]
        self._end = rows[:, 2]
        self._paragraph = paragraph_numbers(rows)
        self._idf = self._bm25.idf()
        self._can_reconstruct = self._n > 0 and self._reconstruct(np.zeros(1, dtype=np.int64)) is not None

    def __len__(self) -> int:
        return self._n

    @property
    def idf(self) -> Mapping[str, float]:
        """Word IDF over the sentences (read-only; see :class:`citeqa.store.lexical.Idf`)."""
        return self._idf

    def text(self, row: int) -> str:
        """The sentence at ``row``."""
        row = int(row)
        return self._documents.text_slice(int(self._doc[row]), int(self._start[row]), int(self._end[row]))

    def paragraph_rows(self, row: int) -> range:
        """The rows of ``row``'s paragraph."""
        number = self._paragraph[int(row)]
        first = int(np.searchsorted(self._paragraph, number, side="left"))
        last = int(np.searchsorted(self._paragraph, number, side="right"))
        return range(first, last)

    def paragraph_text(self, row: int) -> str:
        """The sentences of row's paragraph, joined by spaces."""
        return " ".join(self.text(r) for r in self.paragraph_rows(row))

    def title_rows(self, rows: np.ndarray) -> np.ndarray:
        """The headline row of each row's document, or -1 where the document has none.

        A headline is a first paragraph of one sentence: a title line ("Turkish, Azerbaijani
        militaries hold joint exercise in Lachin", a SQuAD article's title). A document
        that starts straight with running text has no headline; its first sentence is
        ranked like any other.
        """
        rows = np.asarray(rows, dtype=np.int64)
        first = np.searchsorted(self._doc, self._doc[rows], side="left")
        following = np.minimum(first + 1, self._n - 1)
        alone = (following == first) | (self._paragraph[following] != self._paragraph[first])
        return np.where(alone, first, -1)

    def title_text(self, row: int) -> str:
        """The headline of row's document ("" when it has none)."""
        title = int(self.title_rows(np.array([row]))[0])
        return self.text(title) if title >= 0 else ""

    def _reconstruct(self, rows: np.ndarray) -> np.ndarray | None:
        try:
            return np.asarray(self._vectors.reconstruct_batch(np.ascontiguousarray(rows, dtype=np.int64)), dtype=np.float32)
        except (RuntimeError, AttributeError):
            return None

    def gather(self, query: str, vector: np.ndarray, *, question: str | None = None) -> tuple[np.ndarray, CandidateContext]:
        """Candidates for ``query`` and their evidence.

        Args:
            query: The cleaned (and follow-up resolved) query text.
            vector: Its unit vector, shape ``(dim,)`` or ``(1, dim)``.
            question: The text whose question word decides the answer type (default: query).

        Returns:
            Candidate rows and a :class:`CandidateContext` in the same order.
        """
        n = len(self)
        vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        scores, ids = self._vectors.search(vector[None, :], min(n, DENSE_CANDIDATES))
        found = {int(i): float(s) for i, s in zip(ids[0], scores[0]) if i >= 0}
        floor = min(found.values(), default=0.0)
        query_tokens = tokenize(query)
        lexical_all = self._bm25.scores(query)
        cands = candidate_ids(ids[0], top_n(lexical_all, LEXICAL_CANDIDATES, positive_only=True), n)
        prev_rows, next_rows = np.maximum(cands - 1, 0), np.minimum(cands + 1, n - 1)
        title_rows = self.title_rows(cands)
        has_title = title_rows >= 0
        title_or_self = np.where(has_title, title_rows, cands)
        dense_of = self._cosines(np.concatenate([cands, prev_rows, next_rows, title_or_self]), vector, found, floor)
        dense = dense_of(cands)
        neighbour = np.full(cands.shape[0], -np.inf, dtype=np.float64)
        paragraph = self._paragraph[cands]
        for other in (prev_rows, next_rows):
            same = (self._paragraph[other] == paragraph) & (other != cands)
            neighbour = np.maximum(neighbour, np.where(same, dense_of(other), -np.inf))
        neighbour = np.where(np.isfinite(neighbour), neighbour, dense)
        paragraph_dense = np.asarray(self._paragraph_vectors[paragraph], dtype=np.float32) @ vector
        document_dense = np.asarray(self._document_vectors[self._doc[cands]], dtype=np.float32) @ vector
        paragraph_lexical = self._paragraph_bm25.scores_of_tokens(query_tokens)[paragraph]
        asked = question if question is not None else query
        texts = [self.text(int(r)) for r in cands]
        text_tokens = [tokenize(t) for t in texts]
        context = CandidateContext(
            dense=np.asarray(dense, dtype=np.float64),
            lexical=lexical_all[cands].astype(np.float64),
            paragraph_lexical=np.asarray(paragraph_lexical, dtype=np.float64),
            paragraph_dense=np.asarray(paragraph_dense, dtype=np.float64),
            neighbour_dense=neighbour,
            document_dense=np.asarray(document_dense, dtype=np.float64),
            # no headline: the document's mean vector stands in for it
            title_dense=np.where(has_title, dense_of(title_or_self), document_dense).astype(np.float64),
            coverage=np.array([weighted_coverage(query_tokens, toks, self._idf) for toks in text_tokens]),
            answer_type=np.array([1.0 if answer_spans(asked, t) else 0.0 for t in texts]),
            length=np.array([len(t.split()) for t in texts], dtype=np.float64),
            title=(title_rows == cands).astype(np.float64),
            question_kind=question_type(asked),
            loose_coverage=loose_coverages(query_tokens, text_tokens, self._idf),
        )
        return cands, context

    def _cosines(
        self, rows: np.ndarray, vector: np.ndarray, found: dict[int, float], floor: float
    ) -> Callable[[np.ndarray], np.ndarray]:
        """A lookup ``rows -> cosine to vector`` for any of ``rows`` (vectors read once)."""
        needed = np.unique(rows)
        matrix = self._reconstruct(needed) if self._can_reconstruct else None
        if matrix is None:
            return lambda wanted: np.array([found.get(int(r), floor) for r in wanted], dtype=np.float64)
        cosines = (matrix @ vector).astype(np.float64)
        return lambda wanted: cosines[np.searchsorted(needed, wanted)]
