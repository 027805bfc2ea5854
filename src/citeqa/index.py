"""The :class:`Index`: a loaded, verified index that retrieves and answers.

Owns the query side: open an index folder (:mod:`citeqa.store`), embed the question
(:mod:`citeqa.embed`), rank (:mod:`citeqa.search`), abstain or compose the answer
(:mod:`citeqa.answer`). Never builds or rebuilds an index (:mod:`citeqa.build` does; the
default-index policy that chooses between them is :mod:`citeqa.api`).

A conversation's turns, overviews and reading on are :mod:`citeqa.dialogue`'s (a base of
:class:`Index`).
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
from .answer.focus import Vocabulary
from .answer.lists import MAX_LIST_ITEMS
from .answer.reading import nothing_to_read_on
from .answer.spelling import spelling_fix
from .answer.turns import TurnMemory, turn_key
from .config import cross_encoder_from_env
from .dialogue import ANSWER_DEPTH, Dialogue
from .embed import DEFAULT_MODEL, Embedder, embedder_for_space
from .errors import InvalidArgumentError
from .ingest.extracted import page_of
from .question import (
    MAX_CARRY_TURNS,
    asks_to_read_on,
    clean_question,
    last_turn,
    overview_scope,
    unwrap_request,
)
from .schema import Answer, Document, Hit
from .search.cross import shipped_cross_encoder
from .search.fusion import Ranking
from .search.headings import headings_last
from .search.ranker import Mode, Ranker
from .search.rerank import load_reranker
from .store import read as storage
from .store.local import LocalStore, as_store
from .store.opening import check_pipeline, check_space, open_store
from .store.seam import SentenceStore

log = logging.getLogger("citeqa")

MAX_K = 100
#: A choice of documents is read for its own words (what a question's names and numbers are
#: looked up in) while its texts hold at most this many characters; a larger choice uses
#: the whole index's :attr:`Index.vocabulary`. Reading them costs the first answer of a choice
#: about 0.45 ms per 1,000 characters (docs dev's 64 kB manual: 38.5 ms, then 11.0 ms), so ~1 s here.
CHOSEN_WORDS_MAX_CHARS = 2_000_000
#: How many choices' vocabularies are kept (a chat asks many questions of one choice).
CHOSEN_WORDS_KEPT = 8


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


class Index(Dialogue):
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
        #: The vocabularies of recent choices of documents (see :meth:`_vocabulary_within`).
        self._chosen_words: dict[tuple[int, ...], Vocabulary] = {}
        self._chosen_words_lock = threading.Lock()

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
    def _document_names(self) -> list[str]:
        """Each document's ``doc_id`` in index order (from the manifest: no document text is read)."""
        return [str(source["doc_id"]) for source in self.manifest["sources"]]

    @cached_property
    def _document_numbers(self) -> dict[str, int]:
        """Each document's number by its ``doc_id``."""
        return {name: number for number, name in enumerate(self._document_names)}

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

    def _vocabulary_within(self, within: Sequence[int] | None) -> Vocabulary:
        """The words of the documents numbered ``within`` (None: :attr:`vocabulary`): a question
        held to some documents asks about a name only the others hold as about a name the
        index lacks. A choice larger than :data:`CHOSEN_WORDS_MAX_CHARS` uses :attr:`vocabulary`."""
        if within is None:
            return self.vocabulary
        key = tuple(within)
        with self._chosen_words_lock:
            found = self._chosen_words.get(key)
        if found is not None:
            return found
        texts, size = [], 0
        for number in key:
            texts.append(self._store.documents[number].text)
            size += len(texts[-1])
            if size > CHOSEN_WORDS_MAX_CHARS:
                return self.vocabulary
        chosen = Vocabulary.from_texts(texts)
        with self._chosen_words_lock:
            self._chosen_words[key] = chosen
            while len(self._chosen_words) > CHOSEN_WORDS_KEPT:
                del self._chosen_words[next(iter(self._chosen_words))]  # the oldest
        return chosen

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
        vocabulary = self._vocabulary_within(within)
        cleaned = clean_question(question)
        history = without_offered_turn(cleaned, history, lambda asked: spelling_fix(asked, vocabulary))  # X stands alone
        scope = overview_scope(cleaned, history)
        if scope is not None:  # "What is this article about?": its opening, nothing ranked
            return self._overview(cleaned, history, scope, max_citations, within)
        if asks_to_read_on(cleaned):  # "Tell me more": what follows the last answer
            read_on = self._read_on(cleaned, history, max_citations, list_items, within)
            return read_on if read_on is not None else nothing_to_read_on(asked_before=last_turn(history) is not None)
        asked = unwrap_request(cleaned)  # "Can you tell me who won?" is searched as "Who won?"
        depth = max(ANSWER_DEPTH, max_citations)
        query, ranking, held = self._rank_turn(asked, history, depth, "hybrid", follow_turns=MAX_CARRY_TURNS, within=within)
        evidence = abstain_decision(query, ranking, self.ranker, vocabulary, question=asked)
        shown = headings_last(ranking, self.ranker.is_heading)  # [2], [3], closest passages: text before headings
        hits = self.hits(shown.ids, shown.scores)
        answer = compose_answer(
            hits,
            abstain=evidence.abstain,
            interpreted_as=query + only_in(self._names_of(within) or ()),  # held to some documents: it says which
            question=asked,
            max_citations=max_citations,
            confidence=evidence.confidence,
            respelled=spelling_fix(asked, vocabulary) if evidence.abstain else None,
            introduced=() if evidence.abstain else self._brought_along(hits, list_items),
        )
        # what a next turn that keeps this one's subject, or reads on, is about
        cited = () if answer.abstained else [hit.sentence_id for hit in answer.citations]
        self._turns.remember(turn_key(cleaned, history, within), self._turn_document(ranking, held, evidence.abstain), cited)
        return answer
