"""Overviews: what answers "What is this document about?" is its opening, not a ranking.

A news story, a report or a paper states its point first (headline, then lead), so an
overview of one document cites its first :data:`OPENING_SENTENCES` sentences, and an
overview of a collection the first sentence (headline or title) of each document, in
index order. No sentence is scored against the question, so the answer has no confidence.
Pure logic over sentence counts and hits; :meth:`citeqa.Index.answer` supplies them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..schema import Answer, Hit
from .compose import format_cited

#: Sentences an overview of one document cites (at most; never more than asked for).
OPENING_SENTENCES = 3


def opening_rows(counts: Sequence[int] | np.ndarray, document: int | None, limit: int) -> list[int]:
    """The sentence rows an overview cites, at most ``limit`` of them.

    Args:
        counts: Sentences of each document, in index order (a document's rows are contiguous).
        document: The document to open; None for the whole collection.
        limit: The most sentences to cite (the answer's ``max_citations``).

    Returns:
        ``document``'s first sentences (at most :data:`OPENING_SENTENCES`), or for None
        the first sentence of each of the first ``limit`` documents that have any.
    """
    if limit < 1:
        raise ValueError(f"limit must be > 0, got {limit}")
    sizes = np.asarray(counts, dtype=np.int64)
    firsts = np.concatenate([[0], np.cumsum(sizes)[:-1]]) if sizes.size else sizes
    if document is not None:
        if not 0 <= document < sizes.size:
            raise ValueError(f"document must be in 0..{sizes.size - 1}, got {document}")
        first = int(firsts[document])
        return list(range(first, first + min(int(sizes[document]), limit, OPENING_SENTENCES)))
    return [int(first) for first, size in zip(firsts, sizes) if size > 0][:limit]


def overview_answer(hits: Sequence[Hit], *, documents: int, opened: str | None) -> Answer:
    """The :class:`Answer` citing ``hits`` (from :func:`opening_rows`) verbatim, in order.

    Args:
        hits: The cited sentences.
        documents: How many documents the index holds.
        opened: The id of the document opened, or None for the collection's first lines.

    ``interpreted_as`` says what was cited instead of a searched query ("an overview: the
    first 3 sentences of lachin.txt"); ``confidence`` is None (nothing was fitted to say
    how well an opening sums a document up).
    """
    shown = len(hits)
    if opened is not None:
        what = f"the first {shown} sentences of {opened}" if shown > 1 else f"the first sentence of {opened}"
    elif shown == documents:
        what = f"the first sentence of each of the {documents} documents"
    else:
        what = f"the first sentence of {shown} of the {documents} documents"
    return Answer(text=format_cited(hits), citations=list(hits), abstained=False, interpreted_as=f"an overview: {what}")
