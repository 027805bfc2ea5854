"""Fusion over hand-made arrays: FAISS's -1 ids never become citations."""

from __future__ import annotations

import numpy as np
import pytest

from citeqa.errors import InvalidArgumentError
from citeqa.search.fusion import Ranking, hybrid_rank, reciprocal_rank_fusion


def test_minus_one_ids_from_faiss_are_dropped():
    ranking = hybrid_rank(
        dense_ids=np.array([2, -1, -1]),
        dense_scores=np.array([0.9, -3.4e38, -3.4e38], dtype=np.float32),
        lexical_scores=np.zeros(3, dtype=np.float32),
        top_k=5,
    )
    assert ranking.ids.tolist() == [2]


def test_nan_scores_are_not_ranked():
    ranking = hybrid_rank(
        dense_ids=np.array([0, 1]),
        dense_scores=np.array([np.nan, 0.5], dtype=np.float32),
        lexical_scores=np.array([np.nan, 0.0, 0.0], dtype=np.float32),
        top_k=3,
    )
    assert ranking.ids.tolist() == [1]


def test_an_item_both_rankers_like_wins():
    ranking = hybrid_rank(
        dense_ids=np.array([0, 1, 2]),
        dense_scores=np.array([0.9, 0.8, 0.1], dtype=np.float32),
        lexical_scores=np.array([0.0, 5.0, 1.0], dtype=np.float32),
        top_k=3,
    )
    assert ranking.ids[0] == 1
    assert list(ranking.scores) == sorted(ranking.scores, reverse=True)


def test_rrf_weights_and_unranked_items():
    fused = reciprocal_rank_fusion([np.array([1, 2, 0]), np.array([2, 1, 0])], weights=[2.0, 1.0], k=1)
    assert fused[0] == pytest.approx(2 / 2 + 1 / 3)
    assert fused[2] == 0.0


def test_bad_settings_are_refused_with_the_value():
    with pytest.raises(InvalidArgumentError, match="top_k must be > 0, got 0"):
        hybrid_rank(np.array([0]), np.array([1.0]), np.zeros(1), top_k=0)
    with pytest.raises(InvalidArgumentError, match="k must be > 0, got -1"):
        reciprocal_rank_fusion([np.array([1])], k=-1)


def _ranking(ids, scores):
    n = len(ids)
    return Ranking(np.array(ids, dtype=np.int64), np.array(scores, dtype=np.float32), np.linspace(0.9, 0.1, n).astype(np.float32), np.zeros(n, dtype=np.float32))


def test_head_keeps_the_best_k_and_refuses_a_bad_k():
    ranking = _ranking([5, 4, 3], [0.5, 0.3, 0.2])
    assert ranking.head(2).ids.tolist() == [5, 4] and ranking.head(2).scores.tolist() == pytest.approx([0.5, 0.3])
    assert len(ranking.head(10)) == 3
    with pytest.raises(InvalidArgumentError, match="k must be > 0, got 0"):
        ranking.head(0)
