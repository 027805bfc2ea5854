"""Answers read in the documents' order, not ranked: an overview's opening, and reading on after the last answer.

"What is this document about?" is answered by its opening: a news story, a report or a
paper states its point first (headline, then lead), so an overview of one document cites
its first :data:`OPENING_SENTENCES` sentences, and an overview of a collection the first
sentence (headline or title) of each document, in index order. "Tell me more" is answered
by the sentences that follow the previous answer's last citation in its document, as a
reader reads on. No sentence is scored against the question, so these answers have no
confidence. Pure logic over sentence counts and hits; :meth:`citeqa.Index.answer` supplies them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..schema import Answer, Hit
from .compose import format_cited

#: Sentences an overview of one document, or a reading on, cites (at most; never more than asked for).
OPENING_SENTENCES = 3


def _span(sizes: np.ndarray, document: int, limit: int) -> tuple[int, int]:
    """``document``'s rows as ``(first, end)``, after checking ``document`` and ``limit``."""
    if limit < 1:
        raise ValueError(f"limit must be > 0, got {limit}")
    if not 0 <= document < sizes.size:
        raise ValueError(f"document must be in 0..{sizes.size - 1}, got {document}")
    first = int(sizes[:document].sum())
    return first, first + int(sizes[document])


def _sentences(shown: int, which: str, opened: str) -> str:
    """The words for what was read: "the first 3 sentences of a.txt", "the next sentence of a.txt"."""
    return f"the {which} {shown} sentences of {opened}" if shown > 1 else f"the {which} sentence of {opened}"


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
    sizes = np.asarray(counts, dtype=np.int64)
    if document is not None:
        first, end = _span(sizes, document, limit)
        return list(range(first, min(end, first + min(limit, OPENING_SENTENCES))))
    if limit < 1:
        raise ValueError(f"limit must be > 0, got {limit}")
    firsts = np.cumsum(sizes) - sizes
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
        what = _sentences(shown, "first", opened)
    elif shown == documents:
        what = f"the first sentence of each of the {documents} documents"
    else:
        what = f"the first sentence of {shown} of the {documents} documents"
    return Answer(text=format_cited(hits), citations=list(hits), abstained=False, interpreted_as=f"an overview: {what}")


def following_rows(counts: Sequence[int] | np.ndarray, document: int, cited: Sequence[int], limit: int) -> list[int]:
    """The rows after the last of ``cited`` in ``document``, at most ``limit`` and :data:`OPENING_SENTENCES`.

    Args:
        counts: Sentences of each document, in index order.
        document: The document read on in (the previous answer's [1]'s).
        cited: The rows the previous answer cited (those of other documents are passed over).
        limit: The most sentences to cite.

    Returns:
        The next rows, in order; [] when the document ends with the last one cited.
    """
    first, end = _span(np.asarray(counts, dtype=np.int64), document, limit)
    inside = [int(row) for row in cited if first <= int(row) < end]
    if not inside:
        return []
    start = max(inside) + 1
    return list(range(start, min(end, start + min(limit, OPENING_SENTENCES))))


def nothing_to_read_on(*, asked_before: bool) -> Answer:
    """The :class:`Answer` to "Tell me more" when no earlier answer cited anything: it says why,
    instead of the closest passages to the words "tell me more"."""
    why = "the last question was not answered; ask about something the documents cover" if asked_before else "ask a question about the documents first"
    return Answer(text=f"There is nothing to read on from: {why}.", abstained=True, interpreted_as="reading on: no sentence cited before")


def read_on_answer(hits: Sequence[Hit], *, opened: str) -> Answer:
    """The :class:`Answer` reading on in document ``opened``: ``hits`` (from :func:`following_rows`)
    verbatim, or, when none follow, an abstention saying the document ends there."""
    shown = len(hits)
    if not shown:
        return Answer(
            text=f"The documents don't say more here: {opened} ends with the sentence last cited.",
            abstained=True,
            interpreted_as=f"reading on in {opened}",
        )
    what = _sentences(shown, "next", opened)
    return Answer(text=format_cited(hits), citations=list(hits), abstained=False, interpreted_as=f"reading on: {what}")
