"""Exact index for small corpora, calibrated IVF-SQ8 / HNSW-SQ8 above the threshold, CLI override."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from citeqa import Index, InvalidArgumentError, build_index
from citeqa.store.vectors import (
    APPROX_MIN_SENTENCES,
    HNSW_RECALL_TARGETS,
    RECALL_TARGETS,
    build_vector_index,
    calibration_queries,
    choose_index_type,
    near_data_queries,
    principal_axes,
    recall_at,
)

REPO = Path(__file__).resolve().parents[2]


def test_auto_is_exact_below_the_threshold_and_approximate_above():
    assert choose_index_type("auto", APPROX_MIN_SENTENCES - 1) == "flat"
    assert choose_index_type("auto", APPROX_MIN_SENTENCES) == "hnsw-sq8"
    assert choose_index_type("flat", 10**7) == "flat"
    with pytest.raises(InvalidArgumentError, match="'hnsw'"):
        choose_index_type("hnsw", 10)


def _clustered(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(200, dim))
    points = centers[rng.integers(0, 200, n)] + 0.6 * rng.normal(size=(n, dim))
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("kind", ["ivf-sq8", "hnsw-sq8"])
def test_approximate_index_keeps_recall_at_10_above_095_on_unseen_queries(kind):
    import faiss

    vectors = _clustered(30_000, 64, seed=1)
    built = build_vector_index(vectors, kind, seed=0)
    assert built.info["type"] == kind
    targets = RECALL_TARGETS if kind == "ivf-sq8" else HNSW_RECALL_TARGETS
    assert built.info["calibration"]["recall_at_10"] >= targets[10]
    # unseen queries of the kind each index is calibrated on (the HNSW one: question-like)
    sample = calibration_queries if kind == "ivf-sq8" else near_data_queries
    queries = sample(vectors, np.random.default_rng(99), 200)
    exact = faiss.IndexFlatIP(64)
    exact.add(vectors)
    _, truth = exact.search(queries, 100)
    _, found = built.index.search(queries, 100)
    if kind == "ivf-sq8":
        assert recall_at(found[:, :10], truth[:, :10]) >= 0.95
        assert built.index.nprobe == built.info["search"]["nprobe"] < built.info["params"]["nlist"]
    else:
        assert built.info["calibration"]["recall_at_50"] >= HNSW_RECALL_TARGETS[50]
        # calibrated to 0.95 on 300 queries: 200 others stay within sampling noise of it
        assert recall_at(found[:, :10], truth[:, :10]) >= 0.93
        assert recall_at(found[:, :50], truth[:, :50]) >= 0.93  # the depth the reranker reads
        assert built.index.hnsw.efSearch == built.info["search"]["efSearch"]


def test_principal_axes_are_orthonormal_and_ordered_by_variance():
    rng = np.random.default_rng(4)
    sample = (rng.normal(size=(5_000, 6)) * np.array([5.0, 0.1, 3.0, 1.0, 0.5, 0.2])).astype(np.float32)
    axes = principal_axes(sample, 3)
    assert axes.shape == (6, 3) and axes.dtype == np.float32
    np.testing.assert_allclose(axes.T @ axes, np.eye(3), atol=1e-5)
    assert np.argmax(np.abs(axes), axis=0).tolist() == [0, 2, 3]  # the three widest coordinates
    spread = (sample @ axes).var(axis=0)
    assert spread[0] > spread[1] > spread[2]


def test_hnsw_graph_linked_in_the_projection_survives_a_write_and_read():
    import faiss

    vectors = _clustered(20_000, 96, seed=5)  # more dimensions than the graph's
    built = build_vector_index(vectors, "hnsw-sq8", seed=0)
    assert built.info["params"]["graph"] == "PCA64,SQ8,L2"
    queries = near_data_queries(vectors, np.random.default_rng(7), 100)
    scores, ids = built.index.search(queries, 50)
    assert np.all(np.diff(scores, axis=1) <= 1e-6)  # best inner product first, not L2 order
    exact = faiss.IndexFlatIP(96)
    exact.add(vectors)
    _, truth = exact.search(queries, 50)
    assert recall_at(ids, truth) >= 0.93
    reread = faiss.deserialize_index(faiss.serialize_index(built.index))
    reread.hnsw.efSearch = built.index.hnsw.efSearch
    again_scores, again_ids = reread.search(queries, 50)
    np.testing.assert_array_equal(again_ids, ids)
    np.testing.assert_allclose(again_scores, scores, rtol=1e-6)
    rows = np.array([0, 7, 19_999], dtype=np.int64)
    np.testing.assert_allclose(reread.reconstruct_batch(rows), vectors[rows], atol=0.02)


def test_near_data_queries_sit_at_the_set_cosine_from_an_indexed_vector():
    vectors = _clustered(500, 32, seed=2)
    queries = near_data_queries(vectors, np.random.default_rng(1), 50, cosine=0.7)
    assert queries.dtype == np.float32 and queries.shape == (50, 32)
    np.testing.assert_allclose(np.linalg.norm(queries, axis=1), 1.0, atol=1e-5)
    nearest = (queries @ vectors.T).max(axis=1)
    assert np.all(nearest >= 0.7 - 1e-5)  # the vector each was made from is at 0.7
    assert np.median(nearest) < 0.9  # and they are not the indexed vectors themselves


def test_cli_build_can_force_the_approximate_index(tmp_path, article_index):
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    done = subprocess.run(
        [sys.executable, "-m", "citeqa", "build", "--index", str(tmp_path / "idx"), "--index-type", "ivf-sq8", "--quiet"],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "ivf-sq8 index" in done.stdout
    loaded = Index.load(tmp_path / "idx")
    assert loaded.manifest["faiss"]["type"] == "ivf-sq8"
    assert loaded._stored.vectors.nprobe == loaded.manifest["faiss"]["search"]["nprobe"]
    question = "Which groups took part in the underwater part of the exercise?"
    hnsw = build_index(None, tmp_path / "hnsw", index_type="hnsw-sq8")
    reloaded = Index.load(tmp_path / "hnsw")
    assert reloaded._stored.vectors.hnsw.efSearch == hnsw.manifest["faiss"]["search"]["efSearch"]
    assert reloaded.retrieve(question, k=1)[0].text == article_index.retrieve(question, k=1)[0].text
    assert loaded.retrieve(question, k=1)[0].text == article_index.retrieve(question, k=1)[0].text


def test_build_rejects_an_unknown_index_type(tmp_path, fake_embedder):
    with pytest.raises(InvalidArgumentError, match="index type"):
        build_index(None, tmp_path / "idx", embedder=fake_embedder, index_type="hnsw")


def test_single_query_search_matches_faiss_and_leaves_thread_settings_alone():
    import faiss

    from citeqa.store.vectors import VectorSearcher

    vectors = _clustered(2_000, 32, seed=3)
    index = faiss.IndexFlatIP(32)
    index.add(vectors)
    searcher = VectorSearcher(index)
    before = faiss.omp_get_max_threads()
    scores, ids = searcher.search(vectors[5], 4)
    assert faiss.omp_get_max_threads() == before
    expected_scores, expected_ids = index.search(vectors[5:6], 4)
    assert np.array_equal(ids, expected_ids) and np.allclose(scores, expected_scores)
    assert searcher.ntotal == 2_000 and ids[0, 0] == 5


def test_exact_search_by_blocks_finds_what_a_flat_index_finds(monkeypatch):
    import faiss

    from citeqa.store import vectors as module

    rng = np.random.default_rng(4)
    data = rng.standard_normal((5000, 32)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    queries = calibration_queries(data, rng, 40)
    flat = faiss.IndexFlatIP(32)
    flat.add(data)
    _, expected = flat.search(queries, 20)
    monkeypatch.setattr(module, "EXACT_BLOCK", 777)  # several blocks, the last one short
    found = module.exact_search(data.astype(np.float16), queries, 20)
    monkeypatch.setattr(module, "EXACT_QUERIES", 7)  # the queries a few at a time: the same ids
    assert np.array_equal(module.exact_search(data.astype(np.float16), queries, 20), found)
    assert recall_at(found, expected) >= 0.99  # float16 storage moves only near-ties
    assert module.exact_search(data[:5], queries, 20).shape == (40, 5)


def test_an_index_built_from_float16_blocks_holds_every_vector(monkeypatch):
    from citeqa.store import vectors as module

    rng = np.random.default_rng(5)
    data = rng.standard_normal((3000, 16)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    monkeypatch.setattr(module, "ADD_BLOCK", 1000)
    built = build_vector_index(data.astype(np.float16), "flat")
    assert built.index.ntotal == 3000
    np.testing.assert_allclose(built.index.reconstruct_n(0, 3000), data, atol=1e-3)


def test_recall_counts_a_found_copy_of_an_exact_best_sentence():
    # rows 0-3 are one sentence (four copies), row 4 another, row 5 far away
    vectors = np.array([[1, 0], [1, 0], [1, 0], [1, 0], [0.8, 0.6], [0, 1]], dtype=np.float32)
    queries = np.array([[1, 0]], dtype=np.float32)
    exact = np.array([[0, 1]])
    other_copies, worse, unfound = np.array([[2, 3]]), np.array([[2, 4]]), np.array([[2, -1]])
    assert recall_at(other_copies, exact) == 0.0  # by ids alone
    assert recall_at(other_copies, exact, vectors, queries) == 1.0
    assert recall_at(worse, exact, vectors, queries) == 0.5
    assert recall_at(unfound, exact, vectors, queries) == 0.5
    assert recall_at(exact, exact, vectors, queries) == 1.0


def test_hnsw_calibration_is_not_fooled_by_repeated_sentences():
    # a tenth of the rows repeat 30 sentences ("Usage", "Examples" head each help page)
    unique = _clustered(27_000, 64, seed=8)
    vectors = np.concatenate([unique, np.repeat(unique[:30], 100, axis=0)])
    built = build_vector_index(vectors, "hnsw-sq8", seed=0)
    calibration = built.info["calibration"]
    assert calibration["recall_at_10"] >= HNSW_RECALL_TARGETS[10]
    assert calibration["recall_at_50"] >= HNSW_RECALL_TARGETS[50]
