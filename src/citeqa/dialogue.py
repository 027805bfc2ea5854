"""The conversation side of an :class:`citeqa.Index`: a turn ranked with its follow-up resolved, the document a conversation is about, reading on and overviews.

:class:`Dialogue` is the base :class:`citeqa.Index` answers with: it holds no state of its own
and reads the index's store, ranker, turn memory and document sizes. Split from
:mod:`citeqa.index` so each module stays readable; answering a question (``Index.answer``)
stays there and calls these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .answer.abstain import abstain_decision
from .answer.lists import brought_along
from .answer.reading import (
    following_rows,
    opening_rows,
    overview_answer,
    read_on_answer,
)
from .answer.turns import TurnMemory, turn_key
from .errors import InvalidQuestionError
from .question import (
    MAX_CARRY_TURNS,
    asks_to_read_on,
    clean_question,
    keeps_subject,
    last_turn,
    overview_scope,
    resolve_followup,
)
from .schema import Answer, Hit
from .search.conversation import document_first
from .search.fusion import Ranking, fuse_rankings
from .search.headings import text_first
from .text import is_list_item, opens_list

if TYPE_CHECKING:
    from .answer.focus import Vocabulary
    from .search.ranker import Mode, Ranker
    from .store.seam import SentenceStore

#: How deep the two rankings of a follow-up (resolved, and as asked) are fused.
FOLLOWUP_POOL = 30
#: How many sentences :meth:`citeqa.Index.answer` ranks at least (the abstention reads them).
ANSWER_DEPTH = 10


class Dialogue:
    """Conversation turns over one loaded index (a base of :class:`citeqa.Index`, which provides what is declared here)."""

    _turns: TurnMemory
    store: SentenceStore
    ranker: Ranker
    vocabulary: Vocabulary
    _document_sizes: np.ndarray
    _document_names: list[str]

    if TYPE_CHECKING:  # what citeqa.Index provides

        def __len__(self) -> int: ...
        def _scope(self, documents: Sequence[str] | None) -> tuple[int, ...] | None: ...
        def _vocabulary_within(self, within: Sequence[int] | None) -> Vocabulary: ...
        def _rank(
            self, query: str, top_k: int, mode: Mode, vector: np.ndarray | None, question: str | None, within: Sequence[int] | None
        ) -> Ranking: ...
        def hit(self, row: int, score: float) -> Hit: ...
        def hits(self, rows: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> list[Hit]: ...
        def answer(self, question: str, history: Sequence[Mapping[str, Any]] | None = None, **options: Any) -> Answer: ...

    def rank_turn(
        self,
        question: str,
        history: Sequence[Mapping[str, Any]] | None,
        top_k: int = 10,
        *,
        mode: Mode = "hybrid",
        documents: Sequence[str] | None = None,
    ) -> tuple[str, Ranking]:
        """Rank for one conversation turn: resolve a follow-up, rank, fuse with the question as asked.

        A follow-up that can only be about what the previous turn asked ("Had he done it
        before?", :func:`citeqa.question.keeps_subject`) has the sentences of the document
        that turn's first citation came from ranked first
        (:func:`citeqa.search.conversation.document_first`).

        Args:
            question: The cleaned question.
            history: Earlier turns (Gradio messages) or None.
            top_k: How many sentences to return.
            mode: Ranking mode (see :meth:`rank`).
            documents: Only the sentences of the documents with these names (None: every document).

        Returns:
            The query searched (the interpretation) and the ranking.
        """
        query, ranking, _ = self._rank_turn(question, history, top_k, mode, follow_turns=MAX_CARRY_TURNS, within=self._scope(documents))
        return query, ranking

    def _rank_turn(
        self,
        question: str,
        history: Sequence[Mapping[str, Any]] | None,
        top_k: int,
        mode: Mode,
        *,
        follow_turns: int,
        within: Sequence[int] | None = None,
    ) -> tuple[str, Ranking, int | None]:
        """:meth:`rank_turn`, following the conversation's document back at most ``follow_turns``
        turns (0: not at all), ranking only the documents ``within`` (numbers; None: all); also
        the document the ranking was held to, if any."""
        query = resolve_followup(question, history)
        if query == question:
            return query, self._rank(query, top_k, mode, None, question, within), None
        # a resolved follow-up: also rank the question as asked, and fuse the two
        pool = max(top_k, FOLLOWUP_POOL)
        ranked = [self._rank(text, pool, mode, None, question, within) for text in (query, question)]
        ranking = fuse_rankings(ranked, pool)
        document = None
        if mode == "hybrid":
            document = self._conversation_document(question, history, follow_turns, within) if follow_turns > 0 else None
            if document is not None:  # it can only be about what the previous turn was about
                ranking = document_first(ranking, self.store.rows(ranking.ids)[:, 0], document)
            # fusion can bring a heading back to the first place
            ranking = text_first(ranking, self.ranker.is_heading, self.ranker.answer_under)
        return query, ranking.head(top_k), document

    def _conversation_document(
        self, question: str, history: Sequence[Mapping[str, Any]] | None, follow_turns: int, within: Sequence[int] | None = None
    ) -> int | None:
        """The document of the previous turn's first citation, when ``question`` keeps that turn's subject.

        The previous turn's answer remembered it (the chat asks a follow-up right after); a
        turn this index did not answer is ranked again against the turns before it, as its
        answer was (itself held to the document before it when it kept that turn's subject: "And who won
        best actress?" after "Had he done it before?" after "Who hosted the Oscars?"), back at
        most ``follow_turns`` turns. When the previous turn was not answered, its closest
        passages say nothing of what the conversation is about: the document it was itself
        held to, if any. None when the question could be about something else
        (:func:`citeqa.question.keeps_subject`).
        """
        last = last_turn(history)
        if last is None or not keeps_subject(question, last[0]):
            return None
        return self._turn_about(last, follow_turns, within)

    def _turn_about(self, last: tuple[str, list[Mapping[str, Any]]], follow_turns: int, within: Sequence[int] | None = None) -> int | None:
        """The document the turn ``last`` (its question and the turns before it) was about, as
        :meth:`_conversation_document` finds it; None when it was about none."""
        try:
            previous = clean_question(last[0])
        except InvalidQuestionError:
            return None
        recalled = self._turns.recall(turn_key(previous, last[1], within))
        if recalled is not None:  # answered just before (the chat's usual case)
            return recalled[0]
        scope = overview_scope(previous, last[1])
        if scope is not None:  # it was answered by an opening, not a ranking
            return self._overview_document(scope, last[1], follow_turns - 1, within)
        query, ranking, held = self._rank_turn(previous, last[1], ANSWER_DEPTH, "hybrid", follow_turns=follow_turns - 1, within=within)
        vocabulary = self._vocabulary_within(within)
        abstained = not len(ranking) or abstain_decision(query, ranking, self.ranker, vocabulary, question=previous).abstain
        return self._turn_document(ranking, held, abstained)

    def _turn_document(self, ranking: Ranking, held: int | None, abstained: bool) -> int | None:
        """The document a turn's answer is about: its [1]'s when answered, else the one it was held to."""
        return held if abstained or not len(ranking) else int(self.store.rows(ranking.ids[:1])[0, 0])

    def _overview(
        self, question: str, history: Sequence[Mapping[str, Any]] | None, scope: str, max_citations: int, within: Sequence[int] | None = None
    ) -> Answer:
        """The overview answer (:mod:`citeqa.answer.reading`): the opening (for a "title": the
        first line) of the one document the index holds (or ``within`` names) or the conversation
        was about, else the first line of each document (of ``within``)."""
        document = self._overview_document(scope, history, MAX_CARRY_TURNS, within)
        counts = self._sizes_within(within)
        if document is None and within is not None:  # the first line of each document held to
            firsts = np.cumsum(self._document_sizes) - self._document_sizes
            rows = [int(firsts[d]) for d in within if counts[d]][:max_citations]
        else:
            rows = opening_rows(self._document_sizes, document, 1 if scope == "title" and document is not None else max_citations)
        self._turns.remember(turn_key(question, history, within), document, rows if document is not None else ())
        hits = self._read_in_order(rows)
        opened = None if document is None else self.store.documents[document].doc_id
        return overview_answer(hits, documents=int(np.count_nonzero(counts)), opened=opened)

    def _read_on(
        self, question: str, history: Sequence[Mapping[str, Any]] | None, max_citations: int, list_items: int, within: Sequence[int] | None = None
    ) -> Answer | None:
        """The sentences after the previous answer's last citation in its [1]'s document
        (:func:`citeqa.answer.reading.following_rows`), or inside a list up to ``list_items`` of its
        items; None when no previous answer cited any."""
        last = last_turn(history)
        if last is None:
            return None
        try:
            previous = clean_question(last[0])
        except InvalidQuestionError:
            return None
        recalled = self._turns.recall(turn_key(previous, last[1], within))
        if recalled is None and not asks_to_read_on(previous):  # an API caller's own history: answer that turn again
            before = self.answer(previous, last[1], documents=self._names_of(within))
            recalled = (None, () if before.abstained else tuple(hit.sentence_id for hit in before.citations))
        if recalled is None or not recalled[1]:
            return None
        cited = recalled[1]
        document = int(self.store.rows(np.array(cited[:1], dtype=np.int64))[0, 0])
        rows = following_rows(self._document_sizes, document, cited, max_citations)
        if rows and list_items > len(rows) and is_list_item(self.hit(rows[0], 0.0).text):  # inside a list: its next items
            rows = [hit.sentence_id for hit in self._brought_along([self.hit(rows[0] - 1, 0.0)], list_items, listed=True)]
        self._turns.remember(turn_key(question, history, within), document, rows or cited)
        hits = self._read_in_order(rows)
        return read_on_answer(hits, opened=self.store.documents[document].doc_id)

    def _brought_along(self, hits: Sequence[Hit], limit: int, *, listed: bool = False) -> list[Hit]:
        """What the best hit brings along (:func:`citeqa.answer.lists.brought_along`) from its document's sentences around it."""
        if not hits or limit < 1 or not (listed or opens_list(hits[0].text) or is_list_item(hits[0].text)):
            return []
        row = hits[0].sentence_id
        rows = np.arange(max(row - 2 * limit, 0), min(row + limit + 1, len(self)))
        window = [hit for hit in self.hits(rows, np.zeros(rows.size)) if hit.doc_id == hits[0].doc_id]
        return brought_along(hits[0], window, hits, self.ranker.is_heading, limit, listed=listed)

    def _sizes_within(self, within: Sequence[int] | None) -> np.ndarray:
        """Sentences of each document, 0 for those outside ``within`` (None: every document's)."""
        counts = self._document_sizes
        if within is None:
            return counts
        held = np.zeros_like(counts)
        held[list(within)] = counts[list(within)]
        return held

    def _names_of(self, within: Sequence[int] | None) -> list[str] | None:
        """The ``doc_id`` of each document number of ``within`` (None stays None)."""
        if within is None:
            return None
        return [self._document_names[number] for number in within]

    def _read_in_order(self, rows: Sequence[int]) -> list[Hit]:
        """The hits of ``rows`` as read, not ranked: each scores an equal share."""
        return self.hits(np.array(rows, dtype=np.int64), np.full(len(rows), 1.0 / max(len(rows), 1)))

    def _overview_document(
        self, scope: str, history: Sequence[Mapping[str, Any]] | None, follow_turns: int, within: Sequence[int] | None = None
    ) -> int | None:
        """The document an overview opens: the index's only one (or ``within``'s), else (for one
        document) the one the previous turn was about, looked back at most ``follow_turns`` turns;
        None: the collection."""
        counts = self._sizes_within(within)
        if len(counts) == 1 or (within is not None and len(within) == 1):
            return 0 if within is None else int(within[0])
        last = last_turn(history)
        if scope == "collection" or last is None or follow_turns <= 0:
            return None
        document = self._turn_about(last, follow_turns, within)
        return document if document is not None and counts[document] else None


__all__ = ["ANSWER_DEPTH", "FOLLOWUP_POOL", "Dialogue"]
