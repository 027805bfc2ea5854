"""Documents that repeat others: a site's print page holding every chapter, a page saved twice.

A saved website often holds its whole text twice (mdBook's ``print.html`` is the Rust book's 124
chapters on one page), and a folder of downloads the same file under two names. Both copies are
indexed, so answers cite one sentence from either and the closest passages repeat each other;
the build says so (it never leaves a source out by itself): :func:`log_copies`, called by the
local and the Ray build alike, over the pure :func:`held_documents`.

A document is *held by* another when at least :data:`HELD_SHARE` of its distinct sentences of
:data:`MIN_WORDS` or more words are sentences of the other, and it has :data:`MIN_SENTENCES` such
sentences (a short note quoting a paragraph is no copy). A sentence found in more than
:data:`MAX_OWNERS` documents (a footer, a licence line) is boilerplate, not evidence.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Sequence

import numpy as np

from ..schema import Document

log = logging.getLogger("citeqa")

#: Fewest compared sentences a document needs before it can be found held by another.
MIN_SENTENCES = 10
#: Share of a document's compared sentences another document must hold.
HELD_SHARE = 0.8
#: Sentences of fewer words ("Summary", "fn main() {") are not compared.
MIN_WORDS = 4
#: A sentence in more documents than this is boilerplate and not compared.
MAX_OWNERS = 20


def held_documents(rows: np.ndarray, texts: Sequence[str]) -> dict[int, list[int]]:
    """For each document that holds others (by document number), the documents it holds, in order.

    Args:
        rows: ``(n, 4)`` sentence rows (document number first), one per text.
        texts: The sentences.

    Documents holding each other (the same text saved more than once) are reported once, under
    the first of them.
    """
    rows = np.asarray(rows)
    if len(texts) != rows.shape[0]:
        raise ValueError(f"texts and rows must have the same length, got {len(texts)} and {rows.shape[0]}")
    owners: dict[str, set[int]] = defaultdict(set)
    for number, text in zip(rows[:, 0].tolist(), texts):
        if len(text.split()) >= MIN_WORDS:
            owners[" ".join(text.split())].add(number)
    compared: Counter[int] = Counter()
    shared: dict[int, Counter[int]] = defaultdict(Counter)
    for documents in owners.values():
        compared.update(documents)
        if 2 <= len(documents) <= MAX_OWNERS:
            for a in documents:
                shared[a].update(b for b in documents if b != a)

    def holds(b: int, a: int) -> bool:  # b holds a
        return compared[a] >= MIN_SENTENCES and shared[a][b] >= HELD_SHARE * compared[a]

    held: dict[int, list[int]] = defaultdict(list)
    first = {a: a for a in shared}  # copies of one text, each led by its first document (union-find)

    def lead(a: int) -> int:
        while first[a] != a:
            first[a] = first[first[a]]
            a = first[a]
        return a

    for a, counts in sorted(shared.items()):
        for b in sorted(counts):
            if holds(b, a) and holds(a, b):  # the same text twice
                low, high = sorted((lead(a), lead(b)))
                first[high] = low
            elif holds(b, a):
                held[b].append(a)
    for a in sorted(first):
        if lead(a) != a:
            held[lead(a)].append(a)
    return {b: sorted(set(found)) for b, found in sorted(held.items())}


def copies_message(holder: str, held: Sequence[str], shown: int = 3) -> str:
    """What the build says of a document holding ``held`` (names)."""
    names = ", ".join(held[:shown]) + (f" and {len(held) - shown} more" if len(held) > shown else "")
    what = "another document" if len(held) == 1 else f"{len(held)} other documents"
    return f"{holder} repeats {what} ({names}); answers may cite the same sentence from each: leave copies out of the sources"


def log_copies(documents: Sequence[Document], rows: np.ndarray, texts: Sequence[str]) -> None:
    """Log a warning for each document that repeats others (:func:`held_documents`, :func:`copies_message`)."""
    for holder, held in held_documents(rows, texts).items():
        log.warning(copies_message(documents[holder].doc_id, [documents[number].doc_id for number in held]))


__all__ = ["HELD_SHARE", "MAX_OWNERS", "MIN_SENTENCES", "MIN_WORDS", "copies_message", "held_documents", "log_copies"]
