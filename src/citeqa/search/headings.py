"""Headings go below text: a heading restates what a question asks, it does not answer it.

A document's title line and its section headings ("2.1 Opening the barrage gate", "What is
Ownership?") share the question's words and often rank first; the answer is in the text
they head. So does a question the document asks itself, an FAQ's "Q. I upgraded my system and
now /etc/issue says "trixie/sid". Should it not read "sid"?" (:func:`asks_a_question`): the
answer is in the paragraphs after it. :func:`text_first` moves the best-ranked sentence of text
above them, or the first sentence under a heading that asks the question or heads a list; :func:`headings_last` moves all of them below text, for what an answer cites after
[1] and an abstention's closest passages. Pure functions; the ranker says which rows are headings
(:meth:`citeqa.search.ranker.Ranker.rank`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..text import is_bullet_item, stems
from .fusion import Ranking

#: A heading has at most this many words.
MAX_HEADING_WORDS = 12
#: ... and is read as at most this many sentences ("2.2." and "Closing the gate").
HEADING_SENTENCES = 3
# a sentence of text ends with one of these (a heading has no end mark, or asks a question)
_END_MARKS = frozenset(".!:;,\"'”’)]…")
# code, not a heading: "fn main() {", "$ cargo run", "x = 1"
_CODE_MARKS = frozenset("{}()[]<>=$;`|\\")


def looks_like_heading(text: str) -> bool:
    """Whether a paragraph of this text reads as a title or heading.

    It does when it has 1 to :data:`MAX_HEADING_WORDS` words, a letter, no end mark but a
    question mark ("Opening the barrage gate", "What is Ownership?"), nothing that marks
    code ("fn main() {", "$ cargo run") and no bullet before it: "- dogs on a lead" is a
    list's item, text that answers (:func:`citeqa.text.is_bullet_item`).
    """
    text = text.strip()
    words = text.split()
    if not 1 <= len(words) <= MAX_HEADING_WORDS or text[-1] in _END_MARKS or is_bullet_item(text):
        return False
    return any(ch.isalpha() for ch in text) and not any(ch in _CODE_MARKS for ch in text)


def asks_a_question(text: str) -> bool:
    """Whether a paragraph of this text is a question the document asks: it ends with "?"
    (before any closing quote), whatever its length. A "?" inside brackets ends a note, not
    a question ("... rotor aircraft.[improper synthesis?]")."""
    return text.rstrip().rstrip("\"'”’").endswith("?")


def text_first(
    ranking: Ranking, is_heading: Callable[[int], bool], answer_under: Callable[[int], range | None] | None = None
) -> Ranking:
    """``ranking`` with its best sentence of text first when a heading ranks first.

    Only [1] moves: the first row that is not a heading (``is_heading(row)``) takes the
    first place, the rows it passes keep their order below it. When the heading asks a
    question the text under it answers, or heads a list (``answer_under(row)``, the rows of that
    text: an FAQ's "7.29 What is the difference between package and library?", a tutorial's
    "What Is Ownership?", a README's "Requirements" over its items), the best-ranked sentence of that text takes the first place instead, if
    one is ranked at all; of the headings ranked above all text, the first with such an
    answer counts (a contents list's copy of the question has none under it). A ranking of
    headings only, or whose first row is text, is returned as is.
    """
    ids = ranking.ids
    if len(ids) < 2 or not is_heading(int(ids[0])):
        return ranking
    first_text = next((k for k in range(1, len(ids)) if not is_heading(int(ids[k]))), None)
    chosen = first_text
    for heading in ids[:first_text] if answer_under is not None else ():
        under = answer_under(int(heading))  # the first ranked heading with its answer under it
        found = next((k for k in range(1, len(ids)) if int(ids[k]) in under), None) if under else None
        if found is not None:
            chosen = found
            break
    if chosen is None:
        return ranking
    return ranking.reordered(np.r_[chosen, np.arange(chosen), np.arange(chosen + 1, len(ids))])


def topic_words(heading: str) -> tuple[str, ...]:
    """A heading's word stems without its leading section number ("6.3 Data frames" -> ("data",
    "frame")): what :func:`citeqa.question.asked_topic` is compared with."""
    tokens = stems(heading)
    while tokens and tokens[0].isdigit():
        tokens = tokens[1:]
    return tuple(tokens)


def lead_first(ranking: Ranking, lead: range | None) -> Ranking:
    """``ranking`` with its best-ranked row of ``lead`` first (the others in their order).

    The lead is the first paragraph under a title or heading naming what a "What is X?"
    question asks about (:meth:`citeqa.search.ranker.Ranker.topic_lead`): a Wikipedia
    article's "Warsaw ... is the capital and largest city of Poland." under "Warsaw". Its
    best-ranked sentence, not its first: an API page titled "Beacons" opens "The node:beacons
    module sends signals ..." and answers "What is a Beacon?" with its second sentence. A
    ranking without a row of the lead is returned as is."""
    if lead is None:
        return ranking
    found = next((k for k, row in enumerate(ranking.ids.tolist()) if row in lead), None)
    if not found:  # None, or already first
        return ranking
    return ranking.reordered(np.r_[found, np.arange(found), np.arange(found + 1, len(ranking.ids))])


def headings_last(ranking: Ranking, is_heading: Callable[[int], bool]) -> Ranking:
    """``ranking`` with its headings after all its sentences of text, each part in its order.

    What an answer cites after [1] and the closest passages an abstention lists: a heading
    there ("Scalar Types" after "A scalar type represents a single value.") restates the
    question and adds nothing the citation's offsets do not. A ranking of headings only is
    returned as is; its scores move with its rows.
    """
    ids = ranking.ids
    heading = np.fromiter((is_heading(int(row)) for row in ids), dtype=bool, count=len(ids))
    if heading.all() or not heading.any():
        return ranking
    return ranking.reordered(np.r_[np.flatnonzero(~heading), np.flatnonzero(heading)])


__all__ = [
    "HEADING_SENTENCES", "MAX_HEADING_WORDS", "asks_a_question", "headings_last", "lead_first", "looks_like_heading",
    "text_first", "topic_words",
]
