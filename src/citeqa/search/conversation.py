"""Short follow-ups stay where the conversation is: a ranker that puts the previous answer's document first.

"Had he done it before?" after "Who hosted the Oscars?" can only be about the host the
previous answer found; searched as "Had he done it before? (hosted oscars)" across ten
articles it ranked a sentence of another article first. Pure function; the index says which
follow-ups keep the previous turn's subject (:func:`citeqa.question.keeps_subject`) and
which document that turn's first citation came from.
"""

from __future__ import annotations

import numpy as np

from .fusion import Ranking


def document_first(ranking: Ranking, documents: np.ndarray, document: int) -> Ranking:
    """``ranking`` with the rows of ``document`` moved above the others, each group in its order.

    Args:
        ranking: The follow-up's ranking.
        documents: The document number of each ranked row (same length as ``ranking``).
        document: The document the conversation is about.

    Returns:
        The reordered ranking; ``ranking`` itself when no row, or every row, is of ``document``.
    """
    inside = np.asarray(documents) == document
    if inside.all() or not inside.any():
        return ranking
    return ranking.reordered(np.r_[np.flatnonzero(inside), np.flatnonzero(~inside)])


__all__ = ["document_first"]
