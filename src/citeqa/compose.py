"""Answer composition: choose the sentences to cite, quote them verbatim, mark answer words.

Pure logic over :class:`~citeqa.schema.Hit` lists and strings; no model, no files.

How many sentences are cited follows the score distribution (the reranker's scores are
probabilities over the candidates): the best hit is always cited; a further hit is cited
when its score is within :data:`MIN_SCORE_RATIO` of the best, or when the sentences cited
so far hold less than :data:`CITED_MASS` of the probability and the hit itself still has
at least :data:`MIN_PROBABILITY`. So a confident ranking (0.95) cites one sentence, while
a clearly relevant second sentence (0.77 + 0.23, e.g. "X signed the declaration." and
"The declaration focuses on ...") is kept even though it scores far below the first.
Near-duplicates of a sentence already cited are skipped.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from .lexical import STOPWORDS, fold, words
from .schema import Answer, Hit

ABSTAIN_MESSAGE = "The documents don't seem to answer this question."
CLOSEST_HEADING = "Closest passages (not an answer):"
MAX_CITATIONS = 3
#: Cite a further hit only while its score is at least this share of the best score.
MIN_SCORE_RATIO = 0.5
#: Keep citing while the cited sentences hold less than this share of the probability ...
CITED_MASS = 0.9
#: ... and the next sentence holds at least this much of it.
MIN_PROBABILITY = 0.15
DUPLICATE_OVERLAP = 0.8
DUPLICATE_CONTAINMENT = 0.9

_MONTH = r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
_NUMBER_WORD = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
    r"hundreds?|thousands?|millions?|billions?|dozens?|half)"
)
_QUALIFIER = r"(?:(?:nearly|almost|about|around|over|under|some|roughly|approximately|more than|less than|fewer than|at least|up to)\s+)?"
_DATE = re.compile(
    rf"\b{_MONTH}\.?(?:\s+\d{{1,2}}(?:st|nd|rd|th)?)?(?:,?\s+\d{{4}})?\b"
    rf"|\b\d{{1,2}}\s+{_MONTH}\.?(?:,?\s+\d{{4}})?\b"
    r"|\b(?:1[0-9]|20)\d\d(?:s|-\d\d)?\b"
    r"|\b(?:last|next|this|earlier this|later this)\s+(?:year|month|week|spring|summer|autumn|fall|winter|"
    rf"{_MONTH}|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b"
    rf"|\b(?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|\d+)\s+(?:years?|months?|weeks?|days?|decades?|centur(?:y|ies))\s+ago\b"
    r"|\b\d{1,2}(?:st|nd|rd|th)\s+century\b|\b(?:yesterday|today|tomorrow)\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    rf"\b{_QUALIFIER}(?:\d[\d,.]*|{_NUMBER_WORD}(?:[- ]{_NUMBER_WORD})*)\b(?:%|-[a-z]+\b)?(?:\s+(?!(?:and|or|of|the|to|in|on|at|for|by|with|from)\b)[a-z]+\b)?",
    re.IGNORECASE,
)
#: Dates and numbers as :func:`answer_spans` finds them (also used by :mod:`citeqa.focus`).
DATE_PATTERN = _DATE
NUMBER_PATTERN = _NUMBER
_NAME = re.compile(r"\b[A-Z][\w'’.-]*(?:\s+(?:(?:of|de|da|von|van|bin|al|the)\s+)?[A-Z][\w'’.-]*)*")

_WHEN = re.compile(r"\bwhen\b|\bwhat (?:year|date|day|month|time|century|decade)\b|\bwhich (?:year|date|day|month|century)\b|\bsince when\b|\bhow long ago\b", re.IGNORECASE)
_COUNT = re.compile(
    r"\bhow (?:many|much|long|often|old|far|big|large)\b"
    r"|\bwhat (?:(?:is|was|are|were) )?(?:the )?(?:number|percentage|amount|population|cost|price)\b",
    re.IGNORECASE,
)
_WHO = re.compile(r"\bwho(?:m|se)?\b|\bwhich (?:person|people|man|woman|group|company|organi[sz]ation|country|countries|ministry)\b", re.IGNORECASE)
_WHERE = re.compile(r"\bwhere\b|\bwhat (?:region|city|country|place|town|area)\b|\bwhich (?:region|city|place|town|area)\b|\bin what (?:region|city|country|place)\b", re.IGNORECASE)


def question_type(question: str) -> str | None:
    """The kind of answer a question asks for: "when", "count", "who", "where" or None."""
    for name, pattern in (("when", _WHEN), ("count", _COUNT), ("who", _WHO), ("where", _WHERE)):
        if pattern.search(question):
            return name
    return None


def _names(text: str) -> list[tuple[int, int]]:
    spans = []
    for match in _NAME.finditer(text):
        start, end = match.span()
        token = match.group()
        # a capitalized stop word that only starts the sentence ("The", "During") is no name
        first = fold(token.split()[0])
        if first in STOPWORDS or first in {"meanwhile", "moreover", "however", "while", "during", "also"}:
            rest = token.split(maxsplit=1)
            if len(rest) == 1:
                continue
            start = start + token.index(rest[1])
        spans.append((start, end))
    return spans


def answer_spans(question: str, text: str) -> tuple[tuple[int, int], ...]:
    """Spans of ``text`` holding the kind of words ``question`` asks for.

    Dates for "when" questions, numbers (with their unit word) for "how many/much/long",
    capitalized names for "who" and "where". Spans made only of words the question
    already uses are left out (they restate the question, they don't answer it).

    Returns:
        Sorted, non-overlapping ``(start, end)`` character spans relative to ``text``.
    """
    kind = question_type(question)
    if kind is None:
        return ()
    dates = [m.span() for m in _DATE.finditer(text)]
    if kind == "when":
        found = dates
    else:
        # numbers and names that are part of a date ("Nov. 10") answer "when", not this
        found = [m.span() for m in _NUMBER.finditer(text)] if kind == "count" else _names(text)
        found = [(s, e) for s, e in found if not any(s < de and ds < e for ds, de in dates)]
    asked = set(words(question))
    spans: list[tuple[int, int]] = []
    for start, end in sorted(found):
        own = [w for w in words(text[start:end]) if w not in STOPWORDS]
        if not own or all(w in asked for w in own):
            continue
        if spans and start < spans[-1][1]:
            spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
        else:
            spans.append((start, end))
    return tuple(spans)


def is_near_duplicate(a: str, b: str) -> bool:
    """True when two sentences say nearly the same: high word overlap, or one inside the other."""
    set_a, set_b = set(words(a)), set(words(b))
    if not set_a or not set_b:
        return a.strip() == b.strip()
    shared = len(set_a & set_b)
    return shared / len(set_a | set_b) >= DUPLICATE_OVERLAP or shared / min(len(set_a), len(set_b)) >= DUPLICATE_CONTAINMENT


def select_citations(
    hits: Sequence[Hit],
    max_citations: int = MAX_CITATIONS,
    min_ratio: float = MIN_SCORE_RATIO,
    *,
    mass: float = CITED_MASS,
    min_probability: float = MIN_PROBABILITY,
) -> list[Hit]:
    """Pick the hits worth citing: the best one, then those that share its probability.

    A further hit is cited when its score is at least ``min_ratio`` of the best, or when
    the hits cited so far hold less than ``mass`` (scores read as probabilities) and the
    hit scores at least ``min_probability``. Stops at the first hit meeting neither;
    skips near-duplicates of a hit already chosen.
    """
    if not hits:
        return []
    top = hits[0].score
    chosen: list[Hit] = []
    cited = 0.0
    for hit in hits:
        if len(chosen) >= max_citations:
            break
        if chosen:
            close = top > 0 and hit.score >= top * min_ratio
            needed = cited < mass and hit.score >= min_probability
            if not (close or needed):
                break
        if any(is_near_duplicate(hit.text, c.text) for c in chosen):
            continue
        chosen.append(hit)
        cited += max(hit.score, 0.0)
    return chosen


def format_cited(citations: Sequence[Hit]) -> str:
    """Quote each sentence verbatim followed by its marker: ``"A. [1] B. [2]"``."""
    return " ".join(f"{hit.text} [{i}]" for i, hit in enumerate(citations, 1))


def with_answer_spans(question: str, hits: Sequence[Hit]) -> list[Hit]:
    """The hits with :attr:`Hit.answer_spans` filled in for ``question``."""
    return [dataclasses.replace(hit, answer_spans=answer_spans(question, hit.text)) for hit in hits]


def compose_answer(
    hits: Sequence[Hit],
    *,
    abstain: bool,
    interpreted_as: str = "",
    question: str = "",
    closest: int = 2,
    max_citations: int = MAX_CITATIONS,
) -> Answer:
    """Build the :class:`Answer` from ranked hits.

    Args:
        hits: Ranked hits, best first.
        abstain: True when the evidence says the documents don't answer the question.
        interpreted_as: The query that was searched.
        question: The question as asked (marks the answer words of cited sentences).
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
    citations = with_answer_spans(question or interpreted_as, select_citations(hits, max_citations=max_citations))
    return Answer(
        text=format_cited(citations), citations=citations, abstained=False, interpreted_as=interpreted_as
    )
