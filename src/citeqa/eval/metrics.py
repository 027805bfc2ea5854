"""Retrieval metrics: ranks, recall@k, MRR, and where a gold answer sits in a sentence table.

Pure functions over arrays and strings; no model, no files.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from ..errors import InvalidArgumentError

CUTOFFS = (1, 3, 5, 10)


def first_hit_rank(ranked: Sequence[int], gold: Iterable[int], limit: int = 10) -> int | None:
    """1-based rank of the first gold item among the first ``limit`` ranked ones (None if absent)."""
    wanted = {int(g) for g in gold}
    for position, item in enumerate(list(ranked)[:limit], 1):
        if int(item) in wanted:
            return position
    return None


def ranking_metrics(ranks: Sequence[int | None], cutoffs: Sequence[int] = CUTOFFS) -> dict[str, float]:
    """MRR@10 and recall@k of per-question first-hit ranks (None = not in the top 10).

    Returns:
        ``{"n", "mrr@10", "r@1", "r@3", ...}``; zeros for an empty list.
    """
    n = len(ranks)
    out: dict[str, float] = {"n": float(n)}
    out["mrr@10"] = sum(1.0 / r for r in ranks if r is not None and r <= 10) / n if n else 0.0
    for k in cutoffs:
        out[f"r@{k}"] = sum(1 for r in ranks if r is not None and r <= k) / n if n else 0.0
    return out


def rows_containing(answers: Sequence[str], texts: Sequence[str]) -> set[int]:
    """Rows of ``texts`` that contain at least one of ``answers``."""
    return {row for row, text in enumerate(texts) if any(a in text for a in answers)}


def sentence_at(spans: np.ndarray, doc: int, position: int) -> int:
    """Row of the sentence of document ``doc`` that holds character ``position``.

    A position between sentences (white space) belongs to the next sentence.

    Args:
        spans: ``(n, >=3)`` rows of document number, start, end.
        doc: Document number.
        position: Character offset in that document.

    Raises:
        InvalidArgumentError: the position lies after the document's last sentence.
    """
    rows = np.flatnonzero(spans[:, 0] == doc)
    for row in rows:
        if position < spans[row, 2]:
            return int(row)
    raise InvalidArgumentError(f"position {position} lies after the last sentence of document {doc}")
