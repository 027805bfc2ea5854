"""Answer composition: choose the sentences to cite, quote them verbatim, mark answer words.

An abstention may offer the question respelled ("Did you mean: ..."); this module writes that
offer and reads it back (:func:`offered_respelling`, :func:`without_offered_turn`).

Pure logic over :class:`~citeqa.schema.Hit` lists and strings; no model, no files.

How many sentences are cited follows the score distribution (the reranker's scores are
probabilities over the candidates): the best hit is always cited; a further hit is cited
when its score is within :data:`MIN_SCORE_RATIO` of the best, or when the sentences cited
so far hold less than :data:`CITED_MASS` of the probability and the hit itself still has
at least :data:`MIN_PROBABILITY`. So a confident ranking (0.95) cites one sentence, while
a clearly relevant second sentence (0.77 + 0.23, e.g. "X signed the declaration." and
"The declaration focuses on ...") is kept even though it scores far below the first.
Near-duplicates of a sentence already cited are skipped. What [1] brings along (the sentence
or the list it introduces, the rest of its list: :mod:`citeqa.answer.lists`) is cited right
after it (:func:`cites_what_it_introduces`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..question import last_turn, shown_answer_spans
from ..schema import Answer, Hit
from ..text import is_list_item, words

ABSTAIN_MESSAGE = "The documents don't seem to answer this question."
CLOSEST_HEADING = "Closest passages (not an answer):"
#: Put after :data:`ABSTAIN_MESSAGE`, before the question respelled (:func:`offered_respelling`).
DID_YOU_MEAN = "Did you mean: "
MAX_CITATIONS = 3
#: Cite a further hit only while its score is at least this share of the best score.
MIN_SCORE_RATIO = 0.5
#: Keep citing while the cited sentences hold less than this share of the probability ...
CITED_MASS = 0.9
#: ... and the next sentence holds at least this much of it.
MIN_PROBABILITY = 0.15
DUPLICATE_OVERLAP = 0.8
DUPLICATE_CONTAINMENT = 0.9


def offered_respelling(text: str) -> str | None:
    """The question respelled that an abstention's text offers ("... Did you mean: X"), else None."""
    first = text.split("\n", 1)[0]
    prefix = f"{ABSTAIN_MESSAGE} {DID_YOU_MEAN}"
    return first[len(prefix) :] if first.startswith(prefix) and len(first) > len(prefix) else None


def without_offered_turn(
    question: str,
    history: Sequence[Mapping[str, Any]] | None,
    respell: Callable[[str], str | None] | None = None,
) -> Sequence[Mapping[str, Any]] | None:
    """``history`` without its last turn when ``question`` is that turn's question respelled.

    Asking the question respelled (the chat's "Did you mean" link) restates the turn before, not
    a follow-up of it: searched as one, the earlier turn's typo was carried as a word of the
    conversation ("Is there a warranty? (warrenty)"). The respelling is the one the turn's answer
    offered; when the history holds no answer to it (``citeqa ask --after`` passes the questions
    only), the one ``respell`` gives for its question.
    """
    last = last_turn(history)  # also refuses a history that is no list of messages
    if last is None:
        return history
    asked, before = last
    after = list(history or [])[len(before) + 1 :]  # the messages after the question: its answer, if any
    answers = [m["content"] for m in after if m.get("role") == "assistant" and isinstance(m.get("content"), str)]
    offered = offered_respelling(answers[0]) if answers else (respell(asked) if respell is not None else None)
    if offered is None or " ".join(offered.casefold().split()) != " ".join(question.casefold().split()):
        return history
    return before


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


def format_cited(citations: Sequence[Hit], *, one_line: bool = False) -> str:
    """Quote each sentence verbatim followed by its marker: ``"A. [1] B. [2]"``; a list's item
    starts a line of its own (``"Types: [1]\\n• INTEGER; [2]"``). ``one_line``: a sentence's own
    line breaks (hard-wrapped text) read as spaces, as a terminal shows it."""
    out = []
    for number, hit in enumerate(citations, 1):
        text = " ".join(hit.text.split()) if one_line else hit.text
        out.append(("" if number == 1 else "\n" if is_list_item(hit.text) else " ") + f"{text} [{number}]")
    return "".join(out)


def with_answer_spans(question: str, hits: Sequence[Hit]) -> list[Hit]:
    """The hits with :attr:`Hit.answer_spans` filled in for ``question``: only spans of the
    asked type, none when unsure (see :func:`citeqa.question.shown_answer_spans`)."""
    return [dataclasses.replace(hit, answer_spans=shown_answer_spans(question, hit.text)) for hit in hits]


def cites_what_it_introduces(citations: Sequence[Hit], introduced: Sequence[Hit], max_citations: int) -> list[Hit]:
    """``citations`` with ``introduced`` (what [1] brings along, :func:`citeqa.answer.lists.brought_along`) right after [1].

    They take the places after [1] (moved there if cited lower); the other citations give way
    when ``max_citations`` are already cited. With one allowed, [1] stays alone; a longer
    ``introduced`` (a list, already held to its own limit by the caller) is cited whole.
    """
    chosen = list(citations)
    if not chosen or not introduced or max_citations < 2:
        return chosen
    brought = {(hit.doc_id, hit.sentence_id) for hit in introduced}
    rest = [hit for hit in chosen[1:] if (hit.doc_id, hit.sentence_id) not in brought]
    return [chosen[0], *introduced, *rest][: max(max_citations, 1 + len(introduced))]


#: Documents named in :func:`only_in`; the rest are counted.
NAMED_IN_SCOPE = 3


def only_in(names: Sequence[str]) -> str:
    """What an answer held to some documents adds to its interpretation: " (only in a.txt and b.txt)"; "" for none."""
    if not names:
        return ""
    shown = list(names[:NAMED_IN_SCOPE])
    rest = len(names) - len(shown)
    if rest:
        listed = f"{', '.join(shown)} and {rest} more"
    else:
        listed = shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"
    return f" (only in {listed})"


def compose_answer(
    hits: Sequence[Hit],
    *,
    abstain: bool,
    interpreted_as: str = "",
    question: str = "",
    closest: int = 2,
    max_citations: int = MAX_CITATIONS,
    confidence: float | None = None,
    respelled: str | None = None,
    introduced: Sequence[Hit] = (),
) -> Answer:
    """Build the :class:`Answer` from ranked hits.

    Args:
        hits: Ranked hits, best first.
        abstain: True when the evidence says the documents don't answer the question.
        interpreted_as: The query that was searched.
        question: The question as asked (marks the answer words of cited sentences).
        closest: How many closest passages to list when abstaining.
        max_citations: Cite at most this many sentences.
        confidence: The probability that the best hit answers the question (kept on the answer).
        respelled: When abstaining, the question with its typos mended
            (:func:`citeqa.answer.spelling.spelling_fix`), offered on the first line.
        introduced: What the best hit brings along (:func:`citeqa.answer.lists.brought_along`);
            cited right after it (:func:`cites_what_it_introduces`).
    """
    if abstain or not hits:
        shown = list(hits[: min(closest, max_citations)])
        lines = [ABSTAIN_MESSAGE if respelled is None else f"{ABSTAIN_MESSAGE} {DID_YOU_MEAN}{respelled}"]
        if shown:
            lines.append(CLOSEST_HEADING)
            lines.extend(f"[{i}] {hit.text}" for i, hit in enumerate(shown, 1))
        return Answer(
            text="\n".join(lines), citations=shown, abstained=True, interpreted_as=interpreted_as, confidence=confidence
        )
    chosen = cites_what_it_introduces(select_citations(hits, max_citations=max_citations), introduced, max_citations)
    citations = with_answer_spans(question or interpreted_as, chosen)
    return Answer(
        text=format_cited(citations),
        citations=citations,
        abstained=False,
        interpreted_as=interpreted_as,
        confidence=confidence,
    )
