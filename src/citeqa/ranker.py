"""The ranking stage: gather each candidate's evidence from a loaded index, then rank.

:class:`Ranker` holds what ranking derives from the stored index once, at first use
(sentence vectors read back from FAISS, paragraph and document centroids, a BM25 index
over whole paragraphs, word IDF) and turns a query into the arrays that the pure
functions of :mod:`citeqa.retrieval` score. Candidates always come from the vector
search (top :data:`DENSE_CANDIDATES`) plus BM25 (top :data:`LEXICAL_CANDIDATES`), so
the cost per query does not grow with the corpus beyond those two searches.

Note on approximate FAISS indexes: neighbour and centroid features need sentence
vectors. They are read back with ``reconstruct_n`` once; an index type that cannot
reconstruct falls back to the cosines the search returned (unseen sentences get the
lowest of them), which keeps ranking working with weaker context features.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

import numpy as np

from .compose import answer_spans, question_type
from .errors import InvalidArgumentError
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


def _reconstruct(vectors: Any, n: int) -> np.ndarray | None:
    try:
        matrix = np.asarray(vectors.reconstruct_n(0, n), dtype=np.float32)
    except (RuntimeError, AttributeError):
        return None
    return matrix if matrix.shape[0] == n else None


def _group_centroids(matrix: np.ndarray, groups: np.ndarray, count: int) -> np.ndarray:
    sums = np.zeros((count, matrix.shape[1]), dtype=np.float64)
    np.add.at(sums, groups, matrix)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (sums / norms).astype(np.float32)


class Ranker:
    """Ranks the sentences of one loaded index (immutable after construction)."""

    def __init__(
        self,
        texts: list[str],
        rows: np.ndarray,
        vectors: Any,
        bm25: BM25Index,
        model: RerankerModel,
    ) -> None:
        """
        Args:
            texts: Every sentence, by row.
            rows: int64 ``(n, 4)``: document number, start, end, paragraph id.
            vectors: The FAISS index of the sentence vectors.
            bm25: The sentence BM25 index.
            model: Reranker weights.
        """
        self._texts = texts
        self._vectors = vectors
        self._bm25 = bm25
        self.model = model
        n = len(texts)
        self._doc = rows[:, 0].astype(np.int64)
        _, self._paragraph = np.unique(rows[:, 3], return_inverse=True)
        n_paragraphs = int(self._paragraph.max()) + 1 if n else 0
        self._matrix = _reconstruct(vectors, n)
        if self._matrix is not None and n:
            self._paragraph_centroids = _group_centroids(self._matrix, self._paragraph, n_paragraphs)
            _, doc_number = np.unique(self._doc, return_inverse=True)
            self._doc_number = doc_number
            self._doc_centroids = _group_centroids(self._matrix, doc_number, int(doc_number.max()) + 1)
        else:
            self._paragraph_centroids = None
            self._doc_centroids = None
            self._doc_number = np.zeros(n, dtype=np.int64)
        # first row of each document: its headline / title
        first = np.ones(n, dtype=bool)
        first[1:] = self._doc[1:] != self._doc[:-1]
        self._title_row = np.maximum.accumulate(np.where(first, np.arange(n), 0)) if n else np.zeros(0, np.int64)
        tokens = [tokenize(t) for t in texts]
        df = Counter(t for toks in tokens for t in set(toks))
        self._idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
        paragraph_tokens: list[list[str]] = [[] for _ in range(n_paragraphs)]
        for row, toks in enumerate(tokens):
            paragraph_tokens[int(self._paragraph[row])].extend(toks)
        self._paragraph_bm25 = BM25Index.from_tokens(paragraph_tokens) if n else None

    def __len__(self) -> int:
        return len(self._texts)

    @property
    def idf(self) -> Mapping[str, float]:
        """Word IDF over the sentences (read-only view)."""
        return self._idf

    def paragraph_text(self, row: int) -> str:
        """The sentences of row's paragraph, joined by spaces."""
        rows = np.flatnonzero(self._paragraph == self._paragraph[row])
        return " ".join(self._texts[int(r)] for r in rows)

    def text(self, row: int) -> str:
        """The sentence at ``row``."""
        return self._texts[int(row)]

    def title_text(self, row: int) -> str:
        """The first sentence (headline or title) of row's document."""
        return self._texts[int(self._title_row[row])]

    def _dense_of(self, rows: np.ndarray, vector: np.ndarray, found: dict[int, float], floor: float) -> np.ndarray:
        if self._matrix is not None:
            return self._matrix[rows] @ vector
        return np.array([found.get(int(r), floor) for r in rows], dtype=np.float32)

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
        lexical_all = self._bm25.scores(query)
        cands = candidate_ids(ids[0], top_n(lexical_all, LEXICAL_CANDIDATES, positive_only=True), n)
        dense = self._dense_of(cands, vector, found, floor)
        prev_rows, next_rows = np.maximum(cands - 1, 0), np.minimum(cands + 1, n - 1)
        neighbour = np.full(cands.shape[0], -np.inf, dtype=np.float64)
        for other in (prev_rows, next_rows):
            same = (self._paragraph[other] == self._paragraph[cands]) & (other != cands)
            values = self._dense_of(other, vector, found, floor)
            neighbour = np.maximum(neighbour, np.where(same, values, -np.inf))
        neighbour = np.where(np.isfinite(neighbour), neighbour, dense)
        if self._paragraph_centroids is not None and self._doc_centroids is not None:
            paragraph_dense = self._paragraph_centroids[self._paragraph[cands]] @ vector
            document_dense = self._doc_centroids[self._doc_number[cands]] @ vector
        else:
            paragraph_dense = np.maximum(dense, neighbour)
            document_dense = np.full(cands.shape[0], max(found.values(), default=0.0))
        title_dense = self._dense_of(self._title_row[cands], vector, found, floor)
        paragraph_lexical = (
            self._paragraph_bm25.scores_of_tokens(tokenize(query))[self._paragraph[cands]]
            if self._paragraph_bm25 is not None
            else np.zeros(cands.shape[0])
        )
        query_tokens = tokenize(query)
        asked = question if question is not None else query
        texts = [self._texts[int(r)] for r in cands]
        text_tokens = [tokenize(t) for t in texts]
        context = CandidateContext(
            dense=np.asarray(dense, dtype=np.float64),
            lexical=lexical_all[cands].astype(np.float64),
            paragraph_lexical=np.asarray(paragraph_lexical, dtype=np.float64),
            paragraph_dense=np.asarray(paragraph_dense, dtype=np.float64),
            neighbour_dense=neighbour,
            document_dense=np.asarray(document_dense, dtype=np.float64),
            title_dense=np.asarray(title_dense, dtype=np.float64),
            coverage=np.array([weighted_coverage(query_tokens, toks, self._idf) for toks in text_tokens]),
            answer_type=np.array([1.0 if answer_spans(asked, t) else 0.0 for t in texts]),
            length=np.array([len(t.split()) for t in texts], dtype=np.float64),
            title=(self._title_row[cands] == cands).astype(np.float64),
            question_kind=question_type(asked),
            loose_coverage=loose_coverages(query_tokens, text_tokens, self._idf),
        )
        return cands, context

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
    """

    abstain: bool
    best_dense: float
    coverage: float
    top_probability: float
    answer_type_found: bool = True


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
    best_texts = [ranker.text(int(r)) for r in ranking.ids[:TYPE_CHECK_DEPTH]]
    typed = answer_type_found(question if question is not None else query, best_texts)
    decision = should_abstain(best_dense, coverage, thresholds, answer_type_found=typed)
    return AbstainEvidence(decision, best_dense, coverage, probability, typed)
