"""Short follow-ups stay where the conversation is (citeqa.search.conversation): a pure reorder on hand-made rankings."""

from __future__ import annotations

import numpy as np

from citeqa.search.conversation import document_first
from citeqa.search.fusion import Ranking


def _ranking(ids, cross=None):
    n = len(ids)
    return Ranking(np.array(ids), np.linspace(1.0, 0.1, n, dtype=np.float32), np.arange(n, dtype=np.float32), np.arange(n, 0, -1, dtype=np.float32), cross)


def test_the_conversations_document_goes_first_each_group_in_its_order():
    ranking = _ranking([10, 20, 11, 21, 12], cross=np.array([0.1, 0.2, 0.3, 0.4, 0.5], dtype=np.float32))
    moved = document_first(ranking, np.array([0, 1, 0, 1, 0]), 1)
    assert moved.ids.tolist() == [20, 21, 10, 11, 12]
    # every column moves with its row
    assert moved.scores.tolist() == ranking.scores[[1, 3, 0, 2, 4]].tolist()
    assert moved.dense.tolist() == [1, 3, 0, 2, 4] and moved.lexical.tolist() == [4, 2, 5, 3, 1]
    assert moved.cross.tolist() == ranking.cross[[1, 3, 0, 2, 4]].tolist()


def test_a_ranking_all_in_or_all_outside_the_document_is_returned_as_is():
    ranking = _ranking([3, 1, 2])
    assert document_first(ranking, np.array([4, 4, 4]), 4) is ranking
    assert document_first(ranking, np.array([4, 4, 4]), 7) is ranking
