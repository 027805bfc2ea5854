"""The ranking stage: gather each candidate's evidence from a loaded index, then rank.

:class:`Ranker` turns a query into the arrays that the pure functions of
:mod:`citeqa.retrieval` score. Candidates always come from the vector search (top
:data:`DENSE_CANDIDATES`) plus BM25 (top :data:`LEXICAL_CANDIDATES`); their evidence
(cosines of the sentence, its neighbours and its document's headline, the paragraph's
and document's mean vectors, paragraph BM25, IDF coverage) is read for those rows only,
so neither the cost per query nor the memory grows with the corpus beyond the two
searches. What needs the whole corpus (paragraph BM25, mean vectors) is computed when
the index is built (:func:`context_arrays`) and memory-mapped when it loads.

Note on approximate FAISS indexes: sentence vectors are read back from the FAISS index
(``reconstruct_batch``; 8-bit decoded for HNSW-SQ8). An index type that cannot
reconstruct falls back to the cosines the search returned (unseen sentences get the
lowest of them), which keeps ranking working with weaker neighbour features.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .compose import answer_spans, question_type
from .errors import InvalidArgumentError
from .focus import Vocabulary, check_focus
from .lexical import BM25Index, tokenize
from .retrieval import (
    CandidateContext,
    Ranking,
    candidate_ids,
    hybrid_rank,
    loose_coverages,
    rerank,
    single_rank,
    top_n,
    weighted_coverage,
)
from .segment import paragraph_numbers

if TYPE_CHECKING:
    from .storage import StoredIndex

#: How many nearest vectors the vector search returns as candidates.
DENSE_CANDIDATES = 50
#: How many best BM25 sentences join the candidates.
LEXICAL_CANDIDATES = 50
#: The ranking modes: the product's hybrid reranker and the baselines it is measured against.
MODES = ("hybrid", "rrf", "dense", "bm25")
Mode = Literal["hybrid", "rrf", "dense", "bm25"]


@dataclass(frozen=True)
class RerankerModel:
    """The reranker's weights (linear, plus an optional hidden layer) and the abstention thresholds, read from JSON."""

    weights: dict[str, float]
    abstain: dict[str, float]
    info: dict[str, Any]
    mlp: dict[str, Any] | None = None


def load_reranker(text: str | None = None) -> RerankerModel:
    """Read the reranker JSON (the packaged ``data/reranker.json`` by default)."""
    if text is None:
        text = resources.files("citeqa").joinpath("data", "reranker.json").read_text(encoding="utf-8")
    data = json.loads(text)
    return RerankerModel(
        weights={k: float(v) for k, v in data["weights"].items()},
        abstain={k: float(v) for k, v in data.get("abstain", {}).items()},
        info={k: v for k, v in data.items() if k not in ("weights", "abstain", "mlp")},
        mlp=data.get("mlp"),
    )


@dataclass(frozen=True)
class ContextArrays:
    """The corpus-wide context ranking reads, computed once when an index is built.

    Attributes:
        paragraph_bm25: BM25 over whole paragraphs (numbered by
            :func:`citeqa.segment.paragraph_numbers`).
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
        tokens: Each sentence's BM25 tokens (:func:`citeqa.lexical.tokenize`).
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


class Ranker:
    """Ranks the sentences of one loaded index (immutable after construction)."""

    def __init__(self, stored: StoredIndex, model: RerankerModel) -> None:
        """
        Args:
            stored: The loaded index (sentence table, FAISS and BM25 indexes, context arrays).
            model: Reranker weights.
        """
        rows = stored.sentences
        self._stored = stored
        self._documents = stored.documents
        self._vectors = stored.vectors
        self._bm25 = stored.bm25
        self._paragraph_bm25 = stored.paragraph_bm25
        self._paragraph_vectors = stored.paragraph_vectors
        self._document_vectors = stored.document_vectors
        self.model = model
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

    @cached_property
    def vocabulary(self) -> Vocabulary:
        """The corpus words, for forgiving look-ups of what a question is about (read at first use)."""
        return Vocabulary.from_word_lists(self._stored.vocabulary(), self.idf)

    @property
    def idf(self) -> Mapping[str, float]:
        """Word IDF over the sentences (read-only; see :class:`citeqa.lexical.Idf`)."""
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

    def rank(
        self,
        query: str,
        vector: np.ndarray,
        top_k: int = 10,
        *,
        mode: Mode = "hybrid",
        question: str | None = None,
    ) -> Ranking:
        """Rank sentences for ``query`` with one of :data:`MODES`."""
        if mode not in MODES:
            raise InvalidArgumentError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        n = len(self)
        vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        if mode == "dense":
            scores, ids = self._vectors.search(vector[None, :], min(n, top_k))
            keep = ids[0] >= 0
            zeros = np.zeros(int(keep.sum()), dtype=np.float32)
            return single_rank(ids[0][keep], scores[0][keep], scores[0][keep], zeros, top_k)
        if mode == "bm25":
            lexical = self._bm25.scores(query)
            ids = top_n(lexical, top_k)
            return single_rank(ids, lexical[ids], np.zeros(ids.shape[0]), lexical[ids], top_k)
        if mode == "rrf":
            scores, ids = self._vectors.search(vector[None, :], min(n, max(100, top_k)))
            return hybrid_rank(ids[0], scores[0], self._bm25.scores(query), top_k)
        cands, context = self.gather(query, vector, question=question)
        return rerank(cands, context, self.model.weights, top_k, mlp=self.model.mlp)


#: How many of the best-ranked sentences are checked for the asked-for answer type.
TYPE_CHECK_DEPTH = 3
#: Question kinds whose answer has a shape one can check for (a date, a number).
CHECKED_TYPES = ("when", "count")
#: How many of the best-ranked sentences may show a named speaker (see :mod:`citeqa.focus`).
FOCUS_CHECK_DEPTH = 10


@dataclass(frozen=True)
class AbstainEvidence:
    """What the abstention decision looks at, for the best-ranked sentence.

    Attributes:
        abstain: The decision.
        best_dense: Best cosine of any candidate sentence to the query.
        coverage: IDF-weighted share of the query's words found in the best sentence's
            paragraph and its document's headline (0..1).
        top_probability: The reranker's probability for the best sentence.
        answer_type_found: False when the question asks for a date or a number and
            none of the :data:`TYPE_CHECK_DEPTH` best sentences holds one.
        focus_missing: What the documents lack of the question's focus (a name, a role,
            the counted thing, a casualty count, the speaker, a future date; see
            :mod:`citeqa.focus`), empty when nothing is missing.
    """

    abstain: bool
    best_dense: float
    coverage: float
    top_probability: float
    answer_type_found: bool = True
    focus_missing: str = ""


def answer_type_found(question: str, texts: list[str]) -> bool:
    """False when ``question`` asks for a date or a number and none of ``texts`` holds one."""
    if question_type(question) not in CHECKED_TYPES:
        return True
    return any(answer_spans(question, text) for text in texts)


def abstain_decision(
    query: str,
    ranking: Ranking,
    ranker: Ranker,
    thresholds: Mapping[str, float] | None = None,
    *,
    question: str | None = None,
) -> AbstainEvidence:
    """Decide whether the documents don't answer ``query`` (see :func:`retrieval.should_abstain`).

    Args:
        query: The query searched (follow-ups resolved).
        ranking: Its ranking.
        ranker: The ranker that made it (texts, IDF).
        thresholds: Abstention thresholds (default: the reranker JSON's).
        question: The question as asked, whose question word gives the answer type
            (default: ``query``).
    """
    from .retrieval import should_abstain

    thresholds = ranker.model.abstain if thresholds is None else thresholds
    if not len(ranking):
        return AbstainEvidence(True, 0.0, 0.0, 0.0)
    best_dense = float(np.max(ranking.dense))
    top = int(ranking.ids[0])
    context = ranker.paragraph_text(top) + " " + ranker.title_text(top)
    coverage = weighted_coverage(tokenize(query), tokenize(context), ranker.idf)
    probability = float(ranking.scores[0])
    asked = question if question is not None else query
    best_texts = [ranker.text(int(r)) for r in ranking.ids[:FOCUS_CHECK_DEPTH]]
    typed = answer_type_found(asked, best_texts[:TYPE_CHECK_DEPTH])
    focus = check_focus(asked, best_texts, ranker.vocabulary, number_depth=TYPE_CHECK_DEPTH)
    decision = should_abstain(best_dense, coverage, thresholds, answer_type_found=typed, focus_found=focus.found)
    return AbstainEvidence(decision, best_dense, coverage, probability, typed, focus.missing)
