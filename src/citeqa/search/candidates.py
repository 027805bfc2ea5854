"""Candidate retrieval: dense and BM25 hits for a query, and each candidate's evidence, read through the store seam.

:class:`CandidateRetriever` turns a query into the arrays that the pure functions of
:mod:`citeqa.search.features` and :mod:`citeqa.search.rerank` score. Candidates always come
from the vector search (top :data:`DENSE_CANDIDATES`) plus BM25 (top
:data:`LEXICAL_CANDIDATES`); their evidence (cosines of the sentence, its neighbours and its
document's headline, the paragraph's and document's mean vectors, paragraph BM25, IDF
coverage of the sentence alone and with the sentences just before it, and by similar words
through the bundled model's word-piece vectors) is read for those rows only, so neither the
cost per query nor the memory grows with the corpus beyond the two searches (and a bounded
cache of candidates' words). What needs the whole corpus (paragraph BM25, mean vectors) is computed when the
index is built (:mod:`citeqa.build`).

Reads the index only through the store seam (:class:`citeqa.store.seam.SentenceStore`:
the local folder or Milvus); knows nothing of answers or abstention. When a store cannot
tell a sentence's cosine (a FAISS index that cannot reconstruct), the cosines the search
returned stand in (unseen sentences get the lowest of them).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from itertools import chain
from typing import Any

import numpy as np

from ..embed.wordpieces import PieceIds, WordPieces, word_pieces
from ..question import answer_type_level, question_type
from ..store.local import as_store, candidate_ids, sorted_unique, top_n
from ..store.seam import LazySequence, SentenceStore, VectorSource, WordPieceIds, query_vector
from ..text import STOPWORDS, tokenize, words
from .features import (
    MIN_PREFIX,
    WINDOW_BEFORE,
    CandidateContext,
    idf_ceiling,
    loose_coverages,
    opens_by_referring_back,
    presence_coverages,
    same_text_groups,
    soft_coverages,
    window_presence,
)

__all__ = ["DENSE_CANDIDATES", "LEXICAL_CANDIDATES", "CandidateRetriever", "candidate_ids", "soft_word_ids", "top_n"]

#: How many sentences' words :meth:`CandidateRetriever.soft_coverage` keeps (all are dropped when full).
SOFT_WORDS_KEPT = 100_000

#: How many nearest vectors the vector search returns as candidates.
DENSE_CANDIDATES = 50


#: How many best BM25 sentences join the candidates.
LEXICAL_CANDIDATES = 50


class CandidateRetriever:
    """Fetches one loaded index's candidates for a query, with their evidence (immutable after construction)."""

    def __init__(self, store: SentenceStore | Any, pieces: WordPieces | None = None) -> None:
        """
        Args:
            store: The loaded index behind the seam (a :class:`citeqa.store.read.StoredIndex`
                is wrapped in a :class:`citeqa.store.local.LocalStore`).
            pieces: The word vectors of soft word matching (default: the bundled model's).
        """
        self.store: SentenceStore = as_store(store)
        self._n = len(self.store)
        self._idf = self.store.idf()
        self.pieces = pieces if pieces is not None else word_pieces()
        self._soft_words: dict[int, np.ndarray] = {}  # row -> its soft_words' ids (WordPieces.ids)

    def __len__(self) -> int:
        return self._n

    @property
    def idf(self) -> Mapping[str, float]:
        """Word IDF over the sentences (read-only; see :class:`citeqa.store.lexical.Idf`)."""
        return self._idf

    def text(self, row: int) -> str:
        """The sentence at ``row``."""
        return self.store.texts(np.array([int(row)]))[0]

    def paragraph_rows(self, row: int) -> range:
        """The rows of ``row``'s paragraph."""
        return self.store.paragraph_rows(int(row))

    def paragraph_text(self, row: int) -> str:
        """The sentences of row's paragraph, joined by spaces."""
        return " ".join(self.store.texts(np.array(self.paragraph_rows(row), dtype=np.int64)))

    def title_rows(self, rows: np.ndarray) -> np.ndarray:
        """The headline row of each row's document, or -1 where the document has none (see
        :meth:`citeqa.store.local.LocalStore.title_rows`)."""
        return self.store.title_rows(np.asarray(rows, dtype=np.int64))

    def title_text(self, row: int) -> str:
        """The headline of row's document ("" when it has none)."""
        title = int(self.title_rows(np.array([row]))[0])
        return self.text(title) if title >= 0 else ""

    def gather(self, query: str, vector: VectorSource, *, question: str | None = None) -> tuple[np.ndarray, CandidateContext]:
        """Candidates for ``query`` and their evidence, every feature computed.

        Args:
            query: The cleaned (and follow-up resolved) query text.
            vector: Its unit vector, shape ``(dim,)`` or ``(1, dim)``, or a function that
                returns it (:data:`citeqa.store.seam.VectorSource`: called once the store
                has started its BM25 search, which the local store runs on a thread of its own
                meanwhile).
            question: The text whose question word decides the answer type (default: query).

        Returns:
            Candidate rows and a :class:`CandidateContext` in the same order.
        """
        cands, context, answer_type_of = self.gather_lazy(query, vector, question=question)
        if context.question_kind is not None:
            context = dataclasses.replace(context, answer_type=answer_type_of(np.arange(cands.shape[0])))
        return cands, context

    def gather_lazy(
        self, query: str, vector: VectorSource, *, question: str | None = None, documents: Sequence[int] | None = None
    ) -> tuple[np.ndarray, CandidateContext, Callable[[np.ndarray], np.ndarray]]:
        """Like :meth:`gather`, but the answer-type feature (regular expressions over each
        candidate's text, the costliest feature) is left at 0 and computed on demand.

        Returns:
            Candidate rows, their :class:`CandidateContext` (``answer_type`` all 0), and a
            function from candidate positions to their answer-type values (0.0, 1.0 or 2.0:
            :func:`citeqa.question.answer_type_level`) that
            :func:`citeqa.search.rerank.rerank` calls for the candidates that could rank high.
            When the question asks for no answer type, 0 is every candidate's true value.
            With ``documents`` (document numbers), only their sentences are candidates.
        """
        n = len(self)
        query_tokens = tokenize(query)
        source = _once(vector) if callable(vector) else query_vector(vector)
        found = self.store.candidates(query, query_tokens, source, DENSE_CANDIDATES, LEXICAL_CANDIDATES, documents)
        vector = query_vector(source)
        cands, paragraph, title_rows = found.ids, found.paragraphs, found.title_rows
        prev_rows, next_rows = np.maximum(cands - 1, 0), np.minimum(cands + 1, n - 1)
        has_title = title_rows >= 0
        title_or_self = np.where(has_title, title_rows, cands)
        needed = sorted_unique(np.concatenate([cands, prev_rows, next_rows, title_or_self]))
        evidence = self.store.evidence(query_tokens, vector, needed, paragraph, found.docs)
        dense_of = _cosine_lookup(needed, evidence.cosines, found.found)
        paragraph_of = lambda rows: evidence.sentence_paragraphs[np.searchsorted(needed, rows)]  # noqa: E731
        dense = dense_of(cands)
        neighbour = np.full(cands.shape[0], -np.inf, dtype=np.float64)
        for other in (prev_rows, next_rows):
            same = (paragraph_of(other) == paragraph) & (other != cands)
            neighbour = np.maximum(neighbour, np.where(same, dense_of(other), -np.inf))
        neighbour = np.where(np.isfinite(neighbour), neighbour, dense)
        document_dense = evidence.document_dense
        asked = question if question is not None else query
        texts = found.texts
        m = cands.shape[0]
        # the WINDOW_BEFORE sentences before each candidate, where they are in its document
        before = np.concatenate([cands - k for k in range(1, WINDOW_BEFORE + 1)])
        before_rows = np.maximum(before, 0)
        before_docs = self.store.rows(before_rows)[:, 0] if m else np.zeros(0, dtype=np.int64)
        same = ((before >= 0) & (before_docs == np.tile(np.asarray(found.docs), WINDOW_BEFORE))).reshape(WINDOW_BEFORE, m)
        presence = self.store.token_presence(query_tokens, np.concatenate([cands, before_rows]), MIN_PREFIX) if m else None
        if presence is not None:  # read from the word index: no candidate is tokenized
            tokens, exact = presence.tokens, presence.exact
            coverage = presence_coverages(tokens, exact[:m], self._idf)
            loose = presence_coverages(tokens, presence.loose[:m], self._idf)
        else:
            text_tokens = [tokenize(t) for t in texts]
            tokens = list(dict.fromkeys(query_tokens))
            before_tokens = [tokenize(t) for t in self.store.texts(before_rows)] if m else []
            exact = _exact_presence(tokens, text_tokens + before_tokens)
            coverage = presence_coverages(tokens, exact[:m], self._idf)  # = weighted_coverage of each text
            loose = loose_coverages(query_tokens, text_tokens, self._idf)
        earlier = [exact[m * k : m * (k + 1)] for k in range(1, WINDOW_BEFORE + 1)]
        window = presence_coverages(tokens, window_presence(exact[:m], earlier, list(same)), self._idf)
        # only a sentence whose previous one holds a word it lacks can gain: only those are read
        could_gain = np.flatnonzero(same[0] & (earlier[0] & ~exact[:m]).any(axis=1)) if m else np.zeros(0, dtype=np.int64)
        refers_back = np.zeros(m, dtype=bool)
        refers_back[could_gain] = [opens_by_referring_back(t) for t in texts_at(texts, could_gain)]
        carried = presence_coverages(tokens, window_presence(exact[:m], earlier[:1], [refers_back]), self._idf)
        kind = question_type(asked)
        soft = self.soft_coverage(query, cands, texts, found.word_pieces)

        def read_texts(positions: np.ndarray) -> Sequence[str]:
            return texts_at(texts, positions)

        length = (
            np.array([len(t.split()) for t in texts], dtype=np.float64)
            if found.word_counts is None
            else np.asarray(found.word_counts, dtype=np.float64)
        )
        context = CandidateContext(
            dense=np.asarray(dense, dtype=np.float64),
            lexical=np.asarray(found.lexical, dtype=np.float64),
            paragraph_lexical=np.asarray(evidence.paragraph_lexical, dtype=np.float64),
            paragraph_dense=np.asarray(evidence.paragraph_dense, dtype=np.float64),
            neighbour_dense=neighbour,
            document_dense=np.asarray(document_dense, dtype=np.float64),
            # no headline: the document's mean vector stands in for it
            title_dense=np.where(has_title, dense_of(title_or_self), document_dense).astype(np.float64),
            coverage=np.asarray(coverage, dtype=np.float64).reshape(-1),
            answer_type=np.zeros(cands.shape[0]),
            length=length,
            title=(title_rows == cands).astype(np.float64),
            question_kind=kind,
            loose_coverage=np.asarray(loose, dtype=np.float64).reshape(-1),
            window_coverage=np.asarray(window, dtype=np.float64).reshape(-1),
            carried_coverage=np.asarray(carried, dtype=np.float64).reshape(-1),
            soft_coverage=soft,
            same_text=same_text_groups(length, found.lexical, read_texts, soft),
        )

        def answer_type_of(positions: np.ndarray) -> np.ndarray:
            if kind is None:
                return np.zeros(len(positions))
            return np.array([float(answer_type_level(asked, text)) for text in read_texts(positions)])

        return cands, context, answer_type_of

    def soft_coverage(self, query: str, rows: np.ndarray, texts: Sequence[str], stored: WordPieceIds | None = None) -> np.ndarray:
        """:func:`~citeqa.search.features.soft_coverages` of the query's words (IDF of each
        word's first token) by each candidate sentence (``rows``, their ``texts``), matched by
        :attr:`pieces`. Each sentence's words are read as the index stored them (``stored``,
        when they are ids of :attr:`pieces`), else from its text, and then kept for later
        queries (up to :data:`SOFT_WORDS_KEPT` sentences): sentences come back as candidates often."""
        m = len(rows)
        asked = sorted(soft_words(query))
        if not asked or not m:
            return np.zeros(m)
        first = [tokenize(w)[:1] for w in asked]
        ceiling = idf_ceiling(self._idf)
        weights = np.array([float(self._idf.get(t[0], ceiling)) if t else 0.0 for t in first]) + 1e-9
        if stored is not None and stored.table == self.pieces.digest:
            present_ids, counts = np.asarray(stored.ids), np.asarray(stored.counts)
        else:
            held = self._kept_word_ids(rows, texts)
            present_ids, counts = np.concatenate(held), np.array([ids.shape[0] for ids in held], dtype=np.int64)
        owner = np.repeat(np.arange(m), counts)  # the sentence of each (sentence, word) pair
        present, pairs = np.unique(present_ids, return_inverse=True)  # each distinct word once
        similarity = self.pieces.id_similarity(self.pieces.ids(asked), present)[pairs.reshape(-1)]
        return soft_coverages(weights, similarity, owner, m)

    def _kept_word_ids(self, rows: np.ndarray, texts: Sequence[str]) -> list[np.ndarray]:
        """Each row's :func:`soft_words` as ids of :attr:`pieces`, made from ``texts`` where not kept yet."""
        kept = self._soft_words  # shared by threads: only get, set and clear, each atomic
        held: list[np.ndarray | None] = [kept.get(int(row)) for row in rows]
        missing = [i for i, ids_held in enumerate(held) if ids_held is None]
        if missing:
            if len(kept) + len(missing) > SOFT_WORDS_KEPT:
                kept.clear()
            ids, counts = soft_word_ids(texts_at(texts, missing), self.pieces)
            for i, made in zip(missing, np.split(ids, np.cumsum(counts)[:-1])):
                held[i] = kept[int(rows[i])] = made
        return [ids for ids in held if ids is not None]


def texts_at(texts: Sequence[str], positions: Sequence[int] | np.ndarray) -> Sequence[str]:
    """``texts[i]`` for each position: one read of the store for a lazy sequence of candidate texts."""
    if isinstance(texts, LazySequence):
        return texts.many(positions)
    return [texts[int(i)] for i in positions]


def soft_word_ids(texts: Sequence[str], pieces: PieceIds, chunk: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    """The ids (:meth:`PieceIds.ids`) of each text's :func:`soft_words`, one text after
    the other (int32), and how many each text has (int64): what an index stores for
    :meth:`CandidateRetriever.soft_coverage`. Looked up ``chunk`` texts at a time, into one
    buffer (no array per text, no second copy of the whole)."""
    counts = np.zeros(len(texts), dtype=np.int64)
    # a soft word has 2+ characters and a separator after it: rarely more than len // 2 + 1
    # a text (a buffer this size is only reserved; pages never written take no memory)
    out = np.empty(sum(len(text) // 2 + 1 for text in texts), dtype=np.int32)
    at = 0
    for lo in range(0, len(texts), chunk):
        found = [soft_words(text) for text in texts[lo : lo + chunk]]
        counts[lo : lo + len(found)] = [len(held) for held in found]
        ids = pieces.ids(list(chain.from_iterable(found)))
        if at + ids.shape[0] > out.shape[0]:  # folding made a text longer (a ligature, say)
            out = np.concatenate([out[:at], np.empty(out.shape[0] + ids.shape[0], dtype=np.int32)])
        out[at : at + ids.shape[0]] = ids
        at += ids.shape[0]
    return out[:at], counts


def soft_words(text: str) -> tuple[str, ...]:
    """The distinct folded words of ``text`` that soft matching compares: no stop words, no single letters."""
    return tuple(w for w in dict.fromkeys(words(text)) if len(w) > 1 and w not in STOPWORDS)


def _once(make: Callable[[], np.ndarray]) -> Callable[[], np.ndarray]:
    """``make`` called at most once: its vector (as :func:`query_vector` returns it) kept for later calls."""
    kept: list[np.ndarray] = []

    def vector() -> np.ndarray:
        if not kept:
            kept.append(query_vector(make))
        return kept[0]

    return vector


def _exact_presence(tokens: list[str], texts_tokens: list[list[str]]) -> np.ndarray:
    """bool ``(texts, tokens)``: text i holds token j (for a store without a word index)."""
    out = np.zeros((len(texts_tokens), len(tokens)), dtype=bool)
    for i, held in enumerate(texts_tokens):
        present = set(held)
        out[i] = [t in present for t in tokens]
    return out


def _cosine_lookup(needed: np.ndarray, cosines: np.ndarray | None, found: Mapping[int, float]):  # type: ignore[no-untyped-def]
    """A lookup ``rows -> cosine`` for any of ``needed``; without cosines, the search's own (else their lowest)."""
    if cosines is None:
        floor = min(found.values(), default=0.0)
        return lambda wanted: np.array([found.get(int(r), floor) for r in wanted], dtype=np.float64)
    return lambda wanted: cosines[np.searchsorted(needed, wanted)]
