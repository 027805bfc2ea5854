"""The :class:`Index`: a loaded, verified index that retrieves and answers.

Owns the query side: open an index folder (:mod:`citeqa.store`), embed the question
(:mod:`citeqa.embed`), rank (:mod:`citeqa.search`), abstain or compose the answer
(:mod:`citeqa.answer`). Never builds or rebuilds an index (:mod:`citeqa.build` does; the
default-index policy that chooses between them is :mod:`citeqa.api`).

Long because one question's answer joins every query-side stage on one loaded store: a
conversation's turns, overviews, reading on and answering only from chosen documents each
read the same ranker, turn memory and document sizes.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import threading
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from .answer.abstain import abstain_decision
from .answer.compose import MAX_CITATIONS, compose_answer, only_in, without_offered_turn
from .answer.lists import MAX_LIST_ITEMS, brought_along
from .answer.focus import Vocabulary
from .answer.reading import following_rows, nothing_to_read_on, opening_rows, overview_answer, read_on_answer
from .answer.spelling import spelling_fix
from .answer.turns import TurnMemory, turn_key
from .config import cross_encoder_from_env
from .embed import DEFAULT_MODEL, Embedder, embedder_for_space
from .errors import InvalidArgumentError, InvalidQuestionError
from .ingest.extracted import page_of
from .question import MAX_CARRY_TURNS, asks_to_read_on, clean_question, keeps_subject, last_turn, overview_scope, resolve_followup, unwrap_request
from .schema import Answer, Document, Hit
from .search.conversation import document_first
from .search.cross import shipped_cross_encoder
from .search.fusion import Ranking, fuse_rankings
from .search.headings import headings_last, text_first
from .search.ranker import Mode, Ranker
from .search.rerank import load_reranker
from .store import read as storage
from .store.local import LocalStore, as_store
from .store.opening import check_pipeline, check_space, open_store
from .store.seam import SentenceStore
from .text import is_list_item, opens_list

log = logging.getLogger("citeqa")

MAX_K = 100
#: How deep the two rankings of a follow-up (resolved, and as asked) are fused.
FOLLOWUP_POOL = 30
#: How many sentences :meth:`Index.answer` ranks at least (the abstention reads them).
ANSWER_DEPTH = 10


def check_k(k: object) -> int:
    """Validate a count argument (``k``, ``max_citations``): a whole number in 1..100."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise InvalidArgumentError(f"k must be a whole number, got {k!r}")
    if not 0 < int(k) <= MAX_K:
        raise InvalidArgumentError(f"k must be between 1 and {MAX_K}, got {k}")
    return int(k)


def named_documents(names: str | Sequence[str], numbers: Mapping[str, int]) -> tuple[int, ...]:
    """The numbers of the documents ``names`` names, sorted: each name is a ``doc_id``, a folder
    ending with "/" ("notes/": every document under it) or a pattern ("*.pdf", "notes/202?-*.md").

    Args:
        names: One name or several.
        numbers: Each document's number by its ``doc_id``.

    Raises:
        InvalidArgumentError: no name, or one that names no document (the message lists what there is).
    """
    asked = [names] if isinstance(names, str) else list(names)
    if not asked:
        raise InvalidArgumentError("documents must name at least one document (or be None for all of them), got none")
    found: set[int] = set()
    for name in asked:
        if name in numbers:
            found.add(numbers[name])
            continue
        if name.endswith("/"):
            matched = [n for doc, n in numbers.items() if doc.startswith(name)]
        else:
            matched = [n for doc, n in numbers.items() if any(c in name for c in "*?[") and fnmatch.fnmatchcase(doc, name)]
        if not matched:
            held = sorted(numbers)
            listed = ", ".join(repr(n) for n in held[:10]) + (f" and {len(held) - 10} more" if len(held) > 10 else "")
            raise InvalidArgumentError(f"no document named {name!r} in this index; its documents are {listed}")
        found.update(matched)
    return tuple(sorted(found))


class Index:
    """A loaded, verified index: immutable once loaded (but for a small memory of recent turns'
    documents, :data:`citeqa.answer.turns.REMEMBERED_TURNS`) and safe to share between threads.

    Build one with :func:`build_index`, open one with :meth:`Index.load`.
    """

    def __init__(
        self, stored: storage.StoredIndex | SentenceStore, embedder: Embedder | None = None, *, cross_encoder: bool | None = None
    ) -> None:
        self._store: SentenceStore = as_store(stored)
        self._cross_encoder = cross_encoder_from_env() if cross_encoder is None else bool(cross_encoder)
        #: The local version read back (tests and tools inspect it), or the Milvus store itself.
        self._stored = self._store.stored if isinstance(self._store, LocalStore) else self._store
        self._embedder = embedder
        self._embedder_lock = threading.Lock()
        self._ranker: Ranker | None = None
        self._ranker_lock = threading.Lock()
        #: What each recent turn was answered from (see :meth:`_conversation_document`, :meth:`_read_on`).
        self._turns = TurnMemory()

    # ------------------------------------------------------------------ opening

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        check_stale: bool = True,
        embedder: Embedder | None = None,
        cross_encoder: bool | None = None,
    ) -> Index:
        """Open and verify the index at ``path``.

        Args:
            path: An index folder written by :func:`build_index` (or one version in it), or
                a Milvus store address (``milvus://HOST:PORT/COLLECTION``,
                ``milvus-lite:PATH.db[#COLLECTION]``; needs ``pip install 'citeqa[milvus]'``).
            check_stale: Refuse the index if a source changed since the build.
            embedder: Embed queries with this instead of the model the manifest names.
            cross_encoder: Rescore the best 20 candidates with the shipped cross-encoder
                (:mod:`citeqa.search.cross`; 80-120 ms more per question on 2 busy cores).
                None: ``$CITEQA_CROSS_ENCODER`` ("1"/"0") if set, else off (:data:`citeqa.config.CROSS_ENCODER_DEFAULT`).

        Raises:
            IndexNotFoundError, CorruptIndexError, StaleIndexError, IncompatibleIndexError.
        """
        store = open_store(path, check_stale=check_stale)
        check_pipeline(store.manifest, store.location, local=isinstance(store, LocalStore))
        if embedder is not None:
            check_space(embedder, store.manifest, store.location)
        return cls(store, embedder, cross_encoder=cross_encoder)

    # ------------------------------------------------------------------ facts

    @property
    def path(self) -> Path:
        """The version folder this index was loaded from (for a Milvus store: its address)."""
        return self._store.path  # type: ignore[attr-defined, no-any-return]

    @property
    def store(self) -> SentenceStore:
        """The store this index reads through (:class:`citeqa.store.local.LocalStore` or a Milvus store)."""
        return self._store

    @property
    def manifest(self) -> dict[str, Any]:
        """The verified manifest (a copy)."""
        return dict(self._store.manifest)

    @property
    def documents(self) -> Sequence[Document]:
        """The indexed documents (a read-only sequence; each text is read when accessed)."""
        return self._store.documents

    def __len__(self) -> int:
        return len(self._store)

    @property
    def spans(self) -> np.ndarray:
        """A copy of the sentence table: int64 ``(n, 4)`` of document number, start, end, paragraph id."""
        return np.array(self._store.rows(np.arange(len(self), dtype=np.int64)), dtype=np.int64)

    def sentence_counts(self) -> dict[str, int]:
        """How many sentences each document has in this index, by document id."""
        return {d.doc_id: int(n) for d, n in zip(self._store.documents, self._document_sizes)}

    @cached_property
    def _document_numbers(self) -> dict[str, int]:
        """Each document's number by its ``doc_id`` (from the manifest: no document text is read)."""
        return {str(source["doc_id"]): number for number, source in enumerate(self.manifest["sources"])}

    def _scope(self, documents: Sequence[str] | None) -> tuple[int, ...] | None:
        """The numbers of the documents ``documents`` names (:func:`named_documents`), sorted; None: all of them."""
        return None if documents is None else named_documents(documents, self._document_numbers)

    @cached_property
    def _document_sizes(self) -> np.ndarray:
        """Sentences of each document, in document order (read once: a loaded index does not change)."""
        return self._store.sentence_counts()

    def __repr__(self) -> str:
        return f"Index({str(self.path)!r}, documents={len(self._store.documents)}, sentences={len(self)})"

    @property
    def embedder(self) -> Embedder:
        """The query embedder (loaded on first use, checked against the manifest)."""
        if self._embedder is None:
            with self._embedder_lock:
                if self._embedder is None:
                    manifest = self._store.manifest
                    embedder = embedder_for_space(manifest.get("model", DEFAULT_MODEL), manifest.get("vector_space"))
                    check_space(embedder, manifest, self._store.location)
                    self._embedder = embedder
        return self._embedder

    # ------------------------------------------------------------------ search

    def hit(self, row: int, score: float) -> Hit:
        """The :class:`Hit` for sentence ``row``."""
        return self.hits([row], [score])[0]

    def hits(self, rows: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> list[Hit]:
        """The :class:`Hit` of each of ``rows`` (with its ``scores``), their spans read at once."""
        rows = [int(r) for r in rows]
        for row in rows:
            if not 0 <= row < len(self):
                raise InvalidArgumentError(f"sentence row must be in [0, {len(self)}), got {row}")
        if not rows:
            return []
        wanted = []
        for row in rows:
            paragraph = self.ranker.paragraph_rows(row)
            wanted += [row, paragraph[0], paragraph[-1]]
        spans = self._store.rows(np.array(wanted, dtype=np.int64)).tolist()
        out = []
        for number, (row, score) in enumerate(zip(rows, scores)):
            (doc, start, end, _), first, last = spans[3 * number : 3 * number + 3]
            document = self._store.documents[int(doc)]
            p_start, p_end = int(first[1]), int(last[2])
            out.append(Hit(text=document.text[start:end], score=float(score), doc_id=document.doc_id, sentence_id=row,
                           start=int(start), end=int(end), context=document.text[p_start:p_end], context_start=p_start,
                           page=page_of(document.pages, int(start))))
        return out

    @cached_property
    def vocabulary(self) -> Vocabulary:
        """The corpus words, for forgiving look-ups of what a question is about (read at first use)."""
        return Vocabulary.from_word_lists(self._store.vocabulary(), self.ranker.idf)

    @property
    def ranker(self) -> Ranker:
        """The ranking stage for this index (built on first use from the stored data)."""
        if self._ranker is None:
            with self._ranker_lock:
                if self._ranker is None:
                    cross = shipped_cross_encoder() if self._cross_encoder else None
                    self._ranker = Ranker(self._store, load_reranker(), cross)
        return self._ranker

    def rank(
        self,
        query: str,
        top_k: int = 10,
        *,
        mode: Mode = "hybrid",
        vector: np.ndarray | None = None,
        question: str | None = None,
        documents: Sequence[str] | None = None,
    ) -> Ranking:
        """Rank sentences for an already-cleaned query.

        Args:
            query: The query text (cleaned, follow-ups resolved).
            top_k: How many sentences to return.
            mode: "hybrid" (the product: dense + BM25 candidates reranked with paragraph
                context), or a baseline: "rrf", "dense", "bm25".
            vector: The query's embedding when already computed (evaluation batches them).
            question: The question whose wording decides the answer type (default: query).
            documents: Only the sentences of the documents with these names (None: every document).
        """
        return self._rank(query, top_k, mode, vector, question, self._scope(documents))

    def _rank(
        self, query: str, top_k: int, mode: Mode, vector: np.ndarray | None, question: str | None, within: Sequence[int] | None
    ) -> Ranking:
        """:meth:`rank` held to the documents numbered ``within`` (None: every document)."""
        if vector is None:
            # "hybrid": a function, called by the store once it has started its BM25 search
            # (the local store searches on its own thread while this one embeds)
            embedder = self.embedder
            vector = (lambda: embedder.encode([query])[0]) if mode == "hybrid" else embedder.encode([query])[0]
        return self.ranker.rank(query, vector, top_k, mode=mode, question=question, documents=within)

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
        abstained = not len(ranking) or abstain_decision(query, ranking, self.ranker, self.vocabulary, question=previous).abstain
        return self._turn_document(ranking, held, abstained)

    def _turn_document(self, ranking: Ranking, held: int | None, abstained: bool) -> int | None:
        """The document a turn's answer is about: its [1]'s when answered, else the one it was held to."""
        return held if abstained or not len(ranking) else int(self.store.rows(ranking.ids[:1])[0, 0])

    def retrieve(self, question: str, k: int = 5, *, documents: Sequence[str] | None = None) -> list[Hit]:
        """The ``k`` sentences most relevant to ``question``, best first (only of the documents
        named ``documents``, their ``doc_id``, when given).

        Raises:
            InvalidQuestionError: blank or over-long question.
            InvalidArgumentError: ``k`` outside 1..100, or a document this index does not hold.
        """
        k = check_k(k)
        within = self._scope(documents)
        ranking = self._rank(unwrap_request(clean_question(question)), k, "hybrid", None, None, within)  # "Tell me about X": "What is X?"
        return self.hits(ranking.ids, ranking.scores)

    def answer(
        self,
        question: str,
        history: Sequence[Mapping[str, Any]] | None = None,
        *,
        max_citations: int | None = None,
        documents: Sequence[str] | None = None,
    ) -> Answer:
        """Answer ``question`` with cited sentences of the documents.

        Args:
            question: The question.
            history: Earlier turns as Gradio messages (``[{"role", "content"}, ...]``);
                a follow-up ("What does it focus on?") is resolved against them.
            max_citations: At most this many sentences are cited (1..100); None: 3, or [1] and
                up to 10 sentences of a list it brings along (:func:`~citeqa.answer.lists.brought_along`).
            documents: Answer only from the documents with these names (their ``doc_id``, as
                :attr:`documents` lists them); None: from every document.

        Returns:
            An :class:`Answer`; ``abstained`` is True when the documents don't seem to
            answer the question, and the citations are then the closest passages.

        Raises:
            InvalidQuestionError: blank or over-long question.
            InvalidArgumentError: ``max_citations`` outside 1..100, or a document this index does not hold.
        """
        list_items = MAX_LIST_ITEMS if max_citations is None else check_k(max_citations) - 1
        max_citations = MAX_CITATIONS if max_citations is None else max_citations
        within = self._scope(documents)
        cleaned = clean_question(question)
        history = without_offered_turn(cleaned, history, lambda asked: spelling_fix(asked, self.vocabulary))  # X stands alone
        scope = overview_scope(cleaned, history)
        if scope is not None:  # "What is this article about?": its opening, nothing ranked
            return self._overview(cleaned, history, scope, max_citations, within)
        if asks_to_read_on(cleaned):  # "Tell me more": what follows the last answer
            read_on = self._read_on(cleaned, history, max_citations, list_items, within)
            return read_on if read_on is not None else nothing_to_read_on(asked_before=last_turn(history) is not None)
        asked = unwrap_request(cleaned)  # "Can you tell me who won?" is searched as "Who won?"
        depth = max(ANSWER_DEPTH, max_citations)
        query, ranking, held = self._rank_turn(asked, history, depth, "hybrid", follow_turns=MAX_CARRY_TURNS, within=within)
        evidence = abstain_decision(query, ranking, self.ranker, self.vocabulary, question=asked)
        shown = headings_last(ranking, self.ranker.is_heading)  # [2], [3], closest passages: text before headings
        hits = self.hits(shown.ids, shown.scores)
        answer = compose_answer(
            hits,
            abstain=evidence.abstain,
            interpreted_as=query + only_in(self._names_of(within) or ()),  # held to some documents: it says which
            question=asked,
            max_citations=max_citations,
            confidence=evidence.confidence,
            respelled=spelling_fix(asked, self.vocabulary) if evidence.abstain else None,
            introduced=() if evidence.abstain else self._brought_along(hits, list_items),
        )
        # what a next turn that keeps this one's subject, or reads on, is about
        cited = () if answer.abstained else [hit.sentence_id for hit in answer.citations]
        self._turns.remember(turn_key(cleaned, history, within), self._turn_document(ranking, held, evidence.abstain), cited)
        return answer

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
        names = {number: name for name, number in self._document_numbers.items()}
        return [names[number] for number in within]

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
