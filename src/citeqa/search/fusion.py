"""Joiners: fuse rankings (reciprocal rank fusion, score averaging) and the :class:`Ranking` type.

Pure functions over arrays; no model, no files. Also the single-signal baselines
("dense", "bm25") that ``citeqa eval`` measures the product against.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidArgumentError

RRF_K = 60


@dataclass(frozen=True)
class Ranking:
    """Sentences ranked for one query, best first.

    Attributes:
        ids: Sentence rows, best first (never -1).
        scores: Fused scores, descending (higher is better).
        dense: Cosine similarity of each ranked sentence to the query.
        lexical: BM25 score of each ranked sentence.
        cross: The cross-encoder's probability that each ranked sentence answers the
            query (NaN where it did not read it); None when no cross-encoder ran.
    """

    ids: np.ndarray
    scores: np.ndarray
    dense: np.ndarray
    lexical: np.ndarray
    cross: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def head(self, k: int) -> Ranking:
        """The best ``k`` (all when there are fewer)."""
        if k <= 0:
            raise InvalidArgumentError(f"k must be > 0, got {k}")
        cross = None if self.cross is None else self.cross[:k]
        return Ranking(self.ids[:k], self.scores[:k], self.dense[:k], self.lexical[:k], cross)

    def reordered(self, order: np.ndarray) -> Ranking:
        """The entries at positions ``order``, in that order (a reranker's move: every column goes with its row)."""
        cross = None if self.cross is None else self.cross[order]
        return Ranking(self.ids[order], self.scores[order], self.dense[order], self.lexical[order], cross)


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
    cross: dict[int, float] = {}
    for ranking in rankings:
        probabilities = ranking.cross if ranking.cross is not None else np.full(len(ranking), np.nan)
        for i, s, d, l, c in zip(ranking.ids, ranking.scores, ranking.dense, ranking.lexical, probabilities):
            key = int(i)
            total[key] = total.get(key, 0.0) + float(s) / len(rankings)
            dense[key] = max(dense.get(key, -1.0), float(d))
            lexical[key] = max(lexical.get(key, 0.0), float(l))
            if not np.isnan(c):  # the cross-encoder's best reading of this sentence (asked or resolved question)
                cross[key] = max(cross.get(key, 0.0), float(c))
    order = sorted(total, key=lambda key: (-total[key], key))[:top_k]
    any_cross = any(r.cross is not None for r in rankings)
    return Ranking(
        ids=np.array(order, dtype=np.int64),
        scores=np.array([total[k] for k in order], dtype=np.float32),
        dense=np.array([dense[k] for k in order], dtype=np.float32),
        lexical=np.array([lexical[k] for k in order], dtype=np.float32),
        cross=np.array([cross.get(k, np.nan) for k in order], dtype=np.float32) if any_cross else None,
    )
