"""Titles asked about as a whole: how often the "What is X?" rule's [1] is the title's opening sentence.

No fit-half question of the eval sets is a "What is X?" whose X is a title or heading, so the
answerability model cannot learn what the rule's answers are worth (its logistic gave them
0.06-0.45 while 7 of the 8 report-half questions of that kind were right). SQuAD's documents
(:func:`citeqa.eval.corpora.load_squad`) are Wikipedia articles opened by their title: each title
T is asked as "What is T?", and where the rule chooses [1]
(:meth:`citeqa.search.ranker.Ranker.topic_lead`) it counts as right when [1] is the first
sentence under the title. That label is strict: SQuAD's documents start with its first
paragraph, not always the article's lead, and another sentence of that paragraph may answer as
well. :func:`topic_lead_probability` turns the fit halves' counts into the probability the
shipped model gives such answers (:attr:`citeqa.answer.confidence.AnswerabilityModel.topic_lead`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..index import Index
from . import corpora, observe

#: How deep each title question is ranked (the answer's depth, where the rule looks for the lead).
DEPTH = 10


@dataclass(frozen=True)
class TopicCounts:
    """One half's title questions: asked, answered by the rule, and right."""

    asked: int = 0
    fired: int = 0
    right: int = 0

    def __add__(self, other: TopicCounts) -> TopicCounts:
        return TopicCounts(self.asked + other.asked, self.fired + other.fired, self.right + other.right)


def titles(index: Index, corpus: corpora.Corpus, half: str) -> Iterator[tuple[str, int]]:
    """``(title, opening row)`` of each ``half`` document of ``corpus``, indexed in ``index``: its
    first line and the row of the first sentence under it."""
    texts = dict(corpus.documents)
    start = 0
    for document, size in zip(index.documents, index.store.sentence_counts()):
        first, start = start, start + int(size)
        if corpus.halves.get(document.doc_id) == half and size:
            yield texts[document.doc_id].split("\n", 1)[0].strip(), int(index.store.paragraph_rows(first)[-1]) + 1


def title_counts(index: Index, corpus: corpora.Corpus, half: str) -> TopicCounts:
    """Ask "What is T?" for the title T (first line) of each ``half`` document of ``corpus``, indexed in ``index``."""
    counts = TopicCounts()
    for title, opening in titles(index, corpus, half):
        question = f"What is {title}?"
        ranking = index.rank(question, DEPTH, question=question)
        lead = index.ranker.topic_lead(question, ranking.ids)
        top = int(ranking.ids[0]) if len(ranking) else -1
        fired = lead is not None and top in lead
        counts += TopicCounts(1, int(fired), int(fired and top == opening))
    return counts


def topic_lead_probability(counts: Iterable[TopicCounts]) -> float | None:
    """The add-one smoothed rate ``(right + 1) / (fired + 2)`` over ``counts``; None when the rule never chose."""
    total = sum(counts, TopicCounts())
    return None if total.fired == 0 else (total.right + 1) / (total.fired + 2)


def rate(counts: TopicCounts) -> str:
    """``"7 of 10 (70%)"`` for the rule's answers, or "none" when it chose none."""
    return f"{counts.right} of {counts.fired} ({100 * counts.right / counts.fired:.0f}%)" if counts.fired else "none"


def title_report(
    corpora_used: Sequence[corpora.Corpus], cache: Path, embedder: Any, log: Callable[[str], None] = lambda _: None
) -> tuple[list[str], float | None]:
    """The title questions of each SQuAD corpus's halves (its cached eval index): the table,
    and the probability fitted on the fit halves (None when the rule chose in none)."""
    lines = ['"What is T?" for each SQuAD title T: the rule\'s [1] is the first sentence under T (citeqa.eval.topics)']
    fit = []
    for corpus in corpora_used:
        if not corpus.name.startswith("squad"):
            continue
        index = observe.corpus_index(corpus.documents, cache, embedder, log)
        for half in corpora.HALVES:
            counts = title_counts(index, corpus, half)
            if half == corpora.FIT:
                fit.append(counts)
            lines.append(f"  {corpus.name:<8} {half:<6} {counts.asked:>3} titles, the rule chose [1] for {counts.fired}: right {rate(counts)}")
    probability = topic_lead_probability(fit)
    if probability is None:
        lines.append("  the rule chose no [1] on a fit half: its answers keep the logistic's confidence")
    else:
        lines.append(f"  confidence given to the rule's answers: {probability:.3f} (fit halves, (right + 1) / (chosen + 2))")
    return lines, probability


__all__ = ["DEPTH", "TopicCounts", "rate", "title_counts", "title_report", "titles", "topic_lead_probability"]
