"""What the embedder reads for each sentence of an index: the sentence after its document's headline.

A sentence alone often does not say what it is about ("He said on Friday he hoped to be
elected party leader before Christmas."); its document's headline does ("Kilroy-Silk quits
'shameful' UKIP"). Each sentence is embedded as ``"{headline}: {sentence}"``; the headline
itself, and every sentence of a document without one, as it is. Questions are embedded
alone. Only the vectors change: the texts an index stores, cites and matches words in are
the sentences themselves.

The headline is a document's first sentence when it is a paragraph of its own (a title line:
a SQuAD article's title, a news story's headline, an HTML page's title) of at most
:data:`MAX_HEADLINE_WORDS` words. Chosen by 2-fold
cross-validation within the fit halves (``benchmarks/fit_reranker.py --cv``, the reranker
refitted on each variant's candidates): [1] right SQuAD 1.1 72.3 -> 73.9%, SQuAD 2.0 66.9 ->
67.5%, news 76.8 -> 79.7%; the sentence before instead of the headline made the cosine
ranking worse (news fit half [1] by cosine alone 49 -> 22%).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Recorded in each index's manifest as ``embedding_text``: an index whose sentence vectors
#: were made from other texts is refused at load ("rebuild it") and its vectors are not reused.
EMBEDDING_TEXT = "headline: sentence"

#: A first paragraph of one sentence longer than this is prose, not a title, and is not read
#: with every sentence (it would crowd the sentence out of the model's 256 word pieces). Not
#: fitted: the longest headline in our datasets has 7 words (news), SQuAD titles at most 4.
MAX_HEADLINE_WORDS = 24


def headline_rows(rows: np.ndarray) -> np.ndarray:
    """For each sentence row, the row of its document's headline, or -1 (none, or the headline itself).

    Args:
        rows: ``(n, 4)`` sentence rows in index order: document number, start, end,
            paragraph id (a document's rows are consecutive).
    """
    rows = np.asarray(rows)
    n = rows.shape[0]
    out = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return out
    doc, paragraph = rows[:, 0], rows[:, 3]
    first = np.flatnonzero(np.r_[True, doc[1:] != doc[:-1]])  # each document's first row
    # a headline: the paragraph of the document's first sentence holds no other sentence
    alone = np.array([f + 1 >= n or doc[f + 1] != doc[f] or paragraph[f + 1] != paragraph[f] for f in first], dtype=bool)
    # every row's document's first row (documents' rows are consecutive)
    owner = first[np.searchsorted(first, np.arange(n), side="right") - 1]
    has = alone[np.searchsorted(first, owner)] & (owner != np.arange(n))
    out[has] = owner[has]
    return out


def embedding_texts(texts: Sequence[str], rows: np.ndarray) -> list[str]:
    """The texts to embed for ``texts`` (one per row of ``rows``): ``"{headline}: {sentence}"`` where
    the sentence's document has a headline, else the sentence (see the module docstring)."""
    if len(texts) != np.asarray(rows).shape[0]:
        raise ValueError(f"texts and rows must have the same length, got {len(texts)} and {np.asarray(rows).shape[0]}")
    heads = headline_rows(rows).tolist()
    # each headline read once: too long is prose; a Markdown heading's "#" marks are markup, not words
    prefix = {h: f"{texts[h].lstrip('#').strip()}: " for h in set(heads) if h >= 0 and len(texts[h].split()) <= MAX_HEADLINE_WORDS}
    return [prefix[head] + text if head in prefix else text for text, head in zip(texts, heads)]
