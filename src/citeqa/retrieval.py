"""Hybrid ranking over arrays: pure functions, no model and no files.

:class:`citeqa.Index` embeds the question and runs FAISS and BM25, then hands the raw
scores to :func:`hybrid_rank`. Tests drive these functions with tiny hand-made arrays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .errors import InvalidArgumentError

RRF_K = 60


@dataclass(frozen=True)
class Ranking:
    """Sentences ranked for one query, best first.

    Attributes:
        ids: Sentence rows, best first (never -1).
        scores: Fused scores, descending (higher is better).
        dense: Cosine similarity of each ranked sentence to the query.
        lexical: BM25 score of each ranked sentence.
    """

    ids: np.ndarray
    scores: np.ndarray
    dense: np.ndarray
    lexical: np.ndarray

    def __len__(self) -> int:
        return int(self.ids.shape[0])


def ranks_of(scores: np.ndarray) -> np.ndarray:
    """1-based rank of every entry of ``scores`` (ties share the better rank order by index)."""
    order = np.argsort(-scores, kind="stable")
    ranks = np.empty(scores.shape[0], dtype=np.int64)
    ranks[order] = np.arange(1, scores.shape[0] + 1)
    return ranks


def reciprocal_rank_fusion(
    rank_lists: Sequence[np.ndarray], weights: Sequence[float] | None = None, k: int = RRF_K
) -> np.ndarray:
    """Fuse rank arrays (1-based; 0 or negative = not ranked) into RRF scores.

    Args:
        rank_lists: One array per ranker, each of length n, giving every item's rank.
        weights: One weight per ranker (default 1.0 each).
        k: The RRF constant (Cormack et al. 2009 use 60).

    Returns:
        An array of n fused scores, higher is better.
    """
    if k <= 0:
        raise InvalidArgumentError(f"k must be > 0, got {k}")
    if not rank_lists:
        raise InvalidArgumentError("rank_lists must not be empty")
    weights = list(weights) if weights is not None else [1.0] * len(rank_lists)
    if len(weights) != len(rank_lists):
        raise InvalidArgumentError(f"got {len(weights)} weights for {len(rank_lists)} rankers")
    fused = np.zeros(rank_lists[0].shape[0], dtype=np.float64)
    for ranks, weight in zip(rank_lists, weights):
        ranks = np.asarray(ranks)
        fused += np.where(ranks > 0, weight / (k + np.maximum(ranks, 1)), 0.0)
    return fused


def hybrid_rank(
    dense_ids: np.ndarray,
    dense_scores: np.ndarray,
    lexical_scores: np.ndarray,
    top_k: int,
) -> Ranking:
    """Fuse dense and BM25 results into one ranking.

    Args:
        dense_ids: Sentence rows returned by the vector search (``-1`` entries, which
            FAISS uses for "no result", are dropped).
        dense_scores: Their cosine similarities.
        lexical_scores: BM25 score of *every* sentence (length n).
        top_k: How many sentences to return.

    Returns:
        The best ``top_k`` sentences among those either ranker found.
    """
    if top_k <= 0:
        raise InvalidArgumentError(f"top_k must be > 0, got {top_k}")
    n = int(lexical_scores.shape[0])
    dense_ids = np.asarray(dense_ids, dtype=np.int64).ravel()
    dense_scores = np.asarray(dense_scores, dtype=np.float32).ravel()
    valid = (dense_ids >= 0) & (dense_ids < n) & np.isfinite(dense_scores)
    dense_ids, dense_scores = dense_ids[valid], dense_scores[valid]

    dense_full = np.full(n, -1.0, dtype=np.float32)
    dense_full[dense_ids] = dense_scores
    dense_rank = np.zeros(n, dtype=np.int64)
    dense_rank[dense_ids] = ranks_of(dense_scores)
    lexical = np.nan_to_num(np.asarray(lexical_scores, dtype=np.float32), nan=0.0)
    lexical_rank = np.where(lexical > 0, ranks_of(lexical), 0)

    fused = reciprocal_rank_fusion([dense_rank, lexical_rank])
    candidates = np.flatnonzero(fused > 0)
    order = candidates[np.argsort(-fused[candidates], kind="stable")][:top_k]
    return Ranking(
        ids=order,
        scores=fused[order].astype(np.float32),
        dense=dense_full[order],
        lexical=lexical[order],
    )


# ---------------------------------------------------------------------- hybrid reranking
#
# Candidates come from the vector search (top-N) and BM25 (top-N); each candidate is
# then described by a few features that look at the sentence *and its context* (its
# paragraph, its neighbours, its document's headline) and scored by a small linear model
# whose weights are plain JSON (``data/reranker.json``, fitted by
# ``benchmarks/fit_reranker.py`` on part of the SQuAD tune half).

#: Feature names, in column order of :func:`feature_matrix`.
FEATURES = (
    "dense",
    "dense_gap",
    "lexical",
    "rrf",
    "paragraph_lexical",
    "paragraph_dense",
    "neighbour_dense",
    "document_dense",
    "title_dense",
    "coverage",
    "answer_type",
    "length",
    "title",
    "dense_rank",
    "dense_z",
    "answer_when",
    "answer_count",
    "answer_who",
    "answer_where",
    "loose_coverage",
)

#: Question kinds (:func:`citeqa.compose.question_type`) whose answer-type match gets its own weight.
TYPED_KINDS = ("when", "count", "who", "where")


@dataclass(frozen=True)
class CandidateContext:
    """Raw per-candidate evidence for one query (all arrays have one entry per candidate).

    Attributes:
        dense: Cosine of the sentence to the query.
        lexical: BM25 score of the sentence.
        paragraph_lexical: BM25 score of the sentence's paragraph (paragraphs as documents).
        paragraph_dense: Cosine of the paragraph centroid (mean of its sentence vectors).
        neighbour_dense: Best cosine of the sentences just before and after it in the
            same paragraph (the sentence's own cosine when it stands alone).
        document_dense: Cosine of the document centroid.
        title_dense: Cosine of the document's first sentence (the headline or title).
        coverage: IDF-weighted share of the query's words found in the sentence (0..1).
        answer_type: 1.0 when the sentence holds the kind of words the question asks for
            (a date for "when", a number for "how many", a name for "who"), else 0.0.
        length: Number of words in the sentence.
        title: 1.0 when the sentence is its document's first line (headline or title),
            else 0.0 (None: no candidate is a title).
        question_kind: The kind of answer the question asks for ("when", "count", "who",
            "where" or None); ``answer_type`` also enters as one feature per kind, since a
            date matters more to a "when" question than a name to a "who" question.
        loose_coverage: Like ``coverage`` but a query word also counts as found when it
            and a sentence word share a stem prefix (:func:`loose_coverage`; None: same
            as ``coverage``).
    """

    dense: np.ndarray
    lexical: np.ndarray
    paragraph_lexical: np.ndarray
    paragraph_dense: np.ndarray
    neighbour_dense: np.ndarray
    document_dense: np.ndarray
    title_dense: np.ndarray
    coverage: np.ndarray
    answer_type: np.ndarray
    length: np.ndarray
    title: np.ndarray | None = None
    question_kind: str | None = None
    loose_coverage: np.ndarray | None = None


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


def scale_by_max(values: np.ndarray) -> np.ndarray:
    """``values / max(values)`` when the max is positive, else zeros."""
    values = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0)
    top = float(values.max()) if values.size else 0.0
    return values / top if top > 0 else np.zeros_like(values)


def weighted_coverage(query_tokens: Sequence[str], text_tokens: Sequence[str], idf: Mapping[str, float]) -> float:
    """IDF-weighted share of the distinct query tokens that occur in the text (0..1).

    Tokens missing from ``idf`` get the largest weight (rare words count most): the
    mapping's ``ceiling`` when it has one (:class:`citeqa.lexical.Idf`), else its max.
    """
    wanted = set(query_tokens)
    if not wanted:
        return 0.0
    ceiling = getattr(idf, "ceiling", None)
    fallback = float(ceiling) if ceiling is not None else max(idf.values(), default=1.0)
    weights = {t: float(idf.get(t, fallback)) for t in wanted}
    total = sum(weights.values())
    present = set(text_tokens)
    return sum(w for t, w in weights.items() if t in present) / total if total > 0 else 0.0


#: Shortest stem that may match a longer stem it starts (see :func:`loose_coverage`).
MIN_PREFIX = 5


def stems_match(a: str, b: str, min_prefix: int = MIN_PREFIX) -> bool:
    """True when two stems are equal or the shorter (at least ``min_prefix`` long) starts the longer.

    Catches derivations the Snowball stemmer keeps apart ("occupi" from "occupied" and
    "occup" from "occupation").
    """
    if a == b:
        return True
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    return len(short) >= min_prefix and long_.startswith(short)


def loose_coverage(query_tokens: Sequence[str], text_tokens: Sequence[str], idf: Mapping[str, float]) -> float:
    """:func:`weighted_coverage` where a query token counts as present when a text token matches it by :func:`stems_match`."""
    return float(loose_coverages(query_tokens, [text_tokens], idf)[0])


def loose_coverages(
    query_tokens: Sequence[str], texts_tokens: Sequence[Sequence[str]], idf: Mapping[str, float]
) -> np.ndarray:
    """:func:`loose_coverage` of many texts at once (each distinct token is compared once)."""
    wanted = set(query_tokens)
    vocabulary = {t for tokens in texts_tokens for t in tokens}
    matches = {q: {t for t in vocabulary if stems_match(q, t)} if len(q) >= MIN_PREFIX else {q} for q in wanted}
    out = np.zeros(len(texts_tokens))
    for i, tokens in enumerate(texts_tokens):
        present = set(tokens)
        found = [q for q, forms in matches.items() if not forms.isdisjoint(present)]
        out[i] = weighted_coverage(query_tokens, found, idf)
    return out


def feature_matrix(context: CandidateContext) -> np.ndarray:
    """The ``(m, len(FEATURES))`` feature matrix of ``m`` candidates, columns as in FEATURES.

    Scores are made comparable across queries: BM25 values are divided by the query's
    best, dense values are also given as the gap to the query's best, ranks enter as
    reciprocal-rank-fusion scores, and the dense cosine also as its reciprocal rank and
    its z-score among the query's candidates (how far it stands out of the pool; this
    lets a paraphrase that only the embedding recognizes win over word overlap).
    """
    dense = np.asarray(context.dense, dtype=np.float64)
    lexical = np.nan_to_num(np.asarray(context.lexical, dtype=np.float64), nan=0.0)
    m = dense.shape[0]
    if m == 0:
        return np.zeros((0, len(FEATURES)))
    dense_rank = ranks_of(dense)
    lexical_rank = np.where(lexical > 0, ranks_of(lexical), 0)
    rrf = reciprocal_rank_fusion([dense_rank, lexical_rank]) * RRF_K / 2
    spread = float(dense.std())
    title = np.zeros(m) if context.title is None else np.asarray(context.title, dtype=np.float64)
    columns = {
        "dense": dense,
        "dense_gap": dense - dense.max(),
        "lexical": scale_by_max(lexical),
        "rrf": rrf,
        "paragraph_lexical": scale_by_max(context.paragraph_lexical),
        "paragraph_dense": np.asarray(context.paragraph_dense, dtype=np.float64),
        "neighbour_dense": np.asarray(context.neighbour_dense, dtype=np.float64),
        "document_dense": np.asarray(context.document_dense, dtype=np.float64),
        "title_dense": np.asarray(context.title_dense, dtype=np.float64),
        "coverage": np.asarray(context.coverage, dtype=np.float64),
        "answer_type": np.asarray(context.answer_type, dtype=np.float64),
        "length": np.log1p(np.asarray(context.length, dtype=np.float64)) / 4.0,
        "title": title,
        "dense_rank": 1.0 / dense_rank,
        "dense_z": (dense - dense.mean()) / spread if spread > 1e-9 else np.zeros(m),
        "loose_coverage": np.asarray(
            context.coverage if context.loose_coverage is None else context.loose_coverage, dtype=np.float64
        ),
    }
    typed = np.asarray(context.answer_type, dtype=np.float64)
    for kind in TYPED_KINDS:
        columns[f"answer_{kind}"] = typed if context.question_kind == kind else np.zeros(m)
    return np.column_stack([columns[name] for name in FEATURES])


def linear_scores(features: np.ndarray, weights: Mapping[str, float], bias: float = 0.0) -> np.ndarray:
    """Score rows of a feature matrix with named weights (unknown names are an error)."""
    unknown = set(weights) - set(FEATURES)
    if unknown:
        raise InvalidArgumentError(f"unknown reranker features: {sorted(unknown)}")
    vector = np.array([float(weights.get(name, 0.0)) for name in FEATURES])
    return np.asarray(features, dtype=np.float64) @ vector + bias


def mlp_scores(features: np.ndarray, mlp: Mapping[str, object]) -> np.ndarray:
    """The non-linear part of the reranker: one tanh hidden layer over standardized features.

    Args:
        features: ``(m, len(FEATURES))`` matrix from :func:`feature_matrix`.
        mlp: Plain-JSON layer: ``mean`` and ``scale`` (per feature name), ``hidden`` (per
            feature name, one weight per hidden unit), ``hidden_bias`` and ``output``
            (one value per hidden unit). Features it does not name get no weight.

    Returns:
        ``output · tanh(((x - mean) / scale) @ hidden + hidden_bias)`` for every row.
    """
    hidden = mlp["hidden"]
    if not isinstance(hidden, Mapping):
        raise InvalidArgumentError("reranker mlp 'hidden' must map feature names to weight lists")
    unknown = set(hidden) - set(FEATURES)
    if unknown:
        raise InvalidArgumentError(f"unknown reranker features in mlp: {sorted(unknown)}")
    bias = np.asarray(mlp["hidden_bias"], dtype=np.float64)
    output = np.asarray(mlp["output"], dtype=np.float64)
    mean, scale = mlp["mean"], mlp["scale"]
    if not isinstance(mean, Mapping) or not isinstance(scale, Mapping):
        raise InvalidArgumentError("reranker mlp 'mean' and 'scale' must map feature names to numbers")
    matrix = np.zeros((len(FEATURES), bias.shape[0]))
    shift, spread = np.zeros(len(FEATURES)), np.ones(len(FEATURES))
    for name, row in hidden.items():
        j = FEATURES.index(name)
        values = np.asarray(row, dtype=np.float64).ravel()
        if values.shape[0] != bias.shape[0]:
            raise InvalidArgumentError(f"reranker mlp feature {name!r} has {values.shape[0]} hidden weights, expected {bias.shape[0]}")
        matrix[j] = values
        shift[j], spread[j] = float(mean[name]), float(scale[name])
    if matrix.shape[1] != output.shape[0]:
        raise InvalidArgumentError(f"reranker mlp has {matrix.shape[1]} hidden units but {output.shape[0]} output weights")
    standardized = (np.asarray(features, dtype=np.float64) - shift) / spread
    return np.tanh(standardized @ matrix + bias) @ output


def reranker_scores(
    features: np.ndarray, weights: Mapping[str, float], mlp: Mapping[str, object] | None = None
) -> np.ndarray:
    """Linear scores plus, when given, the hidden layer's (:func:`mlp_scores`)."""
    scores = linear_scores(features, weights)
    return scores if mlp is None else scores + mlp_scores(features, mlp)


def softmax(scores: np.ndarray) -> np.ndarray:
    """Softmax of a 1-D array (stable)."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size == 0:
        return scores
    shifted = np.exp(scores - scores.max())
    return shifted / shifted.sum()


def rerank(
    ids: np.ndarray,
    context: CandidateContext,
    weights: Mapping[str, float],
    top_k: int,
    mlp: Mapping[str, object] | None = None,
) -> Ranking:
    """Score candidates with the reranker and keep the best ``top_k``.

    Args:
        ids: Sentence rows of the candidates.
        context: Their evidence (same order as ``ids``).
        weights: Linear feature weights (see :data:`FEATURES`).
        top_k: How many to return.
        mlp: Optional hidden layer added to the linear score (:func:`mlp_scores`).

    Returns:
        A :class:`Ranking` whose scores are the reranker's softmax probabilities over the
        candidates (they sum to at most 1 and say how sure the ranking is).
    """
    if top_k <= 0:
        raise InvalidArgumentError(f"top_k must be > 0, got {top_k}")
    ids = np.asarray(ids, dtype=np.int64)
    if ids.shape[0] == 0:
        empty = np.zeros(0, dtype=np.float32)
        return Ranking(ids=ids, scores=empty, dense=empty, lexical=empty)
    scores = softmax(reranker_scores(feature_matrix(context), weights, mlp))
    order = np.argsort(-scores, kind="stable")[:top_k]
    return Ranking(
        ids=ids[order],
        scores=scores[order].astype(np.float32),
        dense=np.asarray(context.dense, dtype=np.float32)[order],
        lexical=np.asarray(context.lexical, dtype=np.float32)[order],
    )


def single_rank(ids: np.ndarray, scores: np.ndarray, dense: np.ndarray, lexical: np.ndarray, top_k: int) -> Ranking:
    """A :class:`Ranking` ordering candidates by one score (the dense-only or BM25-only baselines)."""
    if top_k <= 0:
        raise InvalidArgumentError(f"top_k must be > 0, got {top_k}")
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")[:top_k]
    return Ranking(
        ids=np.asarray(ids, dtype=np.int64)[order],
        scores=np.asarray(scores, dtype=np.float32)[order],
        dense=np.asarray(dense, dtype=np.float32)[order],
        lexical=np.asarray(lexical, dtype=np.float32)[order],
    )


#: Default abstention thresholds (``data/reranker.json`` may override them).
ABSTAIN_DEFAULTS = {"hard_floor": 0.05, "soft_floor": 0.30, "min_coverage": 0.10}


def should_abstain(
    best_dense: float,
    coverage: float,
    thresholds: Mapping[str, float],
    *,
    answer_type_found: bool = True,
    focus_found: bool = True,
) -> bool:
    """Abstain when nothing in the documents is close enough to the query.

    Calibration (shipped thresholds, ``data/reranker.json``; measured with
    ``citeqa eval`` on ``data/eval/lachin-gold.jsonl``): off-topic questions reach a best
    cosine of at most ~0.25 and none of their words occurs around the best sentence
    (coverage 0), while answerable ones either share words with the best sentence's
    paragraph/headline (coverage >= 0.24) or reach a cosine >= 0.39. So: below
    ``hard_floor`` (0.05) always abstain; between the floors abstain only when coverage is
    under ``min_coverage`` (0.10); at or above ``soft_floor`` (0.30) answer.

    Near-topic questions share the documents' words, so similarity cannot catch them;
    the *answer type* can: a "when" or "how many/much" question none of whose best
    sentences holds a date or a number ("How many soldiers took part?" asked of an
    article that gives no figure) is not answered (``answer_type_found`` False); and so
    can the question's *focus*: a name, role, counted thing, speaker or future date it
    asks about that the documents lack ("Did NATO comment?" asked of an article that
    never names NATO; :mod:`citeqa.focus`) is not answered (``focus_found`` False).

    Args:
        best_dense: The best cosine between the query and any candidate sentence.
        coverage: IDF-weighted share of the query's words present around the best
            sentence (its paragraph and its document's headline), 0..1.
        thresholds: ``hard_floor`` (always abstain below this cosine), ``soft_floor``
            (never abstain above it on similarity alone), ``min_coverage`` (between the
            two floors, abstain when coverage is below this).
        answer_type_found: False when the question asks for a date or a number and none
            of the best sentences holds one.
        focus_found: False when the documents lack what the question is about (a name
            it uses, the role or counted thing it asks for; see :mod:`citeqa.focus`).
    """
    t = {**ABSTAIN_DEFAULTS, **thresholds}
    if not answer_type_found or not focus_found:
        return True
    if best_dense < t["hard_floor"]:
        return True
    if best_dense >= t["soft_floor"]:
        return False
    return coverage < t["min_coverage"]


def fuse_rankings(rankings: Sequence[Ranking], top_k: int) -> Ranking:
    """Average several rankings of the same index by score (absent = 0), best ``top_k`` kept.

    Used for follow-ups: the question as asked and as resolved against the conversation
    are both ranked (scores are reranker probabilities), and a sentence both agree on wins.
    """
    if top_k <= 0:
        raise InvalidArgumentError(f"top_k must be > 0, got {top_k}")
    if not rankings:
        raise InvalidArgumentError("rankings must not be empty")
    total: dict[int, float] = {}
    dense: dict[int, float] = {}
    lexical: dict[int, float] = {}
    for ranking in rankings:
        for i, s, d, l in zip(ranking.ids, ranking.scores, ranking.dense, ranking.lexical):
            key = int(i)
            total[key] = total.get(key, 0.0) + float(s) / len(rankings)
            dense[key] = max(dense.get(key, -1.0), float(d))
            lexical[key] = max(lexical.get(key, 0.0), float(l))
    order = sorted(total, key=lambda key: (-total[key], key))[:top_k]
    return Ranking(
        ids=np.array(order, dtype=np.int64),
        scores=np.array([total[k] for k in order], dtype=np.float32),
        dense=np.array([dense[k] for k in order], dtype=np.float32),
        lexical=np.array([lexical[k] for k in order], dtype=np.float32),
    )
