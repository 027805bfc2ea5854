"""Unit tests of the pure ranking functions, driven by tiny hand-made arrays."""

from __future__ import annotations

import numpy as np
import pytest

from citeqa.answer.abstain import should_abstain
from citeqa.errors import InvalidArgumentError
from citeqa.search.candidates import candidate_ids, top_n
from citeqa.search.features import (
    FEATURES,
    CandidateContext,
    feature_matrix,
    same_text_groups,
    scale_by_max,
    weighted_coverage,
)
from citeqa.search.fusion import Ranking, fuse_rankings, hybrid_rank
from citeqa.search.rerank import best_of_each_text, rerank


def _context(m: int, **overrides: list[float]) -> CandidateContext:
    base: dict = {name: np.zeros(m) for name in CandidateContext.__dataclass_fields__ if name not in ("question_kind", "same_text")}
    base.update({k: np.asarray(v, dtype=float) for k, v in overrides.items()})
    return CandidateContext(**base)


def test_top_n_returns_best_first_and_can_drop_non_positive() -> None:
    scores = np.array([0.1, 0.0, 0.9, 0.5, -1.0])
    assert top_n(scores, 2).tolist() == [2, 3]
    assert top_n(scores, 10, positive_only=True).tolist() == [2, 3, 0]
    with pytest.raises(InvalidArgumentError, match="n must be > 0, got 0"):
        top_n(scores, 0)


def test_candidate_ids_merge_dense_and_lexical_without_duplicates_or_minus_one() -> None:
    merged = candidate_ids(np.array([3, -1, 1]), np.array([1, 4, 9]), n=5)
    assert merged.tolist() == [3, 1, 4]


def test_scale_by_max_is_zero_when_nothing_matches() -> None:
    assert scale_by_max(np.array([2.0, 1.0])).tolist() == [1.0, 0.5]
    assert scale_by_max(np.zeros(3)).tolist() == [0.0, 0.0, 0.0]


def test_weighted_coverage_counts_rare_words_more() -> None:
    idf = {"erdogan": 3.0, "visit": 1.0}
    assert weighted_coverage(["erdogan", "visit"], ["erdogan"], idf) == pytest.approx(0.75)
    assert weighted_coverage(["erdogan", "visit"], ["visit"], idf) == pytest.approx(0.25)
    assert weighted_coverage([], ["visit"], idf) == 0.0


def test_feature_matrix_has_one_column_per_feature_in_order() -> None:
    ctx = _context(3, dense=[0.2, 0.6, 0.4], lexical=[0.0, 2.0, 4.0], coverage=[0.1, 0.2, 0.3])
    x = feature_matrix(ctx)
    assert x.shape == (3, len(FEATURES))
    assert x[:, FEATURES.index("dense_gap")].tolist() == pytest.approx([-0.4, 0.0, -0.2])
    assert x[:, FEATURES.index("lexical")].tolist() == pytest.approx([0.0, 0.5, 1.0])
    assert x[:, FEATURES.index("coverage")].tolist() == pytest.approx([0.1, 0.2, 0.3])


def test_rerank_orders_by_weighted_features_and_gives_probabilities() -> None:
    ids = np.array([10, 11, 12])
    ctx = _context(3, dense=[0.9, 0.1, 0.5], paragraph_lexical=[0.0, 5.0, 1.0])
    by_dense = rerank(ids, ctx, {"dense": 5.0}, top_k=3)
    assert by_dense.ids.tolist() == [10, 12, 11]
    by_paragraph = rerank(ids, ctx, {"paragraph_lexical": 5.0}, top_k=2)
    assert by_paragraph.ids.tolist() == [11, 12]
    assert float(by_dense.scores.sum()) == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(InvalidArgumentError, match="unknown reranker features"):
        rerank(ids, ctx, {"nonsense": 1.0}, top_k=1)


def test_hybrid_rank_never_returns_faiss_minus_one() -> None:
    ranking = hybrid_rank(np.array([2, -1]), np.array([0.9, 0.5]), np.array([0.0, 1.0, 0.0]), top_k=5)
    assert -1 not in ranking.ids.tolist()
    assert set(ranking.ids.tolist()) == {1, 2}


def test_fuse_rankings_prefers_sentences_both_rankings_agree_on() -> None:
    def ranking(ids: list[int], scores: list[float]) -> Ranking:
        z = np.zeros(len(ids), dtype=np.float32)
        return Ranking(np.array(ids), np.array(scores, dtype=np.float32), z, z)

    fused = fuse_rankings([ranking([1, 2], [0.6, 0.4]), ranking([3, 2], [0.55, 0.45])], top_k=3)
    assert fused.ids.tolist() == [2, 1, 3]


def test_should_abstain_uses_coverage_only_between_the_floors() -> None:
    t = {"hard_floor": 0.05, "soft_floor": 0.3, "min_coverage": 0.1}
    assert should_abstain(0.02, 1.0, t) is True
    assert should_abstain(0.2, 0.0, t) is True
    assert should_abstain(0.2, 0.5, t) is False
    assert should_abstain(0.35, 0.0, t) is False


def test_feature_matrix_marks_titles_and_how_far_dense_stands_out() -> None:
    ctx = _context(3, dense=[0.2, 0.7, 0.3], title=[1.0, 0.0, 0.0])
    x = feature_matrix(ctx)
    assert x[:, FEATURES.index("title")].tolist() == [1.0, 0.0, 0.0]
    assert x[:, FEATURES.index("dense_rank")].tolist() == pytest.approx([1 / 3, 1.0, 0.5])
    z = x[:, FEATURES.index("dense_z")]
    assert z[1] > 1.0 > 0 > z[2] > z[0]


def test_missing_answer_type_abstains_even_when_similar() -> None:
    t = {"hard_floor": 0.05, "soft_floor": 0.3, "min_coverage": 0.1}
    assert should_abstain(0.8, 1.0, t, answer_type_found=False) is True
    assert should_abstain(0.8, 1.0, t, answer_type_found=True) is False


def _levels(rng: np.random.Generator, m: int, kind: str, share: float) -> np.ndarray:
    """Answer-type levels of ``m`` candidates: a ``share`` of them typed, half of those at level 2
    for the kinds with a stricter type ("where", "count"; :func:`citeqa.question.answer_type_level`)."""
    typed = rng.random(m) < share
    strict = typed & (rng.random(m) < 0.5) & (kind in ("where", "count"))
    return typed.astype(float) + strict


@pytest.mark.parametrize("kind", ["when", "who", "count", "where"])
def test_answer_types_checked_lazily_give_the_full_top_k_with_fewer_checks(kind: str, monkeypatch) -> None:
    from dataclasses import replace

    from citeqa.search import rerank as module

    model = module.load_reranker()
    rng = np.random.default_rng(len(kind))
    m = 100
    checked = {"bounded": 0, "top k only": 0}
    bounded = module.SOFTMAX_TOLERANCE
    for trial in range(30):
        dense = rng.uniform(0.1, 0.8, m)
        ctx = replace(
            _context(m, dense=dense, lexical=rng.exponential(2.0, m) * (rng.random(m) < 0.5),
                     paragraph_lexical=rng.exponential(2.0, m), paragraph_dense=dense * 0.8,
                     neighbour_dense=dense * 0.9, document_dense=dense * 0.7, title_dense=dense * 0.6,
                     coverage=rng.random(m), length=rng.integers(5, 40, m), loose_coverage=rng.random(m)),
            question_kind=kind,
        )
        truth = _levels(rng, m, kind, 0.4)
        ids = np.arange(1000, 1000 + m)
        full = rerank(ids, replace(ctx, answer_type=truth), model.weights, 10, mlp=model.mlp)
        for mode, tolerance in (("bounded", bounded), ("top k only", np.inf)):
            asked: list[int] = []

            def answer_type_of(positions: np.ndarray, asked: list[int] = asked, truth: np.ndarray = truth) -> np.ndarray:
                asked.extend(int(p) for p in positions)
                return truth[positions]

            monkeypatch.setattr(module, "SOFTMAX_TOLERANCE", tolerance)
            lazy = rerank(ids, ctx, model.weights, 10, mlp=model.mlp, answer_type_of=answer_type_of)
            assert lazy.ids.tolist() == full.ids.tolist(), trial
            assert len(asked) == len(set(asked))
            if mode == "bounded":
                np.testing.assert_allclose(lazy.scores, full.scores, rtol=1.01 * bounded)
            checked[mode] += len(asked)
    assert checked["top k only"] < 0.6 * 30 * m  # most candidates are never read with regular expressions
    assert checked["top k only"] <= checked["bounded"] <= 30 * m


@pytest.mark.parametrize("kind", ["when", "who", "count", "where"])
def test_every_answer_type_checked_lazily_scores_exactly_as_the_full_computation(kind: str, monkeypatch) -> None:
    from dataclasses import replace

    from citeqa.search import rerank as module

    model = module.load_reranker()
    rng = np.random.default_rng(7)
    m = 60
    dense = rng.uniform(0.1, 0.8, m)
    ctx = replace(
        _context(m, dense=dense, lexical=rng.exponential(2.0, m), paragraph_lexical=rng.exponential(2.0, m),
                 paragraph_dense=dense * 0.8, neighbour_dense=dense * 0.9, document_dense=dense * 0.7,
                 title_dense=dense * 0.6, coverage=rng.random(m), length=rng.integers(5, 40, m)),
        question_kind=kind,
    )
    truth = _levels(rng, m, kind, 0.5)
    assert (truth == 2).any() == (kind in ("where", "count"))
    monkeypatch.setattr(module, "SOFTMAX_TOLERANCE", -1.0)  # never settled early: every candidate is checked
    lazy = rerank(np.arange(m), ctx, model.weights, m, mlp=model.layer, answer_type_of=lambda p: truth[p])
    full = rerank(np.arange(m), replace(ctx, answer_type=truth), model.weights, m, mlp=model.mlp)
    assert lazy.ids.tolist() == full.ids.tolist()
    np.testing.assert_array_equal(lazy.scores, full.scores)


def test_the_hidden_layer_read_once_scores_as_its_json() -> None:
    from citeqa.search.features import FEATURES
    from citeqa.search.rerank import load_reranker, mlp_layer, mlp_scores

    model = load_reranker()
    assert model.mlp is not None and model.layer is model.layer  # read once, then kept
    x = np.random.default_rng(3).normal(size=(40, len(FEATURES)))
    np.testing.assert_array_equal(mlp_scores(x, model.layer), mlp_scores(x, model.mlp))
    assert mlp_layer(model.layer) is model.layer
    with pytest.raises(InvalidArgumentError, match="nonsense"):
        mlp_layer({**model.mlp, "hidden": {"nonsense": [0.0]}})


def test_top_n_of_all_positive_scores_keeps_every_entry_and_breaks_ties_by_position() -> None:
    scores = np.array([2.0, 1.0, 2.0, 3.0, 1.0, 2.0], dtype=np.float32)
    for positive_only in (False, True):
        assert top_n(scores, 6, positive_only=positive_only).tolist() == [3, 0, 2, 5, 1, 4]
        assert top_n(scores, 1, positive_only=positive_only).tolist() == [3]
        assert set(top_n(scores, 3, positive_only=positive_only).tolist()) <= {3, 0, 2, 5}
    assert top_n(np.zeros(0), 3, positive_only=True).tolist() == []
    assert top_n(np.array([0.0, -1.0]), 3, positive_only=True).tolist() == []


def test_same_text_groups_point_each_repeat_at_its_first_copy_and_read_only_suspects() -> None:
    texts = ["A trait defines behavior.", "Other words here.", "A  trait defines\nbehavior.", "Third one."]
    read: list[int] = []

    def texts_of(positions: np.ndarray) -> list[str]:
        read.extend(int(p) for p in positions)
        return [texts[int(p)] for p in positions]

    # 0 and 2: same words and BM25 score (whitespace aside); 3 shares a length but not a score
    groups = same_text_groups(np.array([4.0, 3.0, 4.0, 4.0]), np.array([2.5, 0.0, 2.5, 1.0]), texts_of)
    assert groups.tolist() == [0, 1, 0, 3]
    assert sorted(read) == [0, 2]
    # a same length and score with other words is no repeat; nothing repeated: None, nothing read
    texts[2] = "A trait defines behaviour."
    assert same_text_groups(np.array([4.0, 4.0]), np.array([2.5, 2.5]), lambda p: [texts[0], texts[2]]) is None
    assert same_text_groups(np.array([4.0, 3.0]), np.array([2.5, 2.5]), texts_of) is None and sorted(read) == [0, 2]


def test_best_of_each_text_keeps_the_best_scored_copy_only() -> None:
    raw = best_of_each_text(np.array([1.0, 3.0, 2.0, 0.5]), np.array([0, 1, 0, 1]))
    assert raw.tolist() == [-np.inf, 3.0, 2.0, -np.inf]
    # a tie keeps the copy first in the index (smallest sentence id), else the first position
    assert best_of_each_text(np.array([2.0, 2.0]), np.array([0, 0])).tolist() == [2.0, -np.inf]
    assert best_of_each_text(np.array([2.0, 2.0, 1.0]), np.array([0, 0, 2]), np.array([70, 12, 5])).tolist() == [-np.inf, 2.0, 1.0]
    with pytest.raises(InvalidArgumentError, match="one entry per candidate"):
        best_of_each_text(np.array([1.0, 2.0]), np.array([0]))


def test_rerank_gives_a_repeated_sentence_one_place_and_the_share_it_has_alone() -> None:
    weights = {"dense": 4.0}
    alone = rerank(np.array([10, 11, 12]), _context(3, dense=[0.9, 0.5, 0.2]), weights, top_k=3)
    twice = rerank(
        np.array([10, 20, 11, 12]), _context(4, dense=[0.9, 0.9, 0.5, 0.2], same_text=[0, 0, 2, 3]), weights, top_k=3
    )
    assert twice.ids.tolist() == [10, 11, 12]
    assert twice.scores.tolist() == pytest.approx(alone.scores.tolist())
    unmerged = rerank(np.array([10, 20, 11, 12]), _context(4, dense=[0.9, 0.9, 0.5, 0.2]), weights, top_k=3)
    assert unmerged.scores[0] < alone.scores[0] - 0.1


def test_distinct_ranks_count_a_repeated_text_once() -> None:
    from citeqa.search.features import distinct_ranks

    scores = np.array([0.9, 0.9, 0.5, 0.7])
    assert distinct_ranks(scores, None).tolist() == [1, 2, 4, 3]
    assert distinct_ranks(scores, np.array([0, 0, 2, 3])).tolist() == [1, 1, 3, 2]


def test_feature_matrix_of_a_pool_with_a_repeat_equals_the_pool_without_it() -> None:
    alone = _context(3, dense=[0.9, 0.5, 0.2], lexical=[3.0, 0.0, 1.0])
    twice = _context(4, dense=[0.9, 0.9, 0.5, 0.2], lexical=[3.0, 3.0, 0.0, 1.0], same_text=[0, 0, 2, 3])
    assert feature_matrix(twice)[[0, 2, 3]] == pytest.approx(feature_matrix(alone))
    assert feature_matrix(twice)[1] == pytest.approx(feature_matrix(alone)[0])
