"""The corpus-wide arrays computed at build time: mean vectors read block by block."""

from __future__ import annotations

import numpy as np

from citeqa.build import context
from citeqa.build.pipeline import _join


def test_group_means_by_blocks_equal_one_pass_whatever_the_block_size(monkeypatch):
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((500, 8)).astype(np.float32)
    starts = np.unique(np.r_[0, rng.integers(1, 500, 60)])
    one_pass = context.group_means(vectors, starts)
    sums = np.add.reduceat(vectors, starts, axis=0)
    np.testing.assert_array_equal(one_pass, (sums / np.linalg.norm(sums, axis=1, keepdims=True)).astype(np.float32))
    for block in (1, 7, 64, 499):  # groups cut by block ends, blocks inside a group
        monkeypatch.setattr(context, "MEAN_BLOCK", block)
        np.testing.assert_allclose(context.group_means(vectors, starts), one_pass, atol=1e-6)
        np.testing.assert_allclose(context.group_means(vectors.astype(np.float16), starts), one_pass, atol=2e-3)


def test_joined_vectors_keep_their_order_and_release_each_part():
    parts = [np.full((n, 4), i, dtype=np.float32) for i, n in enumerate((3, 0, 5, 1))]
    joined = _join(parts, 4, np.float16)
    assert joined.dtype == np.float16 and joined.shape == (9, 4)
    assert joined[:, 0].tolist() == [0, 0, 0, 2, 2, 2, 2, 2, 3]
    assert all(p.shape[0] == 0 for p in parts)
