"""Answer composition: choose the sentences to cite and quote them verbatim.

Pure logic over :class:`~citeqa.schema.Hit` lists; no model, no files.
"""

from __future__ import annotations

from collections.abc import Sequence

from .lexical import tokenize
from .schema import Answer, Hit

ABSTAIN_MESSAGE = "The documents don't seem to answer this question."
CLOSEST_HEADING = "Closest passages (not an answer):"
MAX_CITATIONS = 3
MIN_SCORE_RATIO = 0.85
DUPLICATE_OVERLAP = 0.8


def word_overlap(a: str, b: str) -> float:
    """How much of the shorter text's content words the other holds (0..1)."""
    set_a, set_b = set(tokenize(a)), set(tokenize(b))
    if not set_a or not set_b:
        return 0.0
    return len(set_a & set_b) / min(len(set_a), len(set_b))


def select_citations(
    hits: Sequence[Hit],
    max_citations: int = MAX_CITATIONS,
    min_ratio: float = MIN_SCORE_RATIO,
) -> list[Hit]:
    """Pick the hits worth citing: the best one, then those scoring close to it.

    Hits scoring below ``min_ratio`` of the best are left out, as are near-duplicates
    of a hit already chosen (≥ 80% of the shorter one's content words shared).
    """
    if not hits:
        return []
    top = hits[0].score
    chosen: list[Hit] = []
    for hit in hits:
        if len(chosen) >= max_citations:
            break
        if chosen and (top <= 0 or hit.score < top * min_ratio):
            break
        if any(word_overlap(hit.text, c.text) >= DUPLICATE_OVERLAP for c in chosen):
            continue
        chosen.append(hit)
    return chosen


def format_cited(citations: Sequence[Hit]) -> str:
    """Quote each sentence verbatim followed by its marker: ``"A. [1] B. [2]"``."""
    return " ".join(f"{hit.text} [{i}]" for i, hit in enumerate(citations, 1))


def compose_answer(
    hits: Sequence[Hit],
    *,
    abstain: bool,
    interpreted_as: str = "",
    closest: int = 2,
    max_citations: int = MAX_CITATIONS,
) -> Answer:
    """Build the :class:`Answer` from ranked hits.

    Args:
        hits: Ranked hits, best first.
        abstain: True when the evidence says the documents don't answer the question.
        interpreted_as: The query that was searched.
        closest: How many closest passages to list when abstaining.
        max_citations: Cite at most this many sentences.
    """
    if abstain or not hits:
        shown = list(hits[: min(closest, max_citations)])
        lines = [ABSTAIN_MESSAGE]
        if shown:
            lines.append(CLOSEST_HEADING)
            lines.extend(f"[{i}] {hit.text}" for i, hit in enumerate(shown, 1))
        return Answer(text="\n".join(lines), citations=shown, abstained=True, interpreted_as=interpreted_as)
    citations = select_citations(hits, max_citations=max_citations)
    return Answer(
        text=format_cited(citations), citations=citations, abstained=False, interpreted_as=interpreted_as
    )
