"""Fusion over hand-made arrays: FAISS's -1 ids never become citations."""

from __future__ import annotations

import numpy as np
import pytest

from citeqa.errors import InvalidArgumentError
from citeqa.search.fusion import Ranking, hybrid_rank, near_previous, reciprocal_rank_fusion


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


def test_a_follow_ups_candidates_near_the_previous_answer_come_up_and_the_rest_keep_their_order():
    # rows 0-9 in document 0, rows 10-19 in document 1; the previous answer cited row 12
    ranking = _ranking([3, 7, 14, 11, 16, 1], [0.30, 0.25, 0.15, 0.12, 0.10, 0.08])
    docs = np.array([0, 0, 1, 1, 1, 0])
    out = near_previous(ranking, docs, np.array([12]), np.array([1]), top_k=6)
    # 14 and 11 are within 2 rows of 12 in its document (x3: 0.45, 0.36); 16 is 4 rows away
    assert out.ids.tolist() == [14, 11, 3, 7, 16, 1]
    assert out.scores.sum() == pytest.approx(ranking.scores.sum())  # still shares of the same total
    assert out.scores[0] / out.scores[2] == pytest.approx(0.45 / 0.30)
    # each sentence keeps its own cosine and BM25 readings
    assert out.dense.tolist() == [ranking.dense[2], ranking.dense[3], ranking.dense[0], ranking.dense[1], ranking.dense[4], ranking.dense[5]]


def test_a_row_number_close_to_the_previous_answer_in_another_document_is_not_near():
    ranking = _ranking([9, 2], [0.6, 0.4])
    out = near_previous(ranking, np.array([0, 1]), np.array([10]), np.array([1]), top_k=2)
    # row 9 is one row from 10 but in document 0 (documents are runs of rows); row 2 is far
    assert out.ids.tolist() == [9, 2] and out.scores.tolist() == pytest.approx([0.6, 0.4])


def test_no_previous_answer_leaves_the_ranking_and_top_k_trims_it():
    ranking = _ranking([5, 4, 3], [0.5, 0.3, 0.2])
    out = near_previous(ranking, np.array([0, 0, 0]), np.zeros(0), np.zeros(0), top_k=2)
    assert out.ids.tolist() == [5, 4] and out.scores.tolist() == pytest.approx([0.5, 0.3])
    assert ranking.head(2).ids.tolist() == [5, 4] and len(ranking.head(10)) == 3


def test_near_previous_refuses_bad_settings_with_the_value():
    ranking = _ranking([1], [1.0])
    with pytest.raises(InvalidArgumentError, match="top_k must be > 0, got 0"):
        near_previous(ranking, np.array([0]), np.array([1]), np.array([0]), top_k=0)
    with pytest.raises(InvalidArgumentError, match="got -1 and 3.0"):
        near_previous(ranking, np.array([0]), np.array([1]), np.array([0]), top_k=1, window=-1)
    with pytest.raises(InvalidArgumentError, match="got 2 documents for 1 candidates"):
        near_previous(ranking, np.array([0, 1]), np.array([1]), np.array([0]), top_k=1)
    with pytest.raises(InvalidArgumentError, match="k must be > 0, got 0"):
        ranking.head(0)
